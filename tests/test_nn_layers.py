"""Analog layers beyond exact equivalence: state dicts, conversion, the optimizer's contract."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from analogtrain.algorithms import AnalogSGDConfig, SHDConfig
from analogtrain.crossbar.update import UpdateConfig
from analogtrain.devices import ConstantStepDevice, SoftBoundsDevice
from analogtrain.errors import ConfigError
from analogtrain.nn import AnalogConv2d, AnalogLinear, AnalogLSTM, AnalogSGD, analog_tiles, convert


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one intra-op thread is faster, and immune to oversubscribed CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


NOISY = SoftBoundsDevice(dw_min=0.02, w_max=1.0, w_min=-1.0, dw_min_dtod=0.3, dw_min_std=0.3,
                         w_max_dtod=0.2, w_min_dtod=0.2, up_down_dtod=0.05)
SHD = SHDConfig(device_a=NOISY, device_c=NOISY, transfer_every=2)
EXACT = AnalogSGDConfig(device=ConstantStepDevice(w_min=-10.0, w_max=10.0), update=UpdateConfig(strategy="none"))


class Mixed(nn.Module):
    """Linear, Conv2d, LSTM and a non-convertible layer (LayerNorm), plus activations."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.norm = nn.LayerNorm(8)
        self.lstm = nn.LSTM(8, 5, batch_first=True)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(5, 3))

    def forward(self, x):  # x: (batch, 1, 6, 6)
        y = self.conv(x)  # (batch, 2, 4, 4)
        y = y.flatten(2).transpose(1, 2).reshape(x.shape[0], 4, 8)  # 4 steps of 8 features
        out, _ = self.lstm(self.norm(y))
        return self.head(out[:, -1])


def _step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def test_convert_replaces_exactly_linear_conv_lstm_and_trains():
    """Acceptance 4: three layers replaced, weights programmed, the rest untouched; it trains."""
    torch.manual_seed(0)
    model = Mixed()
    analog = convert(model, SHD, seed=3)
    assert type(analog.conv) is AnalogConv2d
    assert type(analog.lstm) is AnalogLSTM
    assert type(analog.head[1]) is AnalogLinear
    assert type(analog.norm) is nn.LayerNorm and type(analog.head[0]) is nn.ReLU
    # the original is not changed and the copy holds its own (equal) digital parameters
    assert type(model.conv) is nn.Conv2d and analog.norm is not model.norm
    torch.testing.assert_close(analog.norm.weight, model.norm.weight)
    # weights programmed from the original (SHD: C = C_main − A_ref, exact up to float rounding)
    torch.testing.assert_close(analog.conv.weight, model.conv.weight.detach(), atol=1e-6, rtol=0)
    torch.testing.assert_close(analog.head[1].weight, model.head[1].weight.detach(), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        analog.lstm.layers[0].weight, torch.cat([model.lstm.weight_ih_l0, model.lstm.weight_hh_l0], 1).detach(),
        atol=1e-6, rtol=0,
    )
    assert len(analog_tiles(analog)) == 3
    # trains with AnalogSGD: loss on a fixed batch falls, arrays receive pulses, norm is stepped
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(16, 1, 6, 6, generator=generator)
    y = torch.randint(0, 3, (16,), generator=generator)
    optimizer = AnalogSGD(analog, lr=1.0)
    norm_before = analog.norm.weight.detach().clone()
    losses = [_step(analog, optimizer, x, y) for _ in range(30)]
    assert losses[-1] < 0.8 * losses[0], losses
    assert not torch.equal(norm_before, analog.norm.weight)
    for tile in analog_tiles(analog):
        ops = tile.algorithm.operations()
        assert ops["updates"] == 30 and ops["transfers"] == 15 and ops["totals"]["device_pulses"] > 0


def test_convert_overrides_and_errors():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    analog = convert(model, SHD, overrides={"2": None})
    assert isinstance(analog[0], AnalogLinear) and type(analog[2]) is nn.Linear
    with pytest.raises(ConfigError, match="no convertible layer named"):
        convert(model, SHD, overrides={"7": None})
    with pytest.raises(ConfigError, match="groups=1"):
        convert(nn.Sequential(nn.Conv2d(2, 2, 3, groups=2)), SHD)
    with pytest.raises(ConfigError, match="bidirectional"):
        convert(nn.Sequential(nn.LSTM(2, 2, bidirectional=True)), SHD)


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("kind", ["linear", "conv", "lstm"])
def test_state_dict_roundtrip_continues_identically(kind):
    """Save mid-training, load into a fresh layer with another seed, continue: identical results.

    The state carries conductances of all arrays, per-device parameters, the transfer counter and
    column pointer and every generator, so the continued runs agree exactly.
    """
    torch.manual_seed(0)
    if kind == "linear":
        make = lambda seed: AnalogLinear(6, 4, SHD, seed=seed)  # noqa: E731
        x = torch.randn(5, 6)
    elif kind == "conv":
        make = lambda seed: AnalogConv2d(2, 3, 3, SHD, padding=1, seed=seed)  # noqa: E731
        x = torch.randn(2, 2, 4, 4)
    else:
        make = lambda seed: AnalogLSTM(3, 4, SHD, num_layers=2, dropout=0.3, seed=seed)  # noqa: E731
        x = torch.randn(5, 2, 3)

    def loss_of(module):
        out = module(x)
        out = out[0] if isinstance(out, tuple) else out
        return (out**2).mean()

    first = make(1)
    optimizer = AnalogSGD(first, lr=0.3)
    for _ in range(3):
        optimizer.zero_grad()
        loss_of(first).backward()
        optimizer.step()
    state = _roundtrip(first.state_dict())
    second = make(2)
    second.load_state_dict(state)
    for module in (first, second):
        torch.manual_seed(5)  # dropout draws from the global generator
        opt = AnalogSGD(module, lr=0.3)
        for _ in range(3):
            opt.zero_grad()
            loss_of(module).backward()
            opt.step()
    for a, b in zip(analog_tiles(first), analog_tiles(second)):
        assert torch.equal(a.weight, b.weight)
        for name, array in a.algorithm.arrays().items():
            assert torch.equal(array.conductance, b.algorithm.arrays()[name].conductance)
        assert a.algorithm.state_dict()["column_pointer"] == b.algorithm.state_dict()["column_pointer"]


def test_load_state_with_other_config_names_the_difference():
    layer = AnalogLinear(3, 2, SHD)
    other = AnalogLinear(3, 2, SHD.replace(transfer_every=3))
    with pytest.raises(ConfigError, match="transfer_every"):
        other.load_state_dict(layer.state_dict())


def test_optimizer_contract():
    """Pending updates: one batch per step, cleared by zero_grad, none in no_grad evaluation;
    the learning rate comes from the parameter group (schedulers work); digital params get SGD."""
    torch.manual_seed(0)
    layer = AnalogLinear(3, 2, EXACT)
    optimizer = AnalogSGD([{"params": list(layer.parameters()), "lr": 0.5}])
    x = torch.randn(4, 3)
    with torch.no_grad():
        layer(x)
    assert not layer.tile.has_pending
    before = layer.weight.clone()
    layer(x).sum().backward()
    layer(x).sum().backward()  # two backward passes accumulate, as gradients do
    optimizer.param_groups[0]["lr"] = 0.25
    optimizer.step()
    expected = before - 0.25 * 2 * torch.ones(2, 1) @ x.sum(0, keepdim=True)
    torch.testing.assert_close(layer.weight, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(layer.bias.grad, torch.full((2,), 8.0))
    layer(x).sum().backward()
    optimizer.zero_grad()
    assert not layer.tile.has_pending
    with pytest.raises(ConfigError, match="lr"):
        AnalogSGD(layer, lr=-1.0)


def test_arrays_cannot_silently_move():
    layer = AnalogLinear(3, 2, EXACT)
    layer.to("cpu")  # same place: fine
    with pytest.raises(ConfigError, match="torch_device"):
        layer.double()


def test_bad_layer_inputs():
    with pytest.raises(ConfigError, match="in_features"):
        AnalogLinear(0, 2, EXACT)
    with pytest.raises(ConfigError, match="last dimension 3"):
        AnalogLinear(3, 2, EXACT)(torch.randn(4, 5))
    with pytest.raises(ConfigError, match="bias"):
        AnalogLinear(3, 2, EXACT, bias="sometimes")
    with pytest.raises(ConfigError, match="dropout"):
        AnalogLSTM(3, 2, EXACT, dropout=1.5)
    with pytest.raises(ConfigError, match="padding_mode"):
        AnalogConv2d(1, 1, 3, EXACT, padding_mode="mirror")


def test_non_finite_gradients_are_refused_before_any_update():
    """A NaN output gradient is refused in the backward pass (named), and a pair added without
    the layers' check is scanned by the update: neither changes a conductance."""
    torch.manual_seed(0)
    layer = AnalogLinear(3, 2, SHD)
    optimizer = AnalogSGD(layer, lr=0.1)
    before = {name: array.conductance.clone() for name, array in layer.tile.algorithm.arrays().items()
              if array is not None}
    x = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(ConfigError, match="output gradient"):
        (layer(x) * torch.tensor(float("nan"))).sum().backward()
    optimizer.zero_grad()
    layer.tile.add_pending(torch.randn(4, 3), torch.full((4, 2), float("inf")))  # not marked checked
    assert not layer.tile.pending_checked
    with pytest.raises(ConfigError, match="finite"):
        optimizer.step()
    for name, array in layer.tile.algorithm.arrays().items():
        if array is not None:
            assert torch.equal(array.conductance, before[name]), name
    # Pairs from the layer's own backward pass are marked checked, and the step applies them.
    optimizer.zero_grad()
    layer(x).sum().backward()
    assert layer.tile.pending_checked
    optimizer.step()
    changed = layer.tile.algorithm.arrays()["A_main"].conductance
    assert not torch.equal(changed, before["A_main"])


@pytest.mark.parametrize("config", [SHD, SHDConfig(device_a=NOISY, device_c=NOISY, gamma=0.3), EXACT],
                         ids=["shd", "shd-gamma", "sgd"])
def test_exact_reads_match_the_analog_read_function(config):
    """With an ideal periphery a layer reads through ordinary autograd operations
    (``exact_read``); it must give what the custom function AnalogRead gives: the output, the
    input and bias gradients, the pending (x, δ) and the read counts of every array."""
    from analogtrain.nn.function import AnalogRead

    layers = []
    for _ in range(2):
        torch.manual_seed(0)
        layers.append(AnalogLinear(6, 4, config, seed=3))
        layers[-1].set_weights(0.3 * torch.randn(4, 6), torch.randn(4))  # C = 0 after calibration
    assert layers[0].tile.algorithm.exact_read_arrays() is not None
    x = torch.randn(5, 6)
    weights = torch.randn(4, 3)
    results = []
    for use_function, layer in zip((False, True), layers):
        xi = x.clone().requires_grad_(True)
        tile = layer.tile
        y = AnalogRead.apply(xi, tile.handle, tile, layer.bias) if use_function else layer(xi)
        assert (y.grad_fn.name() == "AnalogReadBackward") == use_function
        (torch.tanh(y) @ weights).sum().backward()
        (px, pd), = tile._pending.pairs
        counts = {name: (a.operations.forward_reads, a.operations.backward_reads)
                  for name, a in tile.algorithm.arrays().items()}
        results.append((y.detach(), xi.grad, layer.bias.grad, px, pd, counts, tile.pending_checked))
    (y0, gx0, gb0, px0, pd0, c0, k0), (y1, gx1, gb1, px1, pd1, c1, k1) = results
    assert float(gx0.abs().min()) > 0  # a real weight: every input gets a gradient
    torch.testing.assert_close(y0, y1, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gx0, gx1, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gb0, gb1, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(pd0, pd1, rtol=1e-6, atol=1e-6)
    assert torch.equal(px0, px1) and c0 == c1 and k0 and k1
    assert any(reads != (0, 0) for reads in c0.values())


def test_reads_through_a_non_ideal_periphery_use_the_analog_read_function():
    """Reads with converters or noise are not products with the weight: they stay analog reads."""
    from analogtrain.crossbar.io import IOConfig

    noisy = SHDConfig(device_a=NOISY, device_c=NOISY, forward_io=IOConfig.preset())
    layer = AnalogLinear(6, 4, noisy)
    assert layer.tile.algorithm.exact_read_arrays() is None
    y = layer(torch.randn(5, 6, requires_grad=True))
    assert y.grad_fn.name() == "AnalogReadBackward"
