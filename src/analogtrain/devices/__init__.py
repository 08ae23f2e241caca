"""Device models: the pulse response of one kind of resistive crosspoint device."""

from analogtrain.devices.base import (
    AffineStepDevice,
    DeviceParameters,
    PulsedDevice,
    device_models,
    register,
)
from analogtrain.devices.constant_step import ConstantStepDevice
from analogtrain.devices.linear_step import LinearStepDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice

__all__ = [
    "AffineStepDevice",
    "DeviceParameters",
    "PulsedDevice",
    "device_models",
    "register",
    "ConstantStepDevice",
    "LinearStepDevice",
    "SoftBoundsDevice",
]
