"""Peripheral non-idealities of analog reads (DESIGN.md §1 item 1–2; prior-art §1.7).

Acceptance: the number of distinct output levels matches the ADC resolution; outputs clip at the
bounds; the read-noise standard deviation matches the setting within a chi-square tolerance.
Also: DAC levels, noise management (abs_max) makes the result invariant to the input scale when
there is no noise, iterative bound management recovers outputs that would clip, the ideal
IOConfig gives the exact product, and the backward read uses Wᵀ.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
import torch

from analogtrain.crossbar import CrossbarArray, IOConfig, UpdateConfig, analog_read
from analogtrain.devices import ConstantStepDevice

DEVICE = ConstantStepDevice(dw_min=0.001, w_max=0.6, w_min=-0.6)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_array(out, inp, seed=0, weight=None, **kwargs) -> CrossbarArray:
    array = CrossbarArray(out, inp, DEVICE, seed=seed, **kwargs)
    if weight is None:
        weight = torch.empty(out, inp).uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(seed + 100))
    array.program(weight)
    return array


def chi2_quantile(p: float, dof: int) -> float:
    """Wilson–Hilferty approximation of the chi-square quantile (relative error < 1e-3 for dof ≥ 100)."""
    z = NormalDist().inv_cdf(p)
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


# ---------------------------------------------------------------------------------------------
# ADC / DAC levels and clipping


@pytest.mark.parametrize("bits", [3, 5, 9])
def test_adc_levels_match_resolution(bits):
    """out_res = 1/(2^b − 2) of the range 2·out_bound: levels k·step, |k| ≤ 2^(b−1) − 1,
    i.e. 2^b − 1 distinct outputs, the outermost exactly ±out_bound."""
    bound = 3.0
    io = IOConfig(out_res=1 / (2**bits - 2), out_bound=bound)
    array = make_array(1, 1, weight=torch.tensor([[0.5]]), forward_io=io)
    x = torch.linspace(-4 * bound, 4 * bound, 20001)[:, None]  # y = x/2 spans twice the range
    y = array.forward(x)[:, 0]
    levels = torch.unique(y)
    assert levels.numel() == 2**bits - 1
    step = 2 * bound / (2**bits - 2)
    assert float((levels / step - (levels / step).round()).abs().max()) < 1e-4
    assert float(y.max()) == bound and float(y.min()) == -bound
    # Inside the range the ADC rounds to the nearest level.
    inside = (0.5 * x[:, 0]).abs() < bound - step
    assert float((y[inside] - 0.5 * x[inside, 0]).abs().max()) <= step / 2 * (1 + 1e-5)


@pytest.mark.parametrize("bits", [4, 7])
def test_dac_levels_and_input_clipping(bits):
    io = IOConfig(inp_res=1 / (2**bits - 2), inp_bound=1.0)
    array = make_array(1, 1, weight=torch.tensor([[0.5]]), forward_io=io)
    x = torch.linspace(-3, 3, 6001)[:, None]
    y = array.forward(x)[:, 0] / 0.5  # the converted input
    assert torch.unique(y).numel() == 2**bits - 1
    assert float(y.max()) == pytest.approx(1.0) and float(y.min()) == pytest.approx(-1.0)
    inside = x[:, 0].abs() <= 1.0
    step = 2.0 / (2**bits - 2)
    assert float((y[inside] - x[inside, 0]).abs().max()) <= step / 2 * (1 + 1e-5)
    assert bool((y[x[:, 0] > 1.0] == y.max()).all())


def test_preset_has_7_bit_dac_and_9_bit_adc():
    preset = IOConfig.preset()
    x = torch.linspace(-2, 2, 40001)[:, None]
    dac_only = IOConfig(inp_res=preset.inp_res, inp_bound=preset.inp_bound)
    assert torch.unique(analog_read(torch.ones(1, 1), x, dac_only)).numel() == 2**7 - 1
    adc_only = IOConfig(out_res=preset.out_res, out_bound=preset.out_bound)
    y = analog_read(torch.ones(1, 1), 15 * x, adc_only)  # spans ±30, beyond out_bound = 12
    assert torch.unique(y).numel() == 2**9 - 1
    assert float(y.abs().max()) == preset.out_bound


def test_outputs_clip_at_out_bound_without_bound_management():
    io = IOConfig(out_bound=1.0)
    weight = torch.full((3, 8), 0.5)
    array = make_array(3, 8, weight=weight, forward_io=io)
    x = torch.stack([torch.ones(8), -torch.ones(8), 0.1 * torch.ones(8)])
    y = array.forward(x)
    assert bool((y[0] == 1.0).all()) and bool((y[1] == -1.0).all())
    assert torch.allclose(y[2], torch.full((3,), 0.4), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Read noise


def noise_residuals(array: CrossbarArray, x: torch.Tensor, direction: str) -> torch.Tensor:
    w = array.weight.double()
    if direction == "forward":
        return (array.forward(x).double() - x.double() @ w.T).flatten()
    return (array.backward(x).double() - x.double() @ w).flatten()


def assert_std_matches(residuals: torch.Tensor, sigma: float, alpha: float = 1e-4) -> None:
    """(n − 1)s²/σ² ~ χ²(n − 1): accept inside the central 1 − alpha interval; the mean is
    0 within the same two-sided z bound."""
    n = residuals.numel()
    statistic = float((n - 1) * residuals.var() / sigma**2)
    low, high = chi2_quantile(alpha / 2, n - 1), chi2_quantile(1 - alpha / 2, n - 1)
    assert low < statistic < high, (statistic / (n - 1), low / (n - 1), high / (n - 1))
    z = NormalDist().inv_cdf(1 - alpha / 2)
    assert abs(float(residuals.mean())) < z * sigma / math.sqrt(n)


def test_read_noise_std_matches_setting_each_direction():
    forward_io, backward_io = IOConfig(out_noise=0.1), IOConfig(out_noise=0.02)
    array = make_array(16, 12, seed=3, forward_io=forward_io, backward_io=backward_io)
    g = torch.Generator().manual_seed(4)
    x = torch.rand(400, 12, generator=g) * 2 - 1
    d = torch.rand(400, 16, generator=g) * 2 - 1
    assert_std_matches(noise_residuals(array, x, "forward"), 0.1)
    assert_std_matches(noise_residuals(array, d, "backward"), 0.02)
    # Power check: the forward residuals reject a setting 5 % off.
    with pytest.raises(AssertionError):
        assert_std_matches(noise_residuals(array, x, "forward"), 0.105)


def test_noise_management_scales_read_noise_with_input_max():
    """With abs_max the read is y = α·(W x/α + σξ): the output noise is σ·max|x|."""
    io = IOConfig(out_noise=0.05, noise_management="abs_max")
    array = make_array(16, 12, seed=5, forward_io=io)
    g = torch.Generator().manual_seed(6)
    x = torch.rand(400, 12, generator=g) * 2 - 1
    x = 4.0 * x / x.abs().amax(1, keepdim=True)  # every input vector has max|x| = 4
    assert_std_matches(noise_residuals(array, x, "forward"), 0.05 * 4.0)


# ---------------------------------------------------------------------------------------------
# Noise and bound management, ideal reads


def test_noise_management_makes_quantized_read_scale_invariant():
    io = IOConfig(inp_res=1 / 126, inp_bound=1.0, out_res=1 / 510, out_bound=12.0, noise_management="abs_max")
    array = make_array(10, 20, seed=7, forward_io=io)
    x = torch.rand(5, 20, generator=torch.Generator().manual_seed(8)) * 2 - 1
    y = array.forward(x)
    exact = x @ array.weight.T
    assert float((y - exact).abs().max()) > 0  # the quantization is active
    for scale in (2.0**-12, 2.0**-3, 2.0**6):  # powers of two: scaling is exact in floating point
        assert torch.allclose(array.forward(scale * x), scale * y, rtol=1e-6, atol=0)
    # Without noise management small inputs vanish in the DAC and large ones clip.
    plain = make_array(10, 20, seed=7, forward_io=io.replace(noise_management="none"))
    assert bool((plain.forward(2.0**-12 * x) == 0).all())
    big = plain.forward(2.0**6 * x)
    assert not torch.allclose(big, 2.0**6 * y, rtol=0.1)


def test_bound_management_recovers_clipped_outputs():
    """Iterative bound management works per input vector: a vector whose output reaches the bound
    is read again with its input halved, until no output clips (or max_bm_factor is reached)."""
    io = IOConfig(out_res=1 / 510, out_bound=1.0, bound_management="iterative")
    weight = torch.full((3, 8), 0.5)
    array = make_array(3, 8, weight=weight, forward_io=io)
    x = torch.stack([0.9 * torch.ones(8), -torch.ones(8), 0.2 * torch.ones(8), 0.01 * torch.ones(8)])
    exact = x @ weight.T  # vectors 0, 1 give 3.6 and −4 (beyond the bound 1); 2, 3 do not
    y = array.forward(x)
    # Vector 0 is read at ×1/4 (0.9), vector 1 at ×1/8 (the bound itself counts as clipped);
    # the ADC rounding error scales up by the same factor.
    step = 2.0 / 510
    assert float((y[0] - exact[0]).abs().max()) <= 4 * step / 2 * (1 + 1e-5)
    assert float((y[1] - exact[1]).abs().max()) <= 8 * step / 2 * (1 + 1e-5)
    # Vectors that did not clip keep their first-pass value (identical to a read without management).
    unmanaged = make_array(3, 8, weight=weight, forward_io=io.replace(bound_management="none"))
    y_plain = unmanaged.forward(x)
    assert torch.equal(y[2:], y_plain[2:])
    assert bool((y_plain[0] == 1.0).all()) and bool((y_plain[1] == -1.0).all())
    # max_bm_factor caps the input reduction: with a factor 2 the output saturates at 2·bound.
    capped = make_array(3, 8, weight=weight, forward_io=io.replace(max_bm_factor=2))
    assert bool((capped.forward(x)[0] == 2.0).all())


def test_ideal_io_is_the_exact_product_and_backward_uses_transpose():
    reference = make_array(6, 9, seed=9)
    array = make_array(6, 9, seed=10, reference=reference)
    weight = (array.conductance - reference.conductance).double()
    assert float(weight.abs().max()) > 0.1
    g = torch.Generator().manual_seed(11)
    x, d = torch.randn(5, 9, generator=g), torch.randn(5, 6, generator=g)
    assert torch.allclose(array.forward(x).double(), x.double() @ weight.T, rtol=1e-6, atol=1e-6)
    assert torch.allclose(array.backward(d).double(), d.double() @ weight, rtol=1e-6, atol=1e-6)
    # One vector in, one vector out; reads are counted per vector.
    assert array.forward(x[0]).shape == (6,) and array.backward(d[0]).shape == (9,)
    assert array.operations.forward_reads == 6 and array.operations.backward_reads == 6
    assert array.operations.serial_operations == 0


def test_noisy_reads_are_reproducible_from_the_seed():
    io = IOConfig.preset()
    a, b = make_array(8, 8, seed=12, forward_io=io), make_array(8, 8, seed=12, forward_io=io)
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(13))
    ya, yb = a.forward(x), b.forward(x)
    assert torch.equal(ya, yb)
    assert not torch.equal(a.forward(x), ya)  # fresh noise on every read


def test_column_reads_equal_forward_reads_of_one_hot_vectors():
    """``read_columns`` (a transfer's reads) gives exactly the forward read of the one-hot inputs,
    through the same noisy, quantised, bound-managed periphery and the same random draws."""
    device = ConstantStepDevice(dw_min=0.01, w_max=1.0, w_min=-1.0)
    io = IOConfig.preset()
    arrays = []
    for _ in range(2):
        reference = CrossbarArray(6, 9, device, seed=3)
        reference.program(torch.empty(6, 9).uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(1)))
        array = CrossbarArray(6, 9, device, forward_io=io, reference=reference, seed=4)
        array.program(torch.empty(6, 9).uniform_(-0.9, 0.9, generator=torch.Generator().manual_seed(2)))
        arrays.append(array)
    columns = torch.tensor([7, 0, 3])
    one_hot = torch.zeros(3, 9)
    one_hot[torch.arange(3), columns] = 1.0
    by_columns = arrays[0].read_columns(columns)
    by_forward = arrays[1].forward(one_hot)
    assert torch.equal(by_columns, by_forward)
    assert torch.equal(arrays[0].generator.get_state(), arrays[1].generator.get_state())
    assert arrays[0].operations.forward_reads == arrays[1].operations.forward_reads == 3
    # The reads are noisy (not the exact weight columns).
    assert not torch.equal(by_columns, arrays[0].weight[:, columns].T)


@pytest.mark.parametrize("with_reference", [True, False])
def test_single_column_read_with_an_ideal_periphery_is_the_column(with_reference):
    """The one-column read of a transfer with an ideal periphery is exactly that column of the
    weight, as the forward read of the one-hot vector, in a fresh tensor."""
    device = ConstantStepDevice(dw_min=0.01, w_max=1.0, w_min=-1.0)
    reference = None
    if with_reference:
        reference = CrossbarArray(6, 9, device, seed=3)
        reference.program(torch.empty(6, 9).uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(1)))
    array = CrossbarArray(6, 9, device, reference=reference, seed=4)
    array.program(torch.empty(6, 9).uniform_(-0.9, 0.9, generator=torch.Generator().manual_seed(2)))
    one_hot = torch.zeros(1, 9)
    one_hot[0, 7] = 1.0
    read = array.read_columns(torch.tensor([7]))
    assert read.shape == (1, 6)
    assert torch.equal(read, array.forward(one_hot))
    assert torch.equal(read[0], array.weight[:, 7])
    stored = array.conductance.clone()
    read.neg_()  # the caller may change it in place
    assert torch.equal(array.conductance, stored)


# ---------------------------------------------------------------------------------------------
# The compiled read (crossbar/read_compiled.py) against the tensor pipeline (the reference)


def reference_and_compiled(matrix, inputs, io, seed=0):
    """(reference read, compiled read), each from a generator seeded with ``seed``; also checks
    that both consumed the same random numbers (the generators end in the same state)."""
    from analogtrain.crossbar import io as io_module

    g_ref, g_fast = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    expected = io_module._read_tensors(matrix, inputs.clone(), io, g_ref)
    got = analog_read(matrix, inputs, io, g_fast)
    assert torch.equal(g_ref.get_state(), g_fast.get_state())
    return expected, got


def assert_same_bits(expected, got):
    """Bit for bit: the compiled loops do the same float operations in the same order."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert torch.equal(torch.isnan(expected), torch.isnan(got))
    assert torch.equal(torch.nan_to_num(expected), torch.nan_to_num(got))


def count_rereads(monkeypatch):
    """Counts the bound-management re-reads of the compiled code (one per halving round)."""
    from analogtrain.crossbar import read_compiled

    calls = []
    original = read_compiled.dac

    def counting(x, out, divisor, mode, *stage):
        calls.append(mode == read_compiled.GIVEN)
        return original(x, out, divisor, mode, *stage)

    monkeypatch.setattr(read_compiled, "dac", counting)
    return calls


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_compiled_read_equals_reference_with_noise_and_bound_management(dtype, direction, monkeypatch):
    """The preset periphery (abs_max noise management, iterative bound management) on vectors that
    need 0, 1, several and the maximum number of halvings, an all-zero vector and a tiny one, in the
    LSTM's read shapes (32 vectors of [x; h; 1] = 215 through a 256 × 215 array, and back)."""
    rereads = count_rereads(monkeypatch)
    g = torch.Generator().manual_seed(20)
    weight = (torch.rand(256, 215, generator=g, dtype=dtype) - 0.5) * 0.4
    matrix = weight if direction == "forward" else weight.T
    inputs = torch.randn(32, matrix.shape[1], generator=g, dtype=dtype)
    inputs[0] = 0.0  # all zero: α = 1, read as it is
    inputs[1] = 0.0
    inputs[1, 3] = 1e-30  # α tiny: scaled up to max 1
    signs = torch.sign(matrix[0]).to(dtype)
    for row, gain in ((2, 1.0), (3, 0.2), (4, 0.05)):
        inputs[row] = signs * gain  # y_0 = Σ|W_0j|·gain ≫ bound: several halvings
    io = IOConfig.preset().replace(out_bound=2.0, max_bm_factor=2**10)
    expected, got = reference_and_compiled(matrix, inputs, io, seed=21)
    assert_same_bits(expected, got)
    assert sum(rereads) >= 3  # several halving rounds were taken
    assert float(got[2].abs().max()) > 2.0  # bound management recovered beyond the bound
    # With a low max_bm_factor some vectors stop at the cap (their last read scaled back).
    rereads.clear()
    capped = io.replace(max_bm_factor=4)
    assert_same_bits(*reference_and_compiled(matrix, inputs, capped, seed=22))
    assert sum(rereads) == 2
    # The backward read of the benchmarks has no bound management.
    assert_same_bits(*reference_and_compiled(matrix, inputs, io.replace(bound_management="none"), seed=23))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"noise_management": "none"},
        {"noise_management": "none", "bound_management": "none"},
        {"inp_res": 0.0},
        {"out_res": 0.0},
        {"inp_res": 0.0, "out_res": 0.0},  # no quantization to hide an error of an ulp
        {"inp_res": 0.0, "out_res": 0.0, "out_bound": 0.05},
        {"out_noise": 0.0},
        {"out_bound": math.inf},
        {"inp_bound": math.inf, "inp_res": 0.01},  # absolute DAC step, no input clipping
        {"out_bound": math.inf, "out_res": 0.01, "noise_management": "none"},
        {"out_bound": 0.3, "max_bm_factor": 1},
        {"out_bound": 0.3, "max_bm_factor": 3},
    ],
)
def test_compiled_read_equals_reference_for_every_setting(changes):
    """Random shapes (odd sizes: the vector loops' tails), input scales and weights; also a
    transposed (non-contiguous) matrix and a non-contiguous input batch."""
    io = IOConfig.preset().replace(**{"out_bound": 1.5, **changes})
    for trial in range(12):
        g = torch.Generator().manual_seed(100 + trial)
        batch, n, m = (int(v) for v in torch.randint(1, 45, (3,), generator=g))
        weight = torch.rand(m, n, generator=g) - 0.5
        inputs = torch.randn(batch, n, generator=g) * float(10 ** torch.empty(1).uniform_(-3, 2, generator=g))
        inputs[0] = 0.0
        for matrix in (weight, weight.T.contiguous().T):
            assert_same_bits(*reference_and_compiled(matrix, inputs, io, seed=trial))
        wide = torch.randn(batch, 2 * n, generator=g)[:, ::2]
        assert_same_bits(*reference_and_compiled(weight, wide, io, seed=trial))


def test_compiled_read_propagates_nan_as_the_reference():
    """NaN in an input vector (a caller that skips the finite check) gives NaN outputs for that
    vector, as the tensor code; then, as there, no vector is read again by bound management."""
    io = IOConfig.preset().replace(out_bound=0.5)
    weight = torch.rand(6, 5, generator=torch.Generator().manual_seed(30))
    inputs = torch.rand(4, 5, generator=torch.Generator().manual_seed(31)) + 0.5  # clips
    inputs[1, 2] = math.nan
    expected, got = reference_and_compiled(weight, inputs, io)
    assert bool(torch.isnan(got[1]).all()) and not bool(torch.isnan(got[0]).any())
    assert_same_bits(expected, got)


def test_array_reads_are_the_same_with_and_without_compiled_loops(monkeypatch):
    """Through CrossbarArray (differential pair, both directions) and the autograd-free read of a
    batch that requires grad: the same values and the same generator states."""
    io = IOConfig.preset().replace(out_bound=1.0)
    results = []
    for kernel in ("torch", "auto"):
        reference = make_array(12, 9, seed=40)
        array = make_array(12, 9, seed=41, reference=reference, forward_io=io,
                           backward_io=io.replace(bound_management="none"), update=UpdateConfig(kernel=kernel))
        g = torch.Generator().manual_seed(42)
        x = torch.randn(7, 9, generator=g) * 3
        d = torch.randn(7, 12, generator=g)
        with torch.no_grad():
            y_grad = array.forward(x.clone().requires_grad_(True))
        results.append((array.forward(x), array.backward(d), array.forward(x[0]), y_grad,
                        array.generator.get_state()))
    for expected, got in zip(*results):
        assert torch.equal(expected, got)
