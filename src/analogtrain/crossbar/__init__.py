"""Crossbar arrays: whole-array reads, stochastic pulse updates, calibration, accounting."""

from analogtrain.crossbar.array import CrossbarArray, PulseWrite, make_generator, pulse_update_arrays
from analogtrain.crossbar.calibration import CalibrationReport, calibrate_symmetry_point
from analogtrain.crossbar.io import IOConfig, analog_read
from analogtrain.crossbar.operations import OperationCounter
from analogtrain.crossbar.update import STRATEGIES, UpdateConfig, pulse_update

__all__ = [
    "CrossbarArray",
    "PulseWrite",
    "pulse_update_arrays",
    "make_generator",
    "CalibrationReport",
    "calibrate_symmetry_point",
    "IOConfig",
    "analog_read",
    "OperationCounter",
    "STRATEGIES",
    "UpdateConfig",
    "pulse_update",
]
