"""Symmetry-point calibration ("zero shifting") of a whole array (DESIGN.md §1, Tiki-Taka/SHD).

Acceptance: calibration brings each device's read-out within a stated tolerance of its analytic
symmetry point, using only whole-array operations (the operation counter shows no serial
operation).

Tolerance, derived for soft-bounds devices (steps Δw⁺(w) = Δ⁺ − c⁺w, Δw⁻(w) = Δ⁻ + c⁻w):

* Mean. After an up/down pair the deterministic map is w → (1 − c⁻)((1 − c⁺)w + Δ⁺) − Δ⁻, whose
  fixed point is w_p = ((1 − c⁻)Δ⁺ − Δ⁻)/(c⁺ + c⁻ − c⁺c⁻); to first order it lies
  c⁻Δw*/(c⁺ + c⁻) below the symmetry point w* = (Δ⁺ − Δ⁻)/(c⁺ + c⁻) (Δw* = Δw⁺(w*) = Δw⁻(w*)):
  the device alternates about w*, half a step either side when c⁺ = c⁻.
* Spread. Each pulse adds cycle-to-cycle noise σ·Δw* (σ = dw_min_std) and each pair contracts the
  deviation by (1 − c⁺)(1 − c⁻), so the stationary variance is
  2σ²Δw*²/(1 − (1 − c⁺)²(1 − c⁻)²) ≈ σ²Δw*²/(c⁺ + c⁻).

Per device we accept |G − w*| ≤ |w_p − w*| + z*·std with z* the two-sided Bonferroni bound for
all devices at a family-wise rate of 1e-3 (z* ≈ 4.6 for 256 devices).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
import torch

from analogtrain.crossbar import CrossbarArray, calibrate_symmetry_point
from analogtrain.devices import ConstantStepDevice, SoftBoundsDevice

ROWS, COLS = 16, 16
DEVICE = SoftBoundsDevice(
    dw_min=0.002, w_max=0.6, w_min=-0.6, dw_min_dtod=0.1, dw_min_std=0.3,
    w_max_dtod=0.1, w_min_dtod=0.1, up_down_dtod=0.2,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def z_bonferroni(count: int, alpha: float = 1e-3) -> float:
    return NormalDist().inv_cdf(1 - alpha / (2 * count))


def theory(array: CrossbarArray):
    """(w*, w_p, stationary std) per device, from the sampled device parameters (float64)."""
    p = {k: v.double() for k, v in array.params.items()}
    up, c_up, down, c_down = p["dw_up"], p["c_up"], p["dw_down"], p["c_down"]
    star = (up - down) / (c_up + c_down)
    pair_point = ((1 - c_down) * up - down) / (c_up + c_down - c_up * c_down)
    step = up - c_up * star
    contraction = (1 - c_up) * (1 - c_down)
    std = math.sqrt(2) * DEVICE.dw_min_std * step / (1 - contraction**2).sqrt()
    return star, pair_point, std


@pytest.fixture(scope="module")
def calibrated():
    reference = CrossbarArray(ROWS, COLS, DEVICE, seed=1)
    array = CrossbarArray(ROWS, COLS, DEVICE, reference=reference, seed=2)
    # Start far from the symmetry points: random conductances in [−0.4, 0.4].
    start = torch.empty(ROWS, COLS).uniform_(-0.4, 0.4, generator=torch.Generator().manual_seed(3))
    array.program(start)
    start_pulses = array.operations.as_dict()
    report = calibrate_symmetry_point(array, reference, programming_error=0.003)
    return array, reference, start, start_pulses, report


def test_devices_end_at_their_symmetry_points(calibrated):
    array, reference, start, _, report = calibrated
    star, pair_point, std = theory(array)
    # The analytic symmetry point of the library is the one derived above.
    assert torch.allclose(array.symmetry_point().double(), star, rtol=1e-4, atol=1e-6)
    # The test is informative: the symmetry points are spread beyond the tolerance (most devices
    # left at 0 would fail), and the start was far from them.
    offset = (pair_point - star).abs()
    tolerance = offset + z_bonferroni(ROWS * COLS) * std
    assert float((star.abs() > tolerance).float().mean()) > 0.6
    assert float(((start.double() - star).abs() > tolerance).float().mean()) > 0.9
    # The alternation offset is the fraction c⁻/(c⁺ + c⁻) of a step at w* (half for equal slopes).
    p = {k: v.double() for k, v in array.params.items()}
    step = p["dw_up"] - p["c_up"] * star
    assert torch.allclose(offset, step * p["c_down"] / (p["c_up"] + p["c_down"]), rtol=0.02)
    assert float((offset / step).max()) < 1.0
    # Every device ends within its tolerance of w*.
    error = (array.conductance.double() - star).abs()
    assert bool((error <= tolerance).all()), float((error / tolerance).max())
    # ... and the spread about w_p matches the stationary theory (pooled over devices).
    z = (array.conductance.double() - pair_point) / std
    n = z.numel()
    assert abs(float(z.mean())) < 4 / math.sqrt(n)
    assert abs(float(z.var()) - 1) < 4 * math.sqrt(2 / (n - 1))
    assert report.max_error == pytest.approx(float(error.max()), rel=1e-3, abs=1e-6)


def test_reference_holds_the_calibrated_values(calibrated):
    array, reference, _, _, _ = calibrated
    # Read the reference through whole-array forward reads (one-hot inputs).
    read = reference.forward(torch.eye(COLS)).T
    star, _, std = theory(array)
    programming_error = 0.003
    total = (std**2 + programming_error**2).sqrt()
    assert bool(((read.double() - star).abs() <= (array.conductance.double() - star).abs()
                 + z_bonferroni(ROWS * COLS) * programming_error + 1e-6).all())
    # W = G − G_ref is now zero up to the programming error, whose spread matches the setting.
    weight = array.weight.double()
    n = weight.numel()
    assert float(weight.abs().max()) <= z_bonferroni(n) * programming_error
    assert abs(float(weight.std()) / programming_error - 1) < 4 / math.sqrt(2 * (n - 1))
    assert float(total.max()) < 0.05  # sanity of the derived scales


def test_calibration_uses_only_whole_array_operations(calibrated):
    array, reference, _, before, report = calibrated
    ops = array.operations
    assert ops.serial_operations == 0 and reference.operations.serial_operations == 0
    assert report.pairs == int(5 * DEVICE.states)  # default: 5× the number of device states
    assert ops.parallel_updates - before["parallel_updates"] == 2 * report.pairs
    assert ops.device_pulses - before["device_pulses"] == 2 * report.pairs * ROWS * COLS
    assert ops.forward_reads == before["forward_reads"] and ops.backward_reads == before["backward_reads"]
    assert reference.operations.programming == 1


def test_convergence_trace_decreases_to_the_noise_floor(calibrated):
    array, _, _, _, report = calibrated
    pairs = [p for p, _ in report.convergence]
    trace = [c for _, c in report.convergence]
    assert pairs == sorted(pairs) and pairs[-1] == report.pairs
    _, _, std = theory(array)
    # Stationary mean |G_t − G_{t−block}| ≤ E|N(0, 2·var)| = (2/√π)·std.
    floor = 2 / math.sqrt(math.pi) * float(std.mean())
    assert trace[0] > 10 * trace[-1]
    for before, after in zip(trace, trace[1:]):
        if before > 3 * floor:
            assert after < before
    assert max(trace[-5:]) < 1.5 * floor


def test_symmetric_device_has_no_unique_symmetry_point():
    device = ConstantStepDevice(dw_min=0.01, dw_min_std=0.1)
    array = CrossbarArray(4, 4, device, seed=0)
    report = calibrate_symmetry_point(array, pairs=50)
    assert math.isnan(report.mean_error) and math.isnan(report.max_error)
    assert array.operations.serial_operations == 0
