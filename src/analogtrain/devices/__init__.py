"""Device models: the pulse response of one kind of resistive crosspoint device."""

from analogtrain.devices.affine import AffineStepDevice
from analogtrain.devices.base import (
    DeviceParameters,
    PulsedDevice,
    device_models,
    register,
)
from analogtrain.devices.constant_step import ConstantStepDevice
from analogtrain.devices.linear_step import LinearStepDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.devices.power_step import PowerStepDevice
from analogtrain.devices.exp_step import ExpStepDevice
from analogtrain.devices.piecewise import PiecewiseStepDevice
from analogtrain.devices.abrupt import AbruptDevice
from analogtrain.devices.presets import PRESETS, available_devices, describe, get_device
from analogtrain.devices.fitting import FitResult, fit_device, load_pulse_data, plot_fit

__all__ = [
    "AffineStepDevice",
    "DeviceParameters",
    "PulsedDevice",
    "device_models",
    "register",
    "ConstantStepDevice",
    "LinearStepDevice",
    "SoftBoundsDevice",
    "PowerStepDevice",
    "ExpStepDevice",
    "PiecewiseStepDevice",
    "AbruptDevice",
    "PRESETS",
    "available_devices",
    "describe",
    "get_device",
    "FitResult",
    "fit_device",
    "load_pulse_data",
    "plot_fit",
]
