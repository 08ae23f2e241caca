"""Symmetry-point calibration ("zero shifting", Kim et al., arXiv 1907.10228, 2019).

Applying many alternating up and down pulses to an asymmetric device drives it to its symmetry
point w*, the only dynamically stable weight under zero-mean updates (Onen, Gokmen et al. 2022,
§2). All devices of an array are pulsed together — each pulse is one whole-array update — and the
result is then copied into a reference array, so that ``W = G_main − G_ref`` is 0 at the symmetry
point. With per-pulse noise the device ends within a stationary spread of w*: for a device whose
restoring rates per pulse are c± (soft bounds: c± = Δw±/|bound|), the spread is about
``dw_min_std·Δw*/√(c⁺ + c⁻)`` (= ``dw_min_std·Δw/√(2c)`` for equal rates), and after each
up/down pair the device sits about ``c⁻·Δw*/(c⁺ + c⁻)`` below w* (Δw*/2 for equal rates; Δw* is
the step at w*). tests/test_calibration.py derives both.
"""

from __future__ import annotations

import dataclasses

import torch

from analogtrain.config import check_int, check_non_negative
from analogtrain.crossbar.array import CrossbarArray


@dataclasses.dataclass
class CalibrationReport:
    """Outcome of a calibration: pulses used and how the array converged."""

    pairs: int
    #: (pairs so far, mean |change| of the weights over the last block) per block.
    convergence: list[tuple[int, float]]
    #: Mean and max |G − analytic symmetry point| at the end (devices with a unique point only).
    mean_error: float
    max_error: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def calibrate_symmetry_point(
    array: CrossbarArray,
    reference: CrossbarArray | None = None,
    pairs: int | None = None,
    programming_error: float = 0.0,
    blocks: int = 20,
) -> CalibrationReport:
    """Drive every device of ``array`` to its symmetry point and copy the result into ``reference``.

    ``pairs`` up/down pulse pairs are applied to the whole array (default: 5× the number of
    device states, (w_max − w_min)/dw_min). ``reference`` (if given) is programmed with the
    resulting conductances plus N(0, programming_error²). Only whole-array operations are used.
    """
    device = array.device_model
    if pairs is None:
        pairs = int(5 * device.states)
    check_int("pairs", pairs, 1, 10**9)
    check_non_negative("programming_error", programming_error)
    check_int("blocks", blocks, 1, 10**6)
    block = max(1, pairs // blocks)
    convergence: list[tuple[int, float]] = []
    done = 0
    previous = array.conductance.clone()
    while done < pairs:
        steps = min(block, pairs - done)
        for _ in range(steps):
            array.pulse_all(+1)
            array.pulse_all(-1)
        done += steps
        convergence.append((done, float((array.conductance - previous).abs().mean())))
        previous = array.conductance.clone()
    if reference is not None:
        reference.program(array.conductance, programming_error)
    analytic = array.symmetry_point()
    unique = ~torch.isnan(analytic)
    error = (array.conductance - analytic).abs()[unique]
    mean_error = float(error.mean()) if error.numel() else float("nan")
    max_error = float(error.max()) if error.numel() else float("nan")
    return CalibrationReport(pairs, convergence, mean_error, max_error)
