"""Physics of every device model: per-pulse steps, symmetry points, bounds, many-pulse updates.

Tolerances come from the statistics of the quantity tested (standard errors from the
cycle-to-cycle noise dw_min_std and the sample count), with fixed seeds. The model equations are
re-implemented here in float64 numpy, from the models' docstrings, independently of the code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from analogtrain.devices import (
    AbruptDevice,
    ConstantStepDevice,
    ExpStepDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowerStepDevice,
    PulsedDevice,
    SoftBoundsDevice,
    get_device,
)
from analogtrain.devices import kernels
from analogtrain.errors import ConfigError

MODELS = ["constant-step", "soft-bounds", "linear-step", "power-step", "exp-step", "piecewise", "abrupt"]
AFFINE = ["constant-step", "soft-bounds", "linear-step"]
NON_AFFINE = ["power-step", "exp-step", "piecewise", "abrupt"]

VARIATION = dict(dw_min_dtod=0.3, dw_min_std=0.3, w_max_dtod=0.2, w_min_dtod=0.2, up_down_dtod=0.05)
SHAPE = {
    "linear-step": dict(gamma_up=0.5, gamma_down=0.3, gamma_dtod=0.1),
    "power-step": dict(pow_gamma=1.5, pow_gamma_dtod=0.1, pow_up_down=0.2),
    "abrupt": dict(reset_std=0.02),
}


def make(model: str, variation: bool = True, **overrides) -> PulsedDevice:
    kwargs = dict(SHAPE.get(model, {}))
    if variation:
        kwargs.update(VARIATION)
    kwargs.update(overrides)
    if model != "abrupt":
        kwargs.setdefault("w_max", 0.6)
        kwargs.setdefault("w_min", -0.6)
    return get_device(model, **kwargs)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def equation(device: PulsedDevice, w: torch.Tensor, p: dict, up: bool) -> np.ndarray:
    """Nominal step magnitude of one pulse, from each model's documented equation (float64)."""
    q = {k: v.double().numpy() for k, v in p.items()}
    hi, lo = q["w_max"], q["w_min"]
    w = np.clip(w.double().numpy(), lo, hi)  # weights live inside each device's bounds
    span = hi - lo
    d = q["dw_up"] if up else q["dw_down"]
    model = device.model
    if model == "constant-step":
        out = d * np.ones_like(w)
    elif model == "soft-bounds":
        out = d * (1 - w / hi) if up else d * (1 - w / lo)
    elif model == "linear-step":
        out = d * (1 - q["gamma_up"] * w / hi) if up else d * (1 - q["gamma_down"] * w / lo)
    elif model == "power-step":
        out = d * ((hi - w) / span) ** q["gamma_up"] if up else d * ((w - lo) / span) ** q["gamma_down"]
    elif model == "exp-step":
        z = 2 * device.a * w / span + device.b
        if up:
            out = d * np.maximum(1 - device.a_up * np.exp(device.gamma_up * z), 0)
        else:
            out = d * np.maximum(1 - device.a_down * np.exp(-device.gamma_down * z), 0)
    elif model == "piecewise":
        nodes = device.up_nodes if up else device.down_nodes
        grid = np.linspace(0.0, 1.0, len(nodes))
        out = d * np.interp((w - lo) / span, grid, nodes)
    elif model == "abrupt":
        out = d * (1 - (w - lo) / span) ** device.set_gamma if up else w - lo
    else:  # pragma: no cover
        raise AssertionError(model)
    return np.maximum(out, 0.0)


def at_fraction(p: dict, fraction: float) -> torch.Tensor:
    return p["w_min"] + fraction * (p["w_max"] - p["w_min"])


def random_order(n_up: int, n_down: int, count: int, generator) -> torch.Tensor:
    """(n_up + n_down, count) directions: per column a random order of n_up +1 and n_down −1."""
    total = n_up + n_down
    base = torch.cat([torch.ones(n_up), -torch.ones(n_down)])[:, None].expand(total, count)
    order = torch.rand((total, count), generator=generator).argsort(dim=0)
    return torch.gather(base, 0, order)


def counts(size: int, value: int) -> torch.Tensor:
    return torch.full((size,), float(value))


def pulse_sequence(device, w, p, directions, generator):
    for row in directions:
        w = device.pulse(w, p, row, generator)
    return w


# --------------------------------------------------------------------------------------------
# (a) mean (and spread) of one pulse matches the model's equation


@pytest.mark.parametrize("model", MODELS)
def test_step_functions_follow_documented_equations(model):
    device = make(model)
    p = device.sample((2000,), gen(1))
    for fraction in (0.0, 0.1, 0.5, 0.9, 1.0):
        w = at_fraction(p, fraction)
        for up in (True, False):
            got = (device.step_up(w, p) if up else device.step_down(w, p)).double().numpy()
            # float32 rounding of the weight fraction (a few ulp) times the step
            np.testing.assert_allclose(got, equation(device, w, p, up), rtol=2e-5, atol=1e-6 * device.dw_min)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fraction", [0.15, 0.5, 0.85])
@pytest.mark.parametrize("direction", [1, -1])
def test_mean_step_of_one_pulse(model, fraction, direction):
    """With d2d and c2c variation on, Δw of one pulse has mean Δw±(w) and sd σ·Δw±(w)."""
    device = make(model)
    n = 20000
    generator = gen(10 + 7 * MODELS.index(model))
    p = device.sample((n,), generator)
    w = at_fraction(p, fraction)
    new = device.pulse(w, p, torch.full((n,), float(direction)), generator)
    delta = (new - w).double().numpy()
    if model == "abrupt" and direction < 0:
        # Reset: w_min + reset_std·ξ clipped at w_min (= 0): mean reset_std/√(2π) above w_min.
        reset = (new - p["w_min"]).double().numpy()
        s = device.reset_std
        mean, sd = s / math.sqrt(2 * math.pi), s * math.sqrt(0.5 - 1 / (2 * math.pi))
        assert abs(reset.mean() - mean) < 4 * sd / math.sqrt(n)
        np.testing.assert_allclose(delta - reset, -equation(device, w, p, up=False), atol=1e-6)
        return
    step = equation(device, w, p, up=direction > 0) * direction
    sigma = device.dw_min_std
    error = delta - step
    standard_error = sigma * math.sqrt(np.sum(step**2)) / n
    assert abs(error.mean()) < 4 * standard_error, (error.mean(), standard_error)
    # Spread: E[(Δ − step)²] = σ²·mean(step²); relative SE of a weighted sum of χ²₁.
    expected = sigma**2 * np.mean(step**2)
    relative_se = math.sqrt(2 * np.sum(step**4)) / np.sum(step**2)
    assert abs(np.mean(error**2) / expected - 1) < 4 * relative_se


def test_power_step_exponents_are_sampled_per_device():
    device = make("power-step", pow_gamma=2.0, pow_gamma_dtod=0.1, pow_up_down=0.2)
    p = device.sample((5000,), gen(3))
    # γ⁺ = γ·g, γ⁻ = γ·(g − 0.2) with g = |1 + 0.1ξ| > 0.2 for all practical draws.
    np.testing.assert_allclose((p["gamma_up"] - p["gamma_down"]).numpy(), 2.0 * 0.2, rtol=1e-5)
    assert abs(float(p["gamma_up"].mean()) / 2.0 - 1) < 4 * 0.1 / math.sqrt(5000)
    assert device.granularity == pytest.approx(device.dw_min * 0.25)


# --------------------------------------------------------------------------------------------
# (b) random equal up/down pulses drive each device to its own symmetry point


@pytest.mark.parametrize(
    "model, overrides",
    [
        ("soft-bounds", dict(dw_min=0.002, w_max=1.0, w_min=-1.0, up_down_dtod=0.2)),
        ("linear-step", dict(dw_min=0.002, w_max=1.0, w_min=-1.0, up_down_dtod=0.2,
                             gamma_up=0.8, gamma_down=0.8, gamma_dtod=0.05)),
    ],
)
def test_random_equal_pulses_reach_own_symmetry_point(model, overrides):
    variation = dict(dw_min_dtod=0.1, dw_min_std=0.3, w_max_dtod=0.1, w_min_dtod=0.1)
    device = get_device(model, **{**variation, **overrides})
    n_devices, pairs = 400, 3000
    generator = gen(20)
    p = device.sample((n_devices,), generator)
    target = device.symmetry_point(p)
    w = torch.zeros(n_devices)
    w = pulse_sequence(device, w, p, random_order(pairs, pairs, n_devices, generator), generator)
    error = (w - target).double().numpy()
    # Stationary spread around w*: per pulse w − w* shrinks by ~(1 − c̄) and gains a step s (c2c
    # noise included), so Var ≈ s²(1 + σ²)/(c⁺ + c⁻) (c± = slopes of the steps).
    s = device.step_up(target, p).double().numpy()
    slope = (p["c_up"] + p["c_down"]).double().numpy()
    variance = s**2 * (1 + device.dw_min_std**2) / slope
    # The initial offset |w*| has decayed as exp(−c̄·pulses) far below the stationary spread.
    remaining = np.abs(target.double().numpy()) * np.exp(-0.5 * slope * 2 * pairs)
    assert remaining.max() < 0.1 * math.sqrt(variance.mean())
    spread = float(target.double().std())
    rms = math.sqrt(np.mean(error**2))
    assert rms < 2.0 * math.sqrt(np.mean(variance))
    assert rms < 0.25 * spread, (rms, spread)
    assert abs(error.mean()) < 4 * math.sqrt(np.mean(variance) / n_devices)
    # Devices end up ordered like their symmetry points.
    assert np.corrcoef(w.double().numpy(), target.double().numpy())[0, 1] > 0.95


def test_extra_up_pulses_constant_step_versus_nonlinear_filter():
    """m extra up pulses among n pairs: constant step moves m·Δw; soft bounds forgets them."""
    m, n_devices = 50, 400
    common = dict(dw_min=0.004, w_max=1.0, w_min=-1.0, dw_min_dtod=0.1, dw_min_std=0.3,
                  w_max_dtod=0.0, w_min_dtod=0.0, up_down_dtod=0.0)
    constant = ConstantStepDevice(**common)
    soft = SoftBoundsDevice(**{**common, "up_down_dtod": 0.1})
    generator = gen(30)
    pc, ps = constant.sample((n_devices,), generator), soft.sample((n_devices,), generator)
    start_c, start_s = torch.zeros(n_devices), soft.symmetry_point(ps)
    displacements = []
    for pairs in (0, 125, 1250):
        order = random_order(pairs + m, pairs, n_devices, generator)
        moved_c = pulse_sequence(constant, start_c, pc, order, generator) - start_c
        moved_s = pulse_sequence(soft, start_s, ps, order, generator) - start_s
        # Constant step: the pairs cancel per device (Δw⁺ = Δw⁻), so the move is m·Δw_ij plus
        # c2c noise of variance σ²Δw²(2·pairs + m).
        step = pc["dw_up"].double()
        excess = (moved_c.double() - m * step).numpy()
        noise = constant.dw_min_std * float(step.pow(2).mean().sqrt()) * math.sqrt(2 * pairs + m)
        se = noise / math.sqrt(n_devices)
        assert abs(excess.mean()) < 4 * se
        # Averaged over devices: m·dw_min, with the d2d spread (10 %) of the steps added.
        spread = m * constant.dw_min * 0.1 / math.sqrt(n_devices)
        assert abs(float(moved_c.mean()) - m * constant.dw_min) < 4 * (se + spread)
        displacements.append(float(moved_s.mean()))
    # Soft bounds: continuum estimate of the final offset m·Δw/(T·c)·(1 − e^{−cT}), T = 2n + m.
    c = soft.dw_min / soft.w_max
    predicted = [m * soft.dw_min * (1 - math.exp(-c * t)) / (c * t) for t in (m, 250 + m, 2500 + m)]
    assert displacements[0] > displacements[1] > displacements[2]
    assert displacements[2] < 0.2 * m * soft.dw_min
    assert displacements[2] < 2 * predicted[2]
    assert abs(displacements[0] - predicted[0]) < 0.1 * predicted[0]


# --------------------------------------------------------------------------------------------
# (c) bounds, symmetry points, many-pulse updates


@pytest.mark.parametrize("model", MODELS)
def test_clipped_to_own_bounds_after_every_pulse(model):
    device = make(model, dw_min=0.12 if model != "abrupt" else 0.1, dw_min_std=1.0)
    n = 1000
    generator = gen(40)
    p = device.sample((n,), generator)
    w = at_fraction(p, 0.5)
    mixed = torch.sign(torch.randn(40, n, generator=generator))
    directions = torch.cat([torch.ones(25, n), -torch.ones(25, n), mixed])
    touched_top = torch.zeros(n, dtype=torch.bool)
    for row in directions:
        w = device.pulse(w, p, row, generator)
        assert bool((w <= p["w_max"]).all()) and bool((w >= p["w_min"]).all())
        touched_top |= w == p["w_max"]
    if model in ("constant-step", "linear-step"):
        assert bool(touched_top.any())  # hard bounds are reached and held
    many = device.apply_pulses(w, p, torch.full((n,), 500.0), torch.full((n,), 3.0), generator)
    assert bool((many <= p["w_max"]).all()) and bool((many >= p["w_min"]).all())


@pytest.mark.parametrize("model", AFFINE)
def test_closed_form_symmetry_point_matches_bisection(model):
    device = make(model)
    p = device.sample((5000,), gen(50))
    closed = device.symmetry_point(p)
    numeric = PulsedDevice.symmetry_point(device, p)
    # Float32 rounding of the step difference (~8 ulp of the step) moves the root by that
    # amount divided by the slope of the difference.
    slope = (p["c_up"] + p["c_down"]).clamp(min=1e-30)
    tolerance = 1e-6 + 8 * torch.finfo(torch.float32).eps * (p["dw_up"] + p["dw_down"]) / slope
    tolerance = torch.minimum(tolerance, p["w_max"] - p["w_min"])
    both_nan = torch.isnan(closed) & torch.isnan(numeric)
    close = (closed - numeric).abs() <= tolerance
    assert bool((both_nan | close).all())


def test_constant_step_symmetry_point_is_bound_or_none():
    device = make("constant-step", up_down_dtod=0.0, up_down=0.0)
    p = device.sample((100,), gen(51))
    assert bool(torch.isnan(device.symmetry_point(p)).all())
    device = make("constant-step", up_down=0.1, up_down_dtod=0.0)  # smaller down steps: to w_max
    p = device.sample((100,), gen(52))
    assert torch.equal(device.symmetry_point(p), p["w_max"])


@pytest.mark.parametrize("model", NON_AFFINE)
def test_numeric_symmetry_point_is_stable_root(model):
    device = make(model)
    p = device.sample((3000,), gen(60))
    point = device.symmetry_point(p)
    def excess(w):
        return device.step_up(w, p) - device.step_down(w, p)

    # Devices whose up (down) step is larger over the whole range sit at w_max (w_min): the
    # rare ones with a near-zero down (up) step after d2d sampling.
    at_top, at_bottom = point == p["w_max"], point == p["w_min"]
    assert bool((excess(p["w_max"])[at_top] >= 0).all()) and bool((excess(p["w_min"])[at_bottom] <= 0).all())
    interior = ~(at_top | at_bottom)
    assert float(interior.double().mean()) > 0.99
    # Elsewhere a stable root: up wins just below, down just above (the abrupt device's point is
    # one step above w_min, so the probe distance is kept inside the range).
    room = torch.minimum(point - p["w_min"], p["w_max"] - point)
    delta = torch.minimum(1e-3 * (p["w_max"] - p["w_min"]), 0.5 * room)
    below, above = excess(point - delta)[interior], excess(point + delta)[interior]
    assert bool((below > 0).all()) and bool((above < 0).all())


def test_power_step_symmetry_point_closed_form():
    device = make("power-step", pow_up_down=0.0, pow_gamma=2.0)  # equal exponents per device
    p = device.sample((3000,), gen(61))
    ratio = (p["dw_up"].double() / p["dw_down"].double()) ** (1 / p["gamma_up"].double())
    u = 1 / (1 + ratio)
    expected = p["w_max"].double() - u * (p["w_max"] - p["w_min"]).double()
    np.testing.assert_allclose(device.symmetry_point(p).double().numpy(), expected.numpy(), atol=2e-6)


def test_abrupt_symmetry_point_closed_form():
    device = make("abrupt")
    p = device.sample((3000,), gen(62))
    d, span = p["dw_up"].double(), (p["w_max"] - p["w_min"]).double()
    expected = p["w_min"].double() + d / (1 + d / span)
    np.testing.assert_allclose(device.symmetry_point(p).double().numpy(), expected.numpy(), atol=2e-6)


def _moments(x: np.ndarray) -> tuple[float, float, float]:
    """Mean, variance and the standard error of the variance (from the fourth moment)."""
    mean = x.mean()
    centred = x - mean
    variance = np.mean(centred**2)
    fourth = np.mean(centred**4)
    return float(mean), float(variance), math.sqrt(max(fourth - variance**2, 0.0) / len(x))


CASES = [(20, 0), (0, 20), (15, 10)]
#: The affine models' closed form runs as tensor operations and, compiled from the same formulas,
#: as a CPU loop (:mod:`analogtrain.devices.kernels`): both are checked against the pulse sequence.
MODEL_CODES = [(model, "tensor") for model in MODELS] + [(model, "compiled") for model in AFFINE]


def apply_pulses(device, code: str, w, p, n_up, n_down, generator):
    """``device.apply_pulses`` by the tensor code, or by the family's compiled kernel."""
    if code == "compiled":
        return kernels.respond(device, w, p, n_up, n_down, generator)
    return device.apply_pulses(w, p, n_up, n_down, generator)


@pytest.mark.parametrize("model, code", MODEL_CODES)
@pytest.mark.parametrize("n_up, n_down", CASES)
def test_apply_pulses_matches_repeated_pulses_in_mean(model, code, n_up, n_down):
    """Same devices (d2d on), random order: paired mean difference within 4 standard errors."""
    device = make(model, dw_min=0.005 if model != "abrupt" else 0.02)
    n = 4000
    generator = gen(70 + MODELS.index(model))
    p = device.sample((n,), generator)
    w0 = at_fraction(p, 0.5)
    by_pulse = pulse_sequence(device, w0, p, random_order(n_up, n_down, n, generator), generator)
    at_once = apply_pulses(device, code, w0, p, counts(n, n_up), counts(n, n_down), generator)
    difference = (by_pulse - at_once).double().numpy()
    standard_error = difference.std() / math.sqrt(n)
    assert abs(difference.mean()) < 4 * standard_error + 1e-7, (difference.mean(), standard_error)
    # The test is sensitive: the nonlinearity of the response exceeds the noise by far.
    if model not in ("constant-step",) and n_down == 0:
        linear = (w0 + n_up * device.step_up(w0, p)).double().numpy()
        assert abs(float(np.mean(at_once.double().numpy() - linear))) > 10 * standard_error


@pytest.mark.parametrize("model, code", MODEL_CODES)
@pytest.mark.parametrize("n_up, n_down", CASES)
def test_apply_pulses_matches_repeated_pulses_in_variance(model, code, n_up, n_down):
    """Identical devices (no d2d): the spread of the result comes from c2c noise and order."""
    device = make(model, variation=False, dw_min=0.005 if model != "abrupt" else 0.02,
                  dw_min_std=0.3)
    n = 6000
    generator = gen(90 + MODELS.index(model))
    p = device.sample((n,), generator)
    w0 = at_fraction(p, 0.5)
    by_pulse = pulse_sequence(device, w0, p, random_order(n_up, n_down, n, generator), generator)
    at_once = apply_pulses(device, code, w0, p, counts(n, n_up), counts(n, n_down), generator)
    m1, v1, se1 = _moments(by_pulse.double().numpy())
    m2, v2, se2 = _moments(at_once.double().numpy())
    assert abs(m1 - m2) < 4 * math.sqrt((v1 + v2) / n) + 1e-7
    assert abs(v1 - v2) < 4 * math.sqrt(se1**2 + se2**2) + 1e-12, (v1, v2, se1, se2)


@pytest.mark.parametrize("model, code", MODEL_CODES)
def test_apply_pulses_spread_from_random_order(model, code):
    """No cycle-to-cycle noise: mixed pulses still spread the result through their order."""
    device = make(model, variation=False, dw_min=0.01 if model != "abrupt" else 0.02, dw_min_std=0.0)
    n = 6000
    generator = gen(110 + MODELS.index(model))
    p = device.sample((n,), generator)
    w0 = at_fraction(p, 0.5)
    by_pulse = pulse_sequence(device, w0, p, random_order(20, 15, n, generator), generator)
    at_once = apply_pulses(device, code, w0, p, torch.full((n,), 20.0), torch.full((n,), 15.0), generator)
    m1, v1, se1 = _moments(by_pulse.double().numpy())
    m2, v2, se2 = _moments(at_once.double().numpy())
    # The generic integration follows the mean path, so a kink of the step inside the spread
    # (the piecewise nodes; this start sits on one) biases the mean slightly: PulsedDevice.
    # apply_pulses documents up to 0.05 of a device step for such short mixed trains.
    allowance = 0.0 if model in AFFINE or model == "abrupt" else 0.05 * device.dw_min
    assert abs(m1 - m2) < 4 * math.sqrt((v1 + v2) / n) + allowance + 1e-6
    assert abs(v1 - v2) < 4 * math.sqrt(se1**2 + se2**2) + 1e-12, (v1, v2, se1, se2)
    if model != "constant-step":  # the order matters for every state-dependent step
        assert v1 > 10 * 1e-6 * device.dw_min**2



@pytest.mark.parametrize("model", AFFINE)
@pytest.mark.parametrize("std", [0.3, 0.0])
@pytest.mark.parametrize("code", ["tensor", "compiled"])
def test_device_result_does_not_depend_on_other_devices_pulses(model, std, code):
    """A device's result depends on its own state, parameters, pulses and normal draw alone, bit
    for bit, whether few or all of the other devices have pulses of both signs."""
    device = make(model, dw_min=0.005, dw_min_std=std)
    n, few = 203, 23
    for seed in range(5):
        generator = gen(300 + seed)
        p = device.sample((n,), generator)
        w0 = at_fraction(p, 0.4)
        up, down = torch.full((n,), 5.0), torch.zeros(n)  # one sign: few mixed devices
        up[:few] = torch.randint(1, 20, (few,), generator=generator).float()
        down[:few] = torch.randint(1, 20, (few,), generator=generator).float()
        up_all, down_all = torch.full((n,), 10.0), torch.full((n,), 7.0)  # all mixed
        up_all[:few], down_all[:few] = up[:few], down[:few]
        sparse = apply_pulses(device, code, w0, p, up, down, gen(1))
        dense = apply_pulses(device, code, w0, p, up_all, down_all, gen(1))
        assert torch.equal(sparse[:few], dense[:few])
        assert not torch.equal(sparse[few:], dense[few:])


@pytest.mark.parametrize("model", AFFINE)
@pytest.mark.parametrize("std", [0.3, 0.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_response_equals_the_tensor_response(model, std, dtype):
    """The compiled loop and the tensor operations give the same new weights from the same normal
    draws, up to float rounding (the loop computes in float64): devices with pulses of one sign,
    of both signs, and none, near and away from their bounds, as a vector and as an array."""
    device = make(model, dw_min=0.01, dw_min_std=std)
    generator = gen(400)
    p = {key: value.to(dtype) for key, value in device.sample((40, 50), generator).items()}
    w = torch.empty(40, 50).uniform_(-0.9, 0.9, generator=generator).to(dtype)
    w = torch.minimum(torch.maximum(w, p["w_min"]), p["w_max"])
    n_up = torch.randint(0, 6, (40, 50), generator=generator).to(dtype)
    n_down = torch.randint(0, 6, (40, 50), generator=generator).to(dtype) * (torch.rand(40, 50, generator=generator) < 0.5)
    # A few roundings of the dtype on weights of magnitude ≤ 1 (the float32 code rounds each step).
    tolerance = 8 * torch.finfo(dtype).eps
    for shape in [(40, 50), (2000,)]:
        args = [t.reshape(shape) for t in (w, n_up, n_down)]
        params = {key: value.reshape(shape) for key, value in p.items()}
        fast = kernels.respond(device, args[0], params, *args[1:], gen(1))
        reference = device.apply_pulses(args[0], params, *args[1:], gen(1))
        assert fast.shape == reference.shape and fast.dtype == reference.dtype
        assert float((fast - reference).abs().max()) <= tolerance
        assert not torch.equal(fast, args[0])  # the pulses moved the weights

def test_abrupt_reset_count_after_last_reset_distribution():
    """Ups after the last reset: P(k) for a random order of n⁺ ups and n⁻ downs, exactly."""
    device = AbruptDevice(dw_min=0.001, w_max=1.0, w_min=0.0)  # tiny, constant-ish steps
    n, n_up, n_down = 20000, 6, 3
    p = device.sample((n,), gen(95))
    w = device.apply_pulses(torch.full((n,), 0.5), p, counts(n, n_up), counts(n, n_down), gen(96))
    # k ≈ w/Δw (set steps shrink by at most k·Δw/R ≪ 1 over k ≤ 6 pulses).
    k = torch.round(w / p["dw_up"]).long().numpy()
    # P(K ≥ k) = C(n⁺ + n⁻ − k, n⁻)/C(n⁺ + n⁻, n⁻)·... : the last k places are all ups.
    total = n_up + n_down
    for j in range(n_up + 1):
        tail = math.comb(total - j, n_down) / math.comb(total, n_down)
        observed = float(np.mean(k >= j))
        assert abs(observed - tail) < 4 * math.sqrt(tail * (1 - tail) / n) + 1e-9


# --------------------------------------------------------------------------------------------
# (d) invalid parameters


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "overrides, name",
    [
        (dict(dw_min=-0.001), "dw_min"),
        (dict(dw_min=float("nan")), "dw_min"),
        (dict(w_min=0.0, w_max=0.0), "w_min"),
        (dict(w_max=float("nan")), "w_max"),
        (dict(w_min=float("nan")), "w_min"),
        (dict(up_down=1.5), "up_down"),
        (dict(dw_min_std=-0.1), "dw_min_std"),
        (dict(dw_min_dtod=float("inf")), "dw_min_dtod"),
    ],
)
def test_invalid_common_parameters(model, overrides, name):
    with pytest.raises(ConfigError, match=name):
        get_device(model, **overrides)


@pytest.mark.parametrize(
    "cls, overrides, name",
    [
        (LinearStepDevice, dict(gamma_up=float("nan")), "gamma_up"),
        (LinearStepDevice, dict(gamma_down=-1.0), "gamma_down"),
        (PowerStepDevice, dict(pow_gamma=0.0), "pow_gamma"),
        (PowerStepDevice, dict(pow_gamma=float("nan")), "pow_gamma"),
        (PowerStepDevice, dict(pow_gamma_dtod=-0.1), "pow_gamma_dtod"),
        (PowerStepDevice, dict(pow_up_down=1.0), "pow_up_down"),
        (ExpStepDevice, dict(a=float("nan")), "a"),
        (ExpStepDevice, dict(a_up=float("inf")), "a_up"),
        (ExpStepDevice, dict(gamma_down=-1.0), "gamma_down"),
        (ExpStepDevice, dict(gamma_up=100.0), "gamma_up"),
        (PiecewiseStepDevice, dict(up_nodes=(1.0,)), "up_nodes"),
        (PiecewiseStepDevice, dict(up_nodes=()), "up_nodes"),
        (PiecewiseStepDevice, dict(down_nodes=(1.0, -0.5)), r"down_nodes\[1\]"),
        (PiecewiseStepDevice, dict(down_nodes=(1.0, float("nan"))), r"down_nodes\[1\]"),
        (PiecewiseStepDevice, dict(up_nodes=(0.0, 0.0, 0.0)), "up_nodes"),
        (PiecewiseStepDevice, dict(up_nodes="1,2"), "up_nodes"),
        (PiecewiseStepDevice, dict(up_nodes=(1.0, "x")), r"up_nodes\[1\]"),
        (AbruptDevice, dict(reset_std=-0.01), "reset_std"),
        (AbruptDevice, dict(set_gamma=float("nan")), "set_gamma"),
        (AbruptDevice, dict(w_min=0.5), "w_min"),
    ],
)
def test_invalid_model_parameters(cls, overrides, name):
    with pytest.raises(ConfigError, match=name):
        cls(**overrides)


def test_unknown_device_name_lists_valid_names():
    with pytest.raises(ConfigError, match="soft-bounds") as info:
        get_device("no-such-device")
    assert "ecram-mo" in str(info.value)


def test_piecewise_nodes_round_trip_and_lists():
    device = PiecewiseStepDevice(up_nodes=[1.0, 0.5, 0.0], down_nodes=[0.0, 1.0])
    assert device.up_nodes == (1.0, 0.5, 0.0)
    again = PulsedDevice.from_dict_polymorphic(device.to_dict())
    assert again == device
    with pytest.raises(ConfigError, match=r"up_nodes"):
        PulsedDevice.from_dict_polymorphic({**device.to_dict(), "up_nodes": [1.0]})


@pytest.mark.parametrize("model", MODELS)
def test_every_model_round_trips_through_dict(model):
    device = make(model)
    assert PulsedDevice.from_dict_polymorphic(device.to_dict()) == device
