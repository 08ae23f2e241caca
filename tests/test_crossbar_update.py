"""Statistical tests of the stochastic pulse update (DESIGN.md §1, §3 "exact semantics first", §5).

Acceptance: on constant-step devices that stay away from their bounds, every mode gives
E[ΔW] = −η δ xᵀ within statistical error, and for soft-bounds devices (device-to-device and
cycle-to-cycle variation, non-zero start) the modes agree in the mean and variance of ΔW per device.

Method. Each test draws many independent realisations of one update from a fixed start. To keep
the slow reference mode cheap, one update of a (B·out) × (B·in) array with x tiled B times along
the columns and δ tiled B times along the rows yields B independent copies of the small problem:
the diagonal blocks share no row train, no column train and no device, so they are independent
(off-diagonal blocks, which share trains with the diagonal ones, are ignored). Update and bit-length
management see the same max|x| and max|δ| as the small problem, so the pulse probabilities are
those of the small problem.

Thresholds. Per device we form z-scores; with m comparisons per test we use the two-sided
Bonferroni bound z* = Φ⁻¹(1 − α/(2m)) at a family-wise false-alarm rate α = 1e-3 (so z* ≈ 4.3–4.7).
Standard errors: of a mean, √(Var/R); of a sample variance, √((m₄ − s⁴)/R) with m₄ the sample
fourth central moment (valid for non-normal ΔW, e.g. discrete pulse counts).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
import torch

from analogtrain.crossbar import CrossbarArray, UpdateConfig
from analogtrain.crossbar import update as update_module
from analogtrain.crossbar.update import columns as columns_module
from analogtrain.crossbar.update import pulse_probabilities
from analogtrain.crossbar.update.moments import sample_counts
from analogtrain.devices import ConstantStepDevice, SoftBoundsDevice
from analogtrain.errors import ConfigError

OUT, IN, BATCH = 5, 7, 4
FAMILY_ALPHA = 1e-3
#: The strategies (exact first: the reference), the trains strategy with both kernels (compiled CPU
#: loops, the default, and the tensor code), and the default rule ``auto``.
PULSE_MODES = ("exact", "trains", "trains-torch", "moments", "moments-torch", "auto")
BLOCKS = 20  # replicas per update: beyond ~20 the wasted off-diagonal work dominates


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: intra-op threads only add overhead (and stall on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def bonferroni_z(comparisons: int, alpha: float = FAMILY_ALPHA) -> float:
    """Two-sided per-comparison z threshold for a family-wise error rate ``alpha``."""
    return NormalDist().inv_cdf(1.0 - alpha / (2 * comparisons))


def update_config(mode: str, **config) -> UpdateConfig:
    """The UpdateConfig of a case of :data:`PULSE_MODES` ("NAME-torch": the tensor code only)."""
    strategy, _, kernel = mode.partition("-")
    return UpdateConfig(strategy=strategy, kernel=kernel or "auto", **config)


def use_mode(array: CrossbarArray, mode: str, monkeypatch=None, **config) -> None:
    """Set the array's update strategy and kernel."""
    array.update_config = update_config(mode, **config)


def replicated_updates(device, x, d, lr, mode, start, reps, seed, monkeypatch, params=None, blocks=BLOCKS,
                       **config):
    """ΔW of ``reps`` independent realisations of one update of the (out × in) problem.

    Returns a float64 tensor (reps, out, in). ``params`` (per-device parameters of an out × in
    array) are tiled so that every replica has the same devices.
    """
    out, inp = d.shape[1], x.shape[1]
    array = CrossbarArray(blocks * out, blocks * inp, device, seed=seed)
    use_mode(array, mode, monkeypatch, **config)
    if params is not None:
        array.params = {k: v.repeat(blocks, blocks) for k, v in params.items()}
    big_x, big_d = x.repeat(1, blocks), d.repeat(1, blocks)
    big_start = start.repeat(blocks, blocks)
    diag = torch.arange(blocks)
    samples = []
    for _ in range(math.ceil(reps / blocks)):
        array.conductance = big_start.clone()
        array.pulse_update(big_x, big_d, lr)
        delta = (array.conductance - big_start).view(blocks, out, blocks, inp)[diag, :, diag, :]
        samples.append(delta.double())
    return torch.cat(samples)[:reps]


def assert_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> None:
    """|actual − expected| ≤ atol + rtol·|expected| elementwise (float64 comparison)."""
    actual, expected = actual.double(), expected.double()
    assert actual.shape == expected.shape
    excess = (actual - expected).abs() - (atol + rtol * expected.abs())
    assert float(excess.max()) <= 0, f"max excess {float(excess.max())}"


def moments(samples: torch.Tensor):
    """Per-device mean, variance and standard error of the variance over the first axis."""
    reps = samples.shape[0]
    mean = samples.mean(0)
    centred = samples - mean
    var = centred.square().sum(0) / (reps - 1)
    m4 = centred.pow(4).mean(0)
    var_se = ((m4 - var.square()).clamp(min=0.0) / reps).sqrt()
    return mean, var, var_se


def fixed_inputs(seed: int, d_scale: float = 0.5):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(BATCH, IN, generator=g) * 2 - 1
    d = torch.randn(BATCH, OUT, generator=g) * d_scale
    return x, d


# ---------------------------------------------------------------------------------------------
# E[ΔW] = −η δ xᵀ on constant-step devices, every mode


@pytest.mark.parametrize("mode", PULSE_MODES)
def test_constant_step_mean_and_variance_match_theory(mode, monkeypatch):
    dw, sigma, lr, bl = 0.001, 0.2, 0.01, 31
    device = ConstantStepDevice(dw_min=dw, w_max=0.6, w_min=-0.6, dw_min_std=sigma)
    x, d = fixed_inputs(1)
    x[:, 3] = 0.0  # a silent column: no pulses at all
    k = lr * x.abs().amax(1) * d.abs().amax(1) / dw
    assert bool((k <= bl).all()), "precondition: no saturated probabilities"
    reps = 1000
    start = torch.zeros(OUT, IN)
    samples = replicated_updates(device, x, d, lr, mode, start, reps, 11, monkeypatch, bl=bl)
    # Bounds are never reached: at most Σ BL pulses of ≤ (1 + 6σ)·dw per device.
    assert float(samples.abs().max()) < float(k.ceil().sum()) * dw * (1 + 6 * sigma) < 0.6

    # Theory (independent of the library): per sample b, BL_b = ⌈k_b⌉ and each of the BL_b slots
    # gives device (i, j) a coincidence with probability r = η|δ_i x_j|/(dw·BL_b).
    xd, dd = x.double(), d.double()
    bit_length = torch.ceil(lr * xd.abs().amax(1) * dd.abs().amax(1) / dw)
    r = lr * (dd.abs()[:, :, None] * xd.abs()[:, None, :]) / (dw * bit_length[:, None, None])
    expected_mean = -lr * dd.T @ xd
    count_var = (bit_length[:, None, None] * r * (1 - r)).sum(0)
    expected_pulses = (bit_length[:, None, None] * r).sum(0)
    expected_var = dw**2 * (count_var + sigma**2 * expected_pulses)

    assert bool((samples[:, :, 3] == 0).all())
    active = torch.ones(OUT, IN, dtype=torch.bool)
    active[:, 3] = False
    mean, var, var_se = moments(samples)
    z_threshold = bonferroni_z(2 * int(active.sum()))
    z_mean = (mean - expected_mean) / (expected_var / reps).sqrt()
    z_var = (var - expected_var) / var_se
    assert float(z_mean[active].abs().max()) < z_threshold, z_mean
    assert float(z_var[active].abs().max()) < z_threshold, z_var
    # Power check: the same data reject a learning rate 10 % off.
    z_wrong = (mean - 1.1 * expected_mean) / (expected_var / reps).sqrt()
    assert float(z_wrong[active].abs().max()) > z_threshold


@pytest.mark.parametrize("mode", PULSE_MODES)
def test_device_to_device_step_scales_expected_update(mode, monkeypatch):
    """With dw_min_dtod and up_down_dtod each device moves by its own steps:
    E[ΔW_ij] = Σ_b (η|δ_i x_j|/dw_min)·(Δw⁺_ij if the pulse is up else −Δw⁻_ij)."""
    dw, lr = 0.001, 0.01
    device = ConstantStepDevice(dw_min=dw, dw_min_dtod=0.3, up_down_dtod=0.2)
    params = device.sample((OUT, IN), torch.Generator().manual_seed(3))
    x, d = fixed_inputs(2)
    reps = 800
    samples = replicated_updates(device, x, d, lr, mode, torch.zeros(OUT, IN), reps, 5, monkeypatch,
                                 params=params)
    xd, dd = x.double(), d.double()
    product = -(dd[:, :, None] * xd[:, None, :])  # per-sample desired sign and size of ΔW / lr
    pulses = lr * product.abs() / dw
    up = (pulses * (product > 0)).sum(0)
    down = (pulses * (product < 0)).sum(0)
    expected = up * params["dw_up"].double() - down * params["dw_down"].double()
    mean, var, _ = moments(samples)
    z = (mean - expected) / (var / reps).sqrt()
    assert float(z.abs().max()) < bonferroni_z(OUT * IN), z
    # The per-device steps differ by tens of percent, so the nominal −η δ xᵀ is rejected.
    z_nominal = (mean + lr * dd.T @ xd) / (var / reps).sqrt()
    assert float(z_nominal.abs().max()) > bonferroni_z(OUT * IN)


# ---------------------------------------------------------------------------------------------
# Modes agree on soft-bounds devices


SOFT = SoftBoundsDevice(
    dw_min=0.001, w_max=0.6, w_min=-0.6, dw_min_dtod=0.2, dw_min_std=0.3,
    w_max_dtod=0.1, w_min_dtod=0.1, up_down_dtod=0.05,
)


def compare_modes(device, params, x, d, lr, start, reps, monkeypatch, mean_bias_bound=0.0):
    """Each fast mode against exact, per device: |Δmean| < z*·SE + mean_bias_bound (a known
    deterministic bound on the approximation) and |Δvariance| < z*·SE (two-sample)."""
    results = {}
    for seed, mode in enumerate(PULSE_MODES):
        results[mode] = moments(
            replicated_updates(device, x, d, lr, mode, start, reps, 100 + seed, monkeypatch, params=params)
        )
    ref_mean, ref_var, ref_var_se = results["exact"]
    z_threshold = bonferroni_z(2 * (len(PULSE_MODES) - 1) * OUT * IN)
    for mode in PULSE_MODES[1:]:
        mean, var, var_se = results[mode]
        mean_se = ((var + ref_var) / reps).sqrt()
        excess = (mean - ref_mean).abs() - z_threshold * mean_se - mean_bias_bound
        z_var = (var - ref_var) / (var_se.square() + ref_var_se.square()).sqrt()
        assert float(excess.max()) < 0, (mode, (mean - ref_mean) / mean_se)
        assert float(z_var.abs().max()) < z_threshold, (mode, z_var)
    return results


def test_modes_agree_soft_bounds_mixed_signs(monkeypatch):
    """Typical SGD regime: few pulses per device, up and down pulses mixed within the batch.

    The fast modes treat the order of a device's pulses within the batch as random. For affine
    steps, swapping an adjacent up/down pair changes the final w by at most c⁺Δw⁻ + c⁻Δw⁺
    (c = Δw/|bound|), and any two orders differ by at most n⁺n⁻ such swaps, so the order shifts
    E[ΔW] by at most (c⁺Δw⁻ + c⁻Δw⁺)·E[n⁺]E[n⁻] (n⁺, n⁻ independent). That bound is added to the
    tolerance of the means, and we check it is below one standard error: in this regime the
    approximation is invisible.
    """
    params = SOFT.sample((OUT, IN), torch.Generator().manual_seed(4))
    x, d = fixed_inputs(5, d_scale=0.25)
    lr, reps = 0.005, 1000
    start = torch.empty(OUT, IN).uniform_(-0.4, 0.4, generator=torch.Generator().manual_seed(6))
    xd, dd = x.double(), d.double()
    product = -(dd[:, :, None] * xd[:, None, :])
    pulses = lr * product.abs() / SOFT.dw_min
    n_up, n_down = (pulses * (product > 0)).sum(0), (pulses * (product < 0)).sum(0)
    p = {k: v.double() for k, v in params.items()}
    order_bound = (p["c_up"] * p["dw_down"] + p["c_down"] * p["dw_up"]) * n_up * n_down
    results = compare_modes(SOFT, params, x, d, lr, start, reps, monkeypatch, mean_bias_bound=order_bound)
    mean, ref_var, _ = results["exact"]
    assert float((order_bound / (2 * ref_var / reps).sqrt()).max()) < 1.0
    # The start matters (soft bounds): E[ΔW] differs visibly from the constant-step value.
    first_order = n_up * (p["dw_up"] - p["c_up"] * start) - n_down * (p["dw_down"] + p["c_down"] * start)
    nominal = -lr * dd.T @ xd
    z_nominal = (mean - nominal) / (ref_var / reps).sqrt()
    z_first_order = (mean - first_order) / (ref_var / reps).sqrt()
    assert float(z_nominal.abs().max()) > 10
    assert float(z_first_order.abs().max()) < bonferroni_z(OUT * IN)



def test_modes_agree_soft_bounds_one_slot_trains(monkeypatch):
    """The usual small update: k = η·max|x|·max|δ|/Δw_min ≤ 1 for every sample, so every train is
    one slot long. Every strategy agrees with the exact reference per device in mean (within the
    order bound of :func:`test_modes_agree_soft_bounds_mixed_signs`) and variance."""
    params = SOFT.sample((OUT, IN), torch.Generator().manual_seed(14))
    x, d = fixed_inputs(15, d_scale=0.25)
    lr, reps = 0.0015, 1000
    k = lr * x.abs().amax(1) * d.abs().amax(1) / SOFT.dw_min
    assert float(k.max()) <= 1.0  # one slot per sample
    start = torch.empty(OUT, IN).uniform_(-0.4, 0.4, generator=torch.Generator().manual_seed(16))
    product = -(d.double()[:, :, None] * x.double()[:, None, :])
    pulses = lr * product.abs() / SOFT.dw_min
    n_up, n_down = (pulses * (product > 0)).sum(0), (pulses * (product < 0)).sum(0)
    p = {key: value.double() for key, value in params.items()}
    order_bound = (p["c_up"] * p["dw_down"] + p["c_down"] * p["dw_up"]) * n_up * n_down
    compare_modes(SOFT, params, x, d, lr, start, reps, monkeypatch, mean_bias_bound=order_bound)


def test_modes_agree_soft_bounds_many_pulses(monkeypatch):
    """Strong saturation: tens of same-signed pulses per device (c·n ≈ 0.3), where the closed-form
    n-pulse response matters. Each device keeps one pulse sign through the batch (fixed signs of
    x_j and δ_i), so there is no order effect and every mode should match the reference."""
    device = SOFT.replace(dw_min=0.01)
    params = device.sample((OUT, IN), torch.Generator().manual_seed(7))
    x, d = fixed_inputs(8)
    g = torch.Generator().manual_seed(9)
    x = x.abs() * torch.where(torch.rand(IN, generator=g) < 0.5, -1.0, 1.0)
    d = d.abs() * torch.where(torch.rand(OUT, generator=g) < 0.5, -1.0, 1.0)
    lr = 0.12
    k = lr * x.abs().amax(1) * d.abs().amax(1) / device.dw_min
    assert bool((k <= 16).all())  # short trains keep the reference mode cheap
    start = torch.empty(OUT, IN).uniform_(-0.3, 0.3, generator=g)
    reps = 1000
    results = compare_modes(device, params, x, d, lr, start, reps, monkeypatch)
    pulses = (lr * d.double().abs().T @ x.double().abs() / device.dw_min)
    c = 0.5 * (params["c_up"] + params["c_down"]).double()
    assert float((c * pulses).max()) > 0.2  # the regime is strongly nonlinear
    # Saturation: |E[ΔW]| is visibly below the linear n·Δw(start) of the first pulse.
    mean, var, _ = results["exact"]
    p = {k: v.double() for k, v in params.items()}
    sign = -torch.sign(d.double()[0][:, None] * x.double()[0][None, :])
    first_step = torch.where(sign > 0, p["dw_up"] - p["c_up"] * start, p["dw_down"] + p["c_down"] * start)
    linear = sign * pulses * first_step
    assert float(((linear - mean) * sign / (var / reps).sqrt()).max()) > 10


@pytest.mark.parametrize("mode", PULSE_MODES)
def test_saturated_pulse_trains_match_discrete_soft_bounds_theory(mode, monkeypatch):
    """Saturated probabilities (x, δ all ±1, η large): every device receives exactly BL pulses of
    one sign, so ΔW has no count noise and isolates the device physics of n pulses: the mean
    follows the soft-bounds recursion and the variance the cycle-to-cycle noise of each pulse.

    Discrete theory per device, one sign, step s(w) = a − c·w (up: a = Δ⁺, c = Δ⁺/w_max; down:
    w → −w with a = Δ⁻, c = Δ⁻/|w_min|): m_{t+1} = (1 − c)m_t + a and, since the noise
    σ·s(w_t)·ξ multiplies an affine step, V_{t+1} = ((1 − c)² + σ²c²)V_t + σ²s(m_t)², exactly.
    All devices give standardised residuals z = (ΔW − E)/√V, pooled: mean 0, variance 1.
    """
    rows, cols, bl, sigma = 32, 32, 31, 0.3
    device = SoftBoundsDevice(dw_min=0.01, w_max=0.6, w_min=-0.6, dw_min_dtod=0.2, dw_min_std=sigma,
                              w_max_dtod=0.1, w_min_dtod=0.1, up_down_dtod=0.1)
    array = CrossbarArray(rows, cols, device, seed=41)
    use_mode(array, mode, monkeypatch, bl=bl)
    g = torch.Generator().manual_seed(42)
    x = torch.ones(1, cols)
    d = torch.where(torch.arange(rows) % 2 == 0, 1.0, -1.0)[None, :]  # rows alternate up / down
    start = torch.empty(rows, cols).uniform_(-0.3, 0.3, generator=g)
    p = {k: v.double() for k, v in array.params.items()}
    up = (-(d.T @ x) > 0).double()
    # Reflect down-going devices (w → −w) so both directions follow the same recursion.
    a = up * p["dw_up"] + (1 - up) * p["dw_down"]
    c = up * p["dw_up"] / p["w_max"] + (1 - up) * p["dw_down"] / (-p["w_min"])
    sign = 2 * up - 1
    mean, var = sign * start.double(), torch.zeros(rows, cols, dtype=torch.float64)
    for _ in range(bl):
        step = a - c * mean
        var = ((1 - c) ** 2 + sigma**2 * c**2) * var + sigma**2 * step**2
        mean = (1 - c) * mean + a
    expected_delta = sign * mean - start.double()
    assert float((c * bl).max()) > 0.4  # strongly saturating
    residuals = []
    for _ in range(5):
        array.conductance = start.clone()
        pulses = array.pulse_update(x, d, 10.0)
        assert pulses == rows * cols * bl
        residuals.append(((array.conductance.double() - start.double()) - expected_delta) / var.sqrt())
    z = torch.cat([r.flatten() for r in residuals])
    n = z.numel()
    threshold = bonferroni_z(2)
    assert abs(float(z.mean())) < threshold / math.sqrt(n), float(z.mean())
    assert abs(float(z.var()) - 1) < threshold * math.sqrt(2 / (n - 1)), float(z.var())


# ---------------------------------------------------------------------------------------------
# Update management and bit-length management


def test_bit_length_and_update_management():
    dw, bl = 0.001, 31
    g = torch.Generator().manual_seed(12)
    x = (torch.rand(6, 9, generator=g) * 2 - 1) * torch.tensor([1.0, 0.1, 2.0, 0.01, 0.5, 0.0])[:, None]
    d = torch.randn(6, 4, generator=g) * torch.tensor([0.3, 3.0, 0.05, 1.0, 0.002, 1.0])[:, None]
    for lr in (0.0005, 0.01, 0.1):
        prob = pulse_probabilities(x, d, lr, dw, UpdateConfig(bl=bl))
        xd, dd = x.double(), d.double()
        k = lr * xd.abs().amax(1) * dd.abs().amax(1) / dw
        expected_bl = torch.where(k > 0, torch.ceil(k).clamp(max=bl), torch.zeros_like(k))
        assert torch.equal(prob.bit_length.double(), expected_bl)
        ok = (k > 0) & (k <= bl)
        # Balanced: the largest row and column probabilities are both √(k/BL) ≤ 1.
        balanced = (k / expected_bl.clamp(min=1)).sqrt()
        assert_close(prob.column.double().amax(1)[ok], balanced[ok], rtol=1e-5, atol=0)
        assert_close(prob.row.double().amax(1)[ok], balanced[ok], rtol=1e-5, atol=0)
        # Unbiased: BL·p_j·q_i = η|x_j δ_i|/dw_min.
        expected_pulses = lr * dd.abs()[:, :, None] * xd.abs()[:, None, :] / dw
        got = prob.bit_length.double()[:, None, None] * prob.row.double()[:, :, None] * prob.column.double()[:, None, :]
        assert_close(got[ok], expected_pulses[ok], rtol=1e-5, atol=1e-9)
        # Saturated samples: BL = bl and the largest probabilities are capped at 1.
        sat = k > bl
        if bool(sat.any()):
            assert bool((prob.bit_length[sat] == bl).all())
            assert bool((prob.column.amax(1)[sat] == 1).all()) and bool((prob.row.amax(1)[sat] == 1).all())
        assert bool((prob.bit_length[k == 0] == 0).all())
    # The three learning rates cover all cases.
    k_all = 0.1 * x.abs().amax(1) * d.abs().amax(1) / dw
    assert bool((k_all > bl).any())

    # Without bit-length management: BL = bl for every non-silent sample; still unbiased.
    lr = 0.01
    prob = pulse_probabilities(x, d, lr, dw, UpdateConfig(bl=bl, bl_management=False))
    k = lr * x.abs().amax(1) * d.abs().amax(1) / dw
    assert bool((prob.bit_length[k > 0] == bl).all())
    # Without update management: both sides share the scale √(η/(BL dw)), so p ∝ |x| and q ∝ |δ|.
    # (Samples with k = 0 fire no pulses, BL = 0, whatever their probabilities.)
    prob = pulse_probabilities(x, d, lr, dw, UpdateConfig(bl=bl, update_management=False, bl_management=False))
    scale = math.sqrt(lr / (dw * bl))
    live = k > 0
    assert_close(prob.column[live], (x.abs() * scale).clamp(max=1)[live], rtol=1e-6, atol=0)
    assert_close(prob.row[live], (d.abs() * scale).clamp(max=1)[live], rtol=1e-6, atol=0)
    assert bool((prob.bit_length[~live] == 0).all())


@pytest.mark.parametrize("mode", PULSE_MODES)
@pytest.mark.parametrize("bl", [7, 31])
def test_dense_pulses_cap_the_update(mode, bl, monkeypatch):
    """Large η|δ||x|: probabilities saturate at 1, BL = bl, and a device receives at most BL pulses
    per sample; the device at (argmax|δ|, argmax|x|) receives exactly BL, deterministically."""
    dw, lr = 0.001, 1.0
    device = ConstantStepDevice(dw_min=dw, w_max=0.6, w_min=-0.6)
    g = torch.Generator().manual_seed(13)
    x = torch.rand(3, 16, generator=g) * 2 - 1
    d = torch.randn(3, 12, generator=g)
    array = CrossbarArray(12, 16, device, seed=14)
    use_mode(array, mode, monkeypatch, bl=bl)
    assert bool((lr * x.abs().amax(1) * d.abs().amax(1) / dw > 10 * bl).all())
    for b in range(3):
        before = array.conductance.clone()
        pulses = array.pulse_update(x[b], d[b], lr)
        delta = array.conductance - before
        assert float(delta.abs().max()) <= bl * dw * (1 + 1e-5)
        i, j = int(d[b].abs().argmax()), int(x[b].abs().argmax())
        target = -math.copysign(bl * dw, float(d[b, i] * x[b, j]))
        assert float(delta[i, j]) == pytest.approx(target, rel=1e-4)
        assert abs(target) < lr * abs(float(d[b, i] * x[b, j]))  # the cap binds
        # Same-signed pulses per device in one sample: pulses = Σ|ΔW|/dw.
        assert pulses == pytest.approx(float(delta.abs().sum()) / dw, rel=1e-4)
    # A whole batch: at most batch·BL pulses per device.
    before = array.conductance.clone()
    array.pulse_update(x, d, lr)
    assert float((array.conductance - before).abs().max()) <= 3 * bl * dw * (1 + 1e-5)


# ---------------------------------------------------------------------------------------------
# 'none' mode, determinism, accounting


def test_none_mode_is_the_floating_point_update():
    device = SoftBoundsDevice(dw_min=0.001, dw_min_dtod=0.3, dw_min_std=0.3)
    array = CrossbarArray(OUT, IN, device, update=UpdateConfig(strategy="none"), seed=1)
    start = torch.empty(OUT, IN).uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(2))
    array.conductance = start.clone()
    x, d = fixed_inputs(3)
    state = array.generator.get_state()
    pulses = array.pulse_update(x, d, 0.5)
    expected = start.double() - 0.5 * d.double().T @ x.double()
    assert_close(array.conductance.double(), expected, rtol=0, atol=1e-6)
    assert pulses == 0.0 and array.operations.device_pulses == 0
    assert torch.equal(array.generator.get_state(), state)  # no randomness used
    # No device physics: the result leaves the device range unclipped.
    assert float(array.conductance.abs().max()) > 0.6


# ---------------------------------------------------------------------------------------------
# One-hot inputs (the write of a transfer): counts drawn per column


def _one_hot(columns: torch.Tensor, n: int) -> torch.Tensor:
    x = torch.zeros(columns.numel(), n)
    x[torch.arange(columns.numel()), columns] = 1.0
    return x


@pytest.mark.parametrize("column_list", [[1, 4, 6], [4]])
def test_column_update_matches_the_reference_process(column_list):
    """``pulse_update_columns`` draws the coincidences of device (i, c_s) as Binomial(S_s, q_si)
    with S_s ~ Binomial(BL_s, p_s) the firings of column c_s: the reference process conditioned on
    the column train. Against the slot-by-slot reference with the same one-hot x (``exact`` mode),
    on strongly saturating soft-bounds devices with cycle-to-cycle noise and mixed signs of δ, the
    mean and variance of ΔW agree per device (Bonferroni z over 2 × OUT × columns comparisons),
    and the columns without an input never change. One column (the usual transfer) has its own
    scalar path (:func:`analogtrain.crossbar.update.columns._one_column_counts`)."""
    device = SOFT.replace(dw_min=0.01)
    params = device.sample((OUT, IN), torch.Generator().manual_seed(21))
    columns = torch.tensor(column_list)
    g = torch.Generator().manual_seed(22)
    d = torch.randn(3, OUT, generator=g)[: columns.numel()] * 0.4
    lr = 0.05
    assert bool((lr * d.abs().amax(1) / device.dw_min <= 8).all())  # short trains: cheap reference
    start = torch.empty(OUT, IN).uniform_(-0.3, 0.3, generator=g)
    x = _one_hot(columns, IN)
    reps = 1000
    deltas = {}
    for name, strategy in (("columns", "auto"), ("reference", "exact")):
        array = CrossbarArray(OUT, IN, device, update=UpdateConfig(strategy=strategy), seed=23 + len(deltas))
        array.params = {key: v.clone() for key, v in params.items()}
        samples = []
        for _ in range(reps):
            array.conductance = start.clone()
            if name == "columns":
                array.pulse_update_columns(columns, d, lr)
            else:
                array.pulse_update(x, d, lr)
            samples.append((array.conductance - start).double())
        deltas[name] = torch.stack(samples)
    untouched = [j for j in range(IN) if j not in columns.tolist()]
    assert torch.equal(deltas["columns"][:, :, untouched], torch.zeros(reps, OUT, len(untouched), dtype=torch.float64))
    (mean, var, var_se), (ref_mean, ref_var, ref_var_se) = (moments(deltas[k][:, :, columns]) for k in deltas)
    z = bonferroni_z(2 * OUT * columns.numel())
    assert float(((mean - ref_mean) / ((var + ref_var) / reps).sqrt()).abs().max()) < z
    assert float(((var - ref_var) / (var_se.square() + ref_var_se.square()).sqrt()).abs().max()) < z
    # The regime is strongly nonlinear: E[ΔW] is visibly below the linear −lr·δ (saturation).
    nominal = (-lr * d.double()).T
    assert float(((nominal - ref_mean).abs() / (ref_var / reps).sqrt()).max()) > 10


def test_column_update_counts_share_the_column_train():
    """The coincidences of one column's devices are correlated through its shared train: with
    S ~ Binomial(BL, p) firings, n_i | S ~ Binomial(S, q_i), so E[n_i] = BL·p·q_i,
    Var(n_i) = BL·p·q_i(1 − p·q_i) and Cov(n_i, n_j) = q_i·q_j·BL·p(1 − p). On a constant-step
    device without variation ΔW = dw_min·(n⁺ − n⁻) gives the counts exactly. Checked: the mean
    and variance of every n_i and the variance of the column total Σ_i n_i (which holds the
    covariances) against these formulas, z-scores with Bonferroni over 2·OUT + 1 comparisons."""
    device = ConstantStepDevice(dw_min=0.001, w_max=10.0, w_min=-10.0)
    config = UpdateConfig(bl=31, update_management=False, bl_management=False)
    array = CrossbarArray(OUT, IN, device, update=config, seed=31)
    column = torch.tensor([2])
    d = torch.tensor([[0.9, -0.8, 0.7, 1.0, -0.6]])
    lr, reps = 0.004, 4000
    counts = []
    for _ in range(reps):
        array.conductance = torch.zeros(OUT, IN)
        array.pulse_update_columns(column, d, lr)
        counts.append((array.conductance[:, 2].double() / device.dw_min).round() * -torch.sign(d[0]).double())
    n = torch.stack(counts)  # (reps, OUT) pulse counts, each in its direction −sign(δ_i)
    scale = math.sqrt(lr / (config.bl * device.dw_min))
    p, q = scale * 1.0, scale * d[0].double().abs()
    assert 0.2 < p < 0.8  # the column train is far from deterministic: the covariance is visible
    mean = config.bl * p * q
    var = config.bl * p * q * (1 - p * q)
    total_var = var.sum() + (q.sum().square() - q.square().sum()) * config.bl * p * (1 - p)
    z = bonferroni_z(2 * OUT + 1)
    assert float(((n.mean(0) - mean) / (var / reps).sqrt()).abs().max()) < z
    n_var, n_var_se = moments(n)[1:]
    assert float(((n_var - var) / n_var_se).abs().max()) < z
    total_var_hat, total_var_se = moments(n.sum(1, keepdim=True))[1:]
    assert abs(float((total_var_hat - total_var) / total_var_se)) < z
    # Independent rows would give Σ Var(n_i): visibly smaller.
    assert float((total_var_hat - var.sum()) / total_var_se) > z


@pytest.mark.parametrize("trials, probability", [(1, 0.3), (7, 0.05), (31, 0.5), (31, 0.97), (200, 0.2),
                                                   (5, 0.0), (5, 1.0)])
def test_binomial_by_inversion_returns_the_quantile_of_its_uniform(trials, probability):
    """S = the smallest s with CDF(s) > u: checked against scipy's CDF on a grid of u."""
    from scipy import stats

    for uniform in torch.linspace(0, 1, 1001)[:-1].tolist():
        value = columns_module.binomial_by_inversion(trials, probability, uniform)
        assert 0 <= value <= trials
        assert stats.binom.cdf(value, trials, probability) > uniform - 1e-9
        if value > 0:
            assert stats.binom.cdf(value - 1, trials, probability) <= uniform + 1e-9


def test_column_update_in_none_mode_is_the_floating_point_update_of_those_columns():
    array = CrossbarArray(OUT, IN, SOFT, update=UpdateConfig(strategy="none"), seed=1)
    start = torch.empty(OUT, IN).uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(2))
    array.conductance = start.clone()
    columns, d = torch.tensor([5, 0]), torch.randn(2, OUT, generator=torch.Generator().manual_seed(3))
    array.pulse_update_columns(columns, d, 0.5)
    expected = start.double() - 0.5 * d.double().T @ _one_hot(columns, IN).double()
    assert_close(array.conductance.double(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("columns, d_rows, message", [
    (torch.tensor([1, 1]), 2, "distinct"),
    (torch.tensor([7]), 1, r"\[0, 6\]"),
    (torch.tensor([0, 1]), 3, "same number of samples"),
    (torch.tensor([0.0]), 1, "long tensor"),
])
def test_column_update_rejects_bad_columns(columns, d_rows, message):
    array = CrossbarArray(OUT, IN, SOFT, seed=1)
    with pytest.raises(ConfigError, match=message):
        array.pulse_update_columns(columns, torch.zeros(d_rows, OUT), 0.1)


@pytest.mark.parametrize("mode", ["exact", "trains", "trains-torch", "moments", "auto"])
def test_same_seed_same_result_and_resume(mode):
    x, d = fixed_inputs(21)
    results = []
    for _ in range(2):
        array = CrossbarArray(OUT, IN, SOFT, update=update_config(mode), seed=33)
        array.pulse_update(x, d, 0.01)
        results.append(array)
    assert torch.equal(results[0].conductance, results[1].conductance)
    other = CrossbarArray(OUT, IN, SOFT, update=update_config(mode), seed=34)
    other.pulse_update(x, d, 0.01)
    assert not torch.equal(other.conductance, results[0].conductance)
    # Resuming from a state dict continues exactly.
    first, second = results
    state = first.state_dict()
    first.pulse_update(x.flip(0), d, 0.01)
    resumed = CrossbarArray(OUT, IN, SOFT, update=update_config(mode), seed=99)
    resumed.load_state_dict(state)
    resumed.pulse_update(x.flip(0), d, 0.01)
    assert torch.equal(resumed.conductance, first.conductance)
    assert resumed.operations.as_dict() == first.operations.as_dict()


def test_update_counts_parallel_operations():
    array = CrossbarArray(OUT, IN, SOFT, seed=1)
    x, d = fixed_inputs(22)
    pulses = array.pulse_update(x, d, 0.01)
    assert array.operations.parallel_updates == BATCH
    assert array.operations.device_pulses == pulses > 0
    assert array.operations.serial_operations == 0
    assert array.pulse_update(x, d, 0.0) == 0.0  # lr = 0: nothing happens
    assert array.operations.parallel_updates == BATCH


# ---------------------------------------------------------------------------------------------
# Count sampler of the aggregate mode


COUNT_CASES = {
    # name: per-trial coincidence probabilities r (a Poisson-binomial count)
    "poisson-like": [0.02] * 100,
    "binomial": [0.5] * 5,
    "fractional-m": [0.9, 0.6, 0.3, 0.7],
    "near-saturated-small": [0.9, 0.8, 0.85, 0.95, 0.7, 0.75],  # m = 5.94: mixed trials, misses drawn
    "flipped-binomial": [0.8] * 8,
    "saturated-small": [1.0] * 7,
    "large": [0.5] * 100,
    "large-sparse": [0.1] * 300,
    "large-near-saturated": [0.99] * 25,
    "saturated-large": [1.0] * 31,
}


def test_count_sampler_mean_and_variance():
    """E[N] = Σr exactly and Var[N] = Σr − Σr², in the binomial (λ < 10), normal (λ ≥ 10) and
    nearly saturated regimes, all drawn in one call (mixed regimes in one tensor)."""
    n = 40_000
    names = list(COUNT_CASES)
    lam = torch.tensor([sum(COUNT_CASES[k]) for k in names], dtype=torch.float64)
    squares = torch.tensor([sum(r * r for r in COUNT_CASES[k]) for k in names], dtype=torch.float64)
    mean_in = lam.float().repeat_interleave(n)
    squares_in = squares.float().repeat_interleave(n)
    counts = sample_counts(mean_in, squares_in, torch.Generator().manual_seed(5)).double().view(len(names), n)
    assert bool((counts >= 0).all()) and bool((counts == counts.round()).all())
    target_var = lam - squares
    z_threshold = bonferroni_z(2 * len(names))
    for idx, name in enumerate(names):
        sample = counts[idx]
        m, v = sample.mean(), sample.var()
        if float(target_var[idx]) == 0.0:
            assert bool((sample == lam[idx]).all()), name
            continue
        m4 = (sample - m).pow(4).mean()
        z_mean = (m - lam[idx]) / (target_var[idx] / n).sqrt()
        z_var = (v - target_var[idx]) / ((m4 - v * v) / n).sqrt()
        assert abs(float(z_mean)) < z_threshold, (name, float(m), float(lam[idx]))
        assert abs(float(z_var)) < z_threshold, (name, float(v), float(target_var[idx]))
        # Cannot exceed the number of trials.
        assert float(sample.max()) <= len(COUNT_CASES[name]) or float(lam[idx]) >= 10


def test_count_sampler_zero_mean_and_determinism():
    mean = torch.tensor([0.0, 0.0, 3.0, 30.0])
    squares = torch.tensor([0.0, 0.0, 0.3, 3.0])
    a = sample_counts(mean, squares, torch.Generator().manual_seed(1))
    b = sample_counts(mean, squares, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert a[0] == 0 and a[1] == 0


# ---------------------------------------------------------------------------------------------
# The building blocks of the sparse batch-train path


# ---------------------------------------------------------------------------------------------
# The building blocks of the trains strategy, the auto rule, the integer-k case


@pytest.mark.parametrize("scale", [1.0, 0.01])
def test_trains_fire_with_their_probabilities(scale):
    """Each train entry fires with its own probability (exact binomial test per entry, Bonferroni
    over all entries), never where p = 0; multi-slot samples repeat their probabilities BL times.
    Dense trains draw a uniform per entry, large sparse ones geometric gaps (``scale`` 0.01)."""
    from scipy import stats

    generator = torch.Generator().manual_seed(1)
    x = torch.rand(3, 4000 if scale < 1 else 40, generator=generator) * 2 - 1
    d = torch.randn(3, 30, generator=generator).clamp(-1, 1)
    x[:, :5] = 0.0
    if scale == 1.0:
        prob = pulse_probabilities(x, d, 0.01, 0.001, UpdateConfig(bl=7))
    else:  # small probabilities on both sides: C_x = C_δ = √(η/(Δw_min·BL)) ≈ 0.1
        prob = pulse_probabilities(x, d, 7e-5, 0.001, UpdateConfig(bl=7, update_management=False,
                                                                   bl_management=False))
    assert not prob.unit and prob.slots == int(prob.bit_length.sum()) > 3
    reps = 400
    fired_rows = torch.zeros(prob.slots, 30, dtype=torch.float64)
    fired_columns = torch.zeros(prob.slots, x.shape[1], dtype=torch.float64)
    for _ in range(reps):
        trains = update_module.draw_trains(prob, generator)
        assert (trains.columns._mask is None) == (scale < 1)  # the draw the rule picks
        fired_rows += trains.rows.mask
        fired_columns += trains.columns.mask
    sample = torch.repeat_interleave(torch.arange(3), prob.bit_length.long())
    for fired, p in ((fired_rows, prob.row[sample]), (fired_columns, prob.column[sample])):
        p, fired = p.double().numpy().ravel(), fired.numpy().ravel()
        assert fired[p == 0].sum() == 0.0
        live = p > 0
        low = stats.binom.cdf(fired[live], reps, p[live])
        high = stats.binom.sf(fired[live] - 1, reps, p[live])
        assert 2 * min(low.min(), high.min()) * live.sum() > FAMILY_ALPHA


@pytest.mark.parametrize("batch, rows, columns, lr, scale", [(4, 5, 7, 0.3, 1.0), (32, 40, 90, 0.02, 0.001),
                                                             (16, 90, 140, 0.05, 0.01), (6, 30, 20, 0.02, 1.0),
                                                             (64, 300, 400, 0.05, 0.001)])
def test_listing_and_products_of_the_same_trains_agree(batch, rows, columns, lr, scale):
    """From the same trains the compiled listing, the tensor listing and the two train products give
    the same counts (the listings: the same devices, in ascending order), for one-slot and for
    multi-slot trains, drawn densely or by geometric gaps; their total is the number of
    coincidences."""
    g = torch.Generator().manual_seed(batch + rows)
    x = torch.rand(batch, columns, generator=g) * 2 - 1
    d = torch.randn(batch, rows, generator=g) * scale
    prob = pulse_probabilities(x, d, lr, SOFT.granularity, UpdateConfig())
    trains = update_module.draw_trains(prob, g)
    n_up, n_down = update_module.train_products(trains, prob)
    compiled_list = update_module.listed_coincidences(trains, prob, "auto")
    tensor_list = update_module.listed_coincidences(trains, prob, "torch")
    assert compiled_list.pulses == tensor_list.pulses == trains.coincidences() == float(n_up.sum() + n_down.sum()) > 0
    assert torch.equal(compiled_list.index, tensor_list.index)
    assert bool((compiled_list.index[1:] > compiled_list.index[:-1]).all())
    for listed in (compiled_list, tensor_list):
        assert torch.equal(listed.n_up, n_up.reshape(-1)[listed.index])
        assert torch.equal(listed.n_down, n_down.reshape(-1)[listed.index])
    unlisted = torch.ones(rows * columns, dtype=torch.bool)
    unlisted[compiled_list.index] = False
    assert float((n_up + n_down).reshape(-1)[unlisted].sum()) == 0.0
    assert float(n_up.sum()) > 0 and float(n_down.sum()) > 0


@pytest.mark.parametrize("mode", ["exact", "trains", "trains-torch", "moments"])
def test_trains_reproduce_correlations_between_devices_sharing_a_row(mode):
    """Devices (i, j) and (i, j') of one sample share row i's train: per slot both fire only if the
    row fires, so Cov(n_ij, n_ij') = BL·q_i(1 − q_i)·p_j·p_j' > 0 (Gokmen & Vlasov's coincidence
    process). ``exact`` and ``trains`` reproduce it; ``moments`` draws devices independently
    (covariance 0), as documented. Constant steps, no noise: ΔW/Δw_min are the counts. Tested on
    every pair of devices of one row, z-scores of the pooled covariance (Bonferroni over the cases)."""
    device = ConstantStepDevice(dw_min=0.001, w_max=10.0, w_min=-10.0)
    bl, lr = 8, 0.004
    x = torch.tensor([[0.9, 0.8, 0.7, 0.6]])
    d = torch.tensor([[1.0, -0.9, 0.8]])
    scale = math.sqrt(lr / (bl * device.dw_min))
    p, q = scale * x[0].double(), scale * d[0].double().abs()
    assert 0.3 < float(q.min()) and float(q.max()) < 0.8  # the row trains are far from deterministic
    samples = replicated_updates(device, x, d, lr, mode, torch.zeros(3, 4), 3000, 71, None, blocks=25, bl=bl,
                                 update_management=False, bl_management=False)
    counts = samples / device.dw_min  # (reps, 3, 4), signed by direction
    counts = counts * -torch.sign(d[0].double())[None, :, None]  # each device's count in its direction
    reps = counts.shape[0]
    centred = counts - counts.mean(0)
    # Covariance of the first two devices of every row, and its theory.
    products = centred[:, :, 0] * centred[:, :, 1]
    covariance = products.mean(0)
    se = products.std(0) / math.sqrt(reps)
    theory = bl * q * (1 - q) * p[0] * p[1]
    z = bonferroni_z(2 * 3 * 4)
    if mode == "moments":
        assert float((covariance / se).abs().max()) < z  # independent devices
        assert float(((covariance - theory) / se).abs().max()) > z  # the correlation is visibly lost
    else:
        assert float(((covariance - theory) / se).abs().max()) < z
        assert float((covariance / se).min()) > z  # visibly positive


def _mean_reduced(size: int, batch: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, size, generator=g) * 2 - 1, torch.randn(batch, size, generator=g) / batch


@pytest.mark.parametrize("size, batch, dense, expected", [
    (512, 128, False, ("trains", "products")),  # many pulses on one-slot trains: two products
    (512, 1, False, ("trains", "products")),  # one sample, BL = 31: a shallow product
    (784, 32, False, ("trains", "listed")),  # an MLP layer's small update (lr 1e-4): few coincidences
    (512, 128, True, ("moments", None)),  # long saturated trains over a large batch
    (256, 128, True, ("moments", None)),
    (128, 32, True, ("trains", "products")),  # saturated, but a small array: 2·S·N stays below the moments
])
def test_auto_rule_decides_by_shapes_bit_lengths_and_expected_pulses(size, batch, dense, expected):
    """The documented rule (:mod:`analogtrain.crossbar.update.strategies`), recomputed here from its
    formula: the decision depends on the shapes, Σ BL and E only (the same on every machine), and
    the strategy that ran is recorded in the array's operation account."""
    from analogtrain.crossbar.update import strategies

    x, d = _mean_reduced(size, batch)
    lr = 0.01 if size != 784 else 1e-4
    if dense:
        d = d * batch
    prob = pulse_probabilities(x, d, lr, SOFT.granularity, UpdateConfig())
    cells = size * size
    draws = 0.0
    for p in (prob.row, prob.column):  # a uniform per entry, or 8 per candidate of a geometric-gap draw
        entries, rate = prob.slots * size, float(p.max())
        draws += entries if rate > 0.125 or entries < 16384 else 8 * rate * entries
    trains = draws + min(2 * prob.slots * cells, strategies.LIST_WEIGHT * prob.expected_coincidences)
    moments_work = 4 * batch * cells + 2 * strategies.COUNT_WEIGHT * cells
    assert strategies.strategy_work(prob, (size, size)) == pytest.approx({"trains": trains, "moments": moments_work})
    assert update_module.choose_strategy(prob, (size, size)) == expected[0]
    if expected[0] == "trains":
        assert update_module.choose_counting(prob, (size, size)) == expected[1]
    # The same decision for the same update, whatever the kernel: the physics does not depend on it.
    for kernel in ("auto", "torch"):
        array = CrossbarArray(size, size, SOFT, seed=3, update=UpdateConfig(kernel=kernel))
        array.pulse_update(x, d, lr)
        name = expected[0] if expected[0] == "moments" else f"trains-{expected[1]}"
        assert array.operations.strategies == {name: 1}


@pytest.mark.parametrize("kernel", ["auto", "torch"])
def test_integer_k_gives_bit_length_k_and_deterministic_counts(kernel):
    """k = η·max|x|·max|δ|/Δw_min = 4 in exact arithmetic (η 0.1, x = δ = 0.2, Δw_min 0.001;
    4.000000000000001 in floating point): BL = 4 and every probability exactly 1, so every device
    gets exactly 4 pulses, deterministically (as the field's reference simulator), for whole
    batches and for a transfer's column write alike."""
    device = ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)
    x, d = torch.full((3, 6), 0.2), torch.full((3, 5), -0.2)
    assert 0.1 * 0.2 * 0.2 / 0.001 != 4.0  # the float rounding that the update must see through
    prob = pulse_probabilities(x, d, 0.1, device.granularity, UpdateConfig())
    assert prob.bit_length.tolist() == [4.0, 4.0, 4.0]
    assert bool((prob.row == 1.0).all()) and bool((prob.column == 1.0).all())
    for strategy in ("trains", "moments", "exact", "auto"):
        for seed in range(3):
            array = CrossbarArray(5, 6, device, seed=seed, update=UpdateConfig(strategy=strategy, kernel=kernel))
            pulses = array.pulse_update(x, d, 0.1)
            assert pulses == 3 * 4 * 30
            assert torch.allclose(array.conductance, torch.full((5, 6), 12 * 0.001), rtol=1e-6, atol=0)
        array = CrossbarArray(5, 6, device, seed=seed, update=UpdateConfig(strategy=strategy, kernel=kernel))
        assert array.pulse_update_columns(torch.tensor([2]), torch.full((1, 5), -2.0), 0.002) == 4 * 5
        assert torch.allclose(array.conductance[:, 2], torch.full((5,), 0.004), rtol=1e-6, atol=0)


@pytest.mark.parametrize("device", [
    ConstantStepDevice(dw_min=0.02, w_max=1.0, w_min=-1.0, dw_min_dtod=0.3),
    SoftBoundsDevice(dw_min=0.02, w_max=1.0, w_min=-1.0, dw_min_dtod=0.3, w_max_dtod=0.2),
])
@pytest.mark.parametrize("kernel", ["auto", "torch"])
def test_sparse_application_equals_whole_array_application(device, kernel):
    """Without cycle-to-cycle noise and with pulses of one sign per device (no random-order
    spread) the response is deterministic given the counts, so applying only the pulsed devices
    (listed counts) gives exactly the whole-array result, over many updates."""
    from analogtrain.crossbar.update import PulseCounts, apply_pulse_counts_jointly, draw_pulse_counts

    generator = torch.Generator().manual_seed(5)
    array = CrossbarArray(30, 50, device, seed=3)
    listed = (torch.rand(30, 50, generator=generator) - 0.5).clamp(-0.9, 0.9)
    whole = listed.clone()
    config = UpdateConfig(strategy="trains", kernel=kernel)
    for _ in range(20):
        x = torch.rand(32, 50, generator=generator)
        d = torch.rand(32, 30, generator=generator) * 0.03 * (1 - 2 * (torch.arange(30) % 2))  # fixed sign per row
        counts = draw_pulse_counts((30, 50), device, x, d, 0.05, config, generator)
        n_up, n_down = torch.zeros(1500), torch.zeros(1500)
        if counts.index is None:
            n_up, n_down = counts.n_up, counts.n_down
        else:
            n_up[counts.index], n_down[counts.index] = counts.n_up, counts.n_down
        pulsed = (n_up + n_down).nonzero().squeeze(1)
        assert 0 < pulsed.numel() < 1500
        as_list = PulseCounts(n_up[pulsed], n_down[pulsed], pulsed, counts.pulses)
        as_whole = PulseCounts(n_up, n_down, None, counts.pulses)
        listed = apply_pulse_counts_jointly(device, [(listed, array.params, as_list, None, None)], kernel)[0]
        whole = apply_pulse_counts_jointly(device, [(whole, array.params, as_whole, None, None)], kernel)[0]
        assert torch.equal(listed, whole)
    assert not torch.equal(listed, whole.new_zeros(whole.shape))


@pytest.mark.parametrize("column_list", [[2], [0, 5]])
def test_column_write_leaves_devices_without_pulses_exactly_as_they_were(column_list):
    """A small column write hands every device of its columns to the device response, pulsed or
    not (cheaper than listing the pulsed ones); a device without pulses (here: δ_i = 0, so row i
    never fires) must come out bit for bit unchanged, cycle-to-cycle noise notwithstanding."""
    device = SOFT.replace(dw_min=0.01)
    array = CrossbarArray(OUT, IN, device, seed=31)
    g = torch.Generator().manual_seed(32)
    array.conductance = torch.empty(OUT, IN).uniform_(-0.3, 0.3, generator=g)
    columns = torch.tensor(column_list)
    d = torch.randn(columns.numel(), OUT, generator=g)
    silent = [1, 3]
    d[:, silent] = 0.0
    for _ in range(20):
        start = array.conductance.clone()
        array.pulse_update_columns(columns, d, 0.5)
        assert torch.equal(array.conductance[silent], start[silent])
        untouched = [j for j in range(IN) if j not in column_list]
        assert torch.equal(array.conductance[:, untouched], start[:, untouched])
    # The other rows of the written columns did move.
    assert array.operations.device_pulses > 0
