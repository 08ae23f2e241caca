"""Acceptance 1: with ideal I/O and floating-point updates (update mode "none"), the analog layers
give the same outputs, input gradients and weight updates as torch.nn.Linear / Conv2d / LSTM.

In this setting every analog read is the exact product ``W x`` and the update is exactly
``W ← W − lr·δᵀx``, so the only differences come from float32 summation order: a sum of n
terms carries a relative rounding error up to ~n·2⁻²⁴ ≈ n·6e-8; with n ≤ a few hundred here
(patches × kernel entries, time steps × gates) that is ≤ ~1e-4 relative (RTOL), and 2e-5
absolute for values near zero (ATOL).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from analogtrain.algorithms.sgd import AnalogSGDConfig
from analogtrain.crossbar.update import UpdateConfig
from analogtrain.devices.constant_step import ConstantStepDevice
from analogtrain.nn import AnalogConv2d, AnalogLinear, AnalogLSTM, AnalogSGD, convert


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one intra-op thread is faster, and immune to oversubscribed CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


ATOL = 2e-5
RTOL = 1e-4
LR = 0.1
#: Wide bounds so that programming never clips; mode "none" is the exact float update.
EXACT = AnalogSGDConfig(device=ConstantStepDevice(w_min=-10.0, w_max=10.0), update=UpdateConfig(strategy="none"))


def _compare_step(torch_module, analog_module, make_input, weights, loss_fn=lambda y: (y**2).sum()):
    """Forward, backward and one SGD step on both; compare outputs, grads and new weights."""
    x1 = make_input().requires_grad_(True)
    x2 = x1.detach().clone().requires_grad_(True)
    y1, y2 = torch_module(x1), analog_module(x2)
    out1 = y1[0] if isinstance(y1, tuple) else y1
    out2 = y2[0] if isinstance(y2, tuple) else y2
    torch.testing.assert_close(out2, out1, atol=ATOL, rtol=RTOL)
    reference = torch.optim.SGD(torch_module.parameters(), lr=LR)
    optimizer = AnalogSGD(analog_module, lr=LR)
    reference.zero_grad()
    optimizer.zero_grad()
    loss_fn(out1).backward()
    loss_fn(out2).backward()
    torch.testing.assert_close(x2.grad, x1.grad, atol=ATOL, rtol=RTOL)
    reference.step()
    optimizer.step()
    for analog_weight, torch_weight in weights():
        torch.testing.assert_close(analog_weight, torch_weight.detach(), atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("bias", ["digital", "analog"])
def test_linear_matches_torch(bias):
    torch.manual_seed(0)
    reference = nn.Linear(7, 5)
    analog = AnalogLinear.from_linear(reference, EXACT, bias=bias)

    def weights():
        pairs = [(analog.weight, reference.weight)]
        pairs.append((analog.bias if bias == "digital" else analog.analog_bias(), reference.bias))
        return pairs

    _compare_step(reference, analog, lambda: torch.randn(6, 7), weights)
    # a second step from the updated weights, with a 3-d input
    _compare_step(reference, analog, lambda: torch.randn(2, 3, 7), weights)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=(3, 2), stride=2, padding=(0, 1), dilation=(1, 2)),
        dict(kernel_size=3, padding="same", padding_mode="reflect"),
    ],
)
def test_conv2d_matches_torch(kwargs):
    torch.manual_seed(1)
    reference = nn.Conv2d(3, 4, **kwargs)
    analog = AnalogConv2d.from_conv2d(reference, EXACT)

    def weights():
        return [(analog.weight, reference.weight), (analog.bias, reference.bias)]

    _compare_step(reference, analog, lambda: torch.randn(2, 3, 7, 6), weights)
    _compare_step(reference, analog, lambda: torch.randn(2, 3, 7, 6), weights)


def test_conv2d_analog_bias_matches_torch():
    torch.manual_seed(2)
    reference = nn.Conv2d(2, 3, 3)
    analog = AnalogConv2d.from_conv2d(reference, EXACT, bias="analog")
    _compare_step(reference, analog, lambda: torch.randn(3, 2, 5, 5),
                  lambda: [(analog.weight, reference.weight), (analog.analog_bias(), reference.bias)])


def _lstm_weights(analog: AnalogLSTM, reference: nn.LSTM):
    pairs = []
    for k, layer in enumerate(analog.layers):
        expected = torch.cat([getattr(reference, f"weight_ih_l{k}"), getattr(reference, f"weight_hh_l{k}")], 1)
        pairs.append((layer.weight, expected))
        pairs.append((layer.bias_ih, getattr(reference, f"bias_ih_l{k}")))
        pairs.append((layer.bias_hh, getattr(reference, f"bias_hh_l{k}")))
    return pairs


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_matches_torch(batch_first):
    torch.manual_seed(3)
    reference = nn.LSTM(5, 6, num_layers=2, batch_first=batch_first)
    analog = AnalogLSTM.from_lstm(reference, EXACT)
    shape = (3, 8, 5) if batch_first else (8, 3, 5)

    def loss_fn(y):
        return (y * torch.linspace(-1, 1, y.shape[-1])).sum() + (y**2).sum()

    for _ in range(2):
        _compare_step(reference, analog, lambda: torch.randn(*shape), lambda: _lstm_weights(analog, reference),
                      loss_fn)


def test_lstm_state_gradients_match_torch():
    """Initial states in, final states out: gradients w.r.t. h0 and c0 and of (h_n, c_n)."""
    torch.manual_seed(4)
    reference = nn.LSTM(4, 3, num_layers=2)
    analog = AnalogLSTM.from_lstm(reference, EXACT)
    x = torch.randn(5, 2, 4)
    h0 = torch.randn(2, 2, 3)
    c0 = torch.randn(2, 2, 3)
    results = []
    for module in (reference, analog):
        states = [t.clone().requires_grad_(True) for t in (x, h0, c0)]
        out, (h, c) = module(states[0], (states[1], states[2]))
        (out.sum() + (h**2).sum() + (c**3).sum()).backward()
        results.append([out, h, c] + [s.grad for s in states])
    for a, b in zip(results[1], results[0]):
        torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL)


def test_lstm_analog_bias_and_unbatched():
    torch.manual_seed(5)
    reference = nn.LSTM(3, 4)
    analog = AnalogLSTM.from_lstm(reference, EXACT, bias="analog")
    x = torch.randn(6, 3)  # unbatched
    torch.testing.assert_close(analog(x)[0], reference(x)[0], atol=ATOL, rtol=RTOL)
    bias = analog.layers[0].tile.weight[:, -1]
    torch.testing.assert_close(bias, (reference.bias_ih_l0 + reference.bias_hh_l0).detach())


def test_lstm_dropout_between_layers_uses_torch_rng():
    """Same global seed, same dropout masks: outputs match torch.nn.LSTM in training mode."""
    torch.manual_seed(6)
    reference = nn.LSTM(3, 4, num_layers=3, dropout=0.5)
    analog = AnalogLSTM.from_lstm(reference, EXACT)
    x = torch.randn(5, 2, 3)
    torch.manual_seed(7)
    a = analog(x)[0]
    torch.manual_seed(7)
    b = reference(x)[0]
    torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL)
    analog.eval()
    reference.eval()
    torch.testing.assert_close(analog(x)[0], reference(x)[0], atol=ATOL, rtol=RTOL)


def test_converted_model_trains_like_torch():
    """A whole converted model (conv + linear) follows torch SGD step by step."""
    torch.manual_seed(8)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4))
    analog = convert(model, EXACT)
    reference = copy.deepcopy(model)
    opt_ref = torch.optim.SGD(reference.parameters(), lr=LR)
    opt = AnalogSGD(analog.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    scheduler_ref = torch.optim.lr_scheduler.StepLR(opt_ref, step_size=1, gamma=0.5)
    for _ in range(3):
        x, y = torch.randn(8, 1, 6, 6), torch.randint(0, 4, (8,))
        for m, o in ((reference, opt_ref), (analog, opt)):
            o.zero_grad()
            nn.functional.cross_entropy(m(x), y).backward()
            o.step()
        scheduler.step()
        scheduler_ref.step()
    torch.testing.assert_close(analog[0].weight, reference[0].weight.detach(), atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(analog[3].weight, reference[3].weight.detach(), atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(analog[3].bias, reference[3].bias, atol=ATOL, rtol=RTOL)


def test_gradient_clipping_matches_torch():
    """clip_grad_norm_ counts the analog gradients Σ δᵀx and scales them like torch's."""
    torch.manual_seed(9)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    analog = convert(model, EXACT, overrides={"2": None})  # one analog and one digital Linear
    reference = copy.deepcopy(model)
    opt_ref = torch.optim.SGD(reference.parameters(), lr=LR)
    opt = AnalogSGD(analog, lr=LR)
    x = 3.0 * torch.randn(8, 5)
    norms = []
    for m, o in ((reference, opt_ref), (analog, opt)):
        o.zero_grad()
        (m(x) ** 2).sum().backward()
        if o is opt:
            norms.append(o.clip_grad_norm_(0.5))
        else:
            norms.append(float(torch.nn.utils.clip_grad_norm_(m.parameters(), 0.5)))
        o.step()
    assert norms[0] > 0.5  # clipping is active
    assert norms[1] == pytest.approx(norms[0], rel=1e-5)
    torch.testing.assert_close(analog[0].weight, reference[0].weight.detach(), atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(analog[2].weight, reference[2].weight, atol=ATOL, rtol=RTOL)


def test_lstm_exact_reads_match_its_analog_reads():
    """With an ideal periphery the LSTM's reads are plain products with the visible weight; forced
    through the arrays' own reads instead, the outputs, gradients, pending update and read counts
    must be the same (up to float32 summation order)."""
    torch.manual_seed(4)
    reference = nn.LSTM(5, 6, num_layers=2)
    layers = [AnalogLSTM.from_lstm(reference, EXACT) for _ in range(2)]
    for tile in (m for m in layers[1].modules() if hasattr(m, "algorithm")):
        assert tile.algorithm.exact_read_arrays() is not None
        tile.algorithm.exact_read_arrays = lambda: None  # the analog-read path
    x = torch.randn(7, 3, 5)
    results = []
    for layer in layers:
        xi = x.clone().requires_grad_(True)
        out, _ = layer(xi)
        (out * torch.linspace(-1, 1, 6)).sum().backward()
        tiles = [m for m in layer.modules() if hasattr(m, "algorithm")]
        pending = [pair for tile in tiles for pair in tile._pending.pairs]
        counts = [(a.operations.forward_reads, a.operations.backward_reads)
                  for tile in tiles for a in tile.algorithm.arrays().values()]
        results.append((out.detach(), xi.grad, pending, counts))
    (out0, gx0, pending0, counts0), (out1, gx1, pending1, counts1) = results
    torch.testing.assert_close(out0, out1, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(gx0, gx1, atol=ATOL, rtol=RTOL)
    assert len(pending0) == len(pending1) == 2
    for (x0, d0), (x1, d1) in zip(pending0, pending1):
        torch.testing.assert_close(x0, x1, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(d0, d1, atol=ATOL, rtol=RTOL)
    assert counts0 == counts1 and any(c != (0, 0) for c in counts0)


@pytest.mark.parametrize("input_grad", [True, False])
def test_lstm_with_the_preset_periphery_is_the_same_with_and_without_compiled_reads(input_grad, monkeypatch):
    """The preset periphery (bound management forward, none backward) through a 2-layer LSTM:
    the compiled reads (crossbar/read_compiled.py) give the tensor code's outputs, input gradients,
    pending updates and generator states bit for bit; and a pass without autograd (the
    sequence loop that keeps no per-step state) gives the same outputs from the same states."""
    from analogtrain.crossbar import IOConfig, UpdateConfig

    forward_io = IOConfig.preset().replace(out_bound=1.0)  # low: bound management reads again
    config = AnalogSGDConfig(device=ConstantStepDevice(w_min=-1.0, w_max=1.0), forward_io=forward_io,
                             backward_io=forward_io.replace(bound_management="none"))
    torch.manual_seed(5)
    reference = nn.LSTM(9, 8, num_layers=2)
    x = torch.randn(6, 4, 9) * 3
    results = []
    for kernel in ("torch", "auto"):
        layer = AnalogLSTM.from_lstm(reference, config.replace(update=UpdateConfig(kernel=kernel)))
        tiles = [m for m in layer.modules() if hasattr(m, "algorithm")]
        states = [tile.algorithm.main.generator.get_state() for tile in tiles]
        with torch.no_grad():
            inference, _ = layer(x)
        for tile, state in zip(tiles, states):
            tile.algorithm.main.generator.set_state(state)
        xi = x.clone().requires_grad_(input_grad)
        out, (h, c) = layer(xi)
        (out * torch.linspace(-1, 1, 8)).sum().backward()
        assert torch.equal(inference, out.detach())
        pending = [t for tile in tiles for pair in tile._pending.pairs for t in pair]
        gens = [tile.algorithm.main.generator.get_state() for tile in tiles]
        results.append([out.detach(), h.detach(), c.detach(), *pending, *gens]
                       + ([xi.grad] if input_grad else []))
        assert (xi.grad is not None) == input_grad
    assert len(results[0]) == len(results[1])
    for expected, got in zip(*results):
        assert torch.equal(expected, got)
