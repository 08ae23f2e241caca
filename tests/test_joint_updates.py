"""Pulse updates of several arrays applied together (crossbar.array.pulse_update_arrays, the
optimizer's lockstep run of all layers' update steps) give the same result, bit for bit, as
updating the arrays one by one: every array draws from its own generator, and the closed-form
device response is elementwise with one normal draw per device."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from analogtrain.algorithms import AnalogSGDConfig, SHDConfig, TikiTakaConfig
from analogtrain.crossbar import CrossbarArray, PulseWrite, UpdateConfig, pulse_update_arrays
from analogtrain.devices import AffineStepDevice, ConstantStepDevice, ExpStepDevice, SoftBoundsDevice
from analogtrain.devices import affine, kernels
from analogtrain.nn import AnalogSGD, convert

SOFT = SoftBoundsDevice(dw_min=0.001, w_max=0.6, w_min=-0.6, dw_min_dtod=0.3, dw_min_std=0.3, w_max_dtod=0.3,
                        w_min_dtod=0.3, up_down_dtod=0.01)


def _arrays(device, seed: int, kernel: str = "auto") -> list[CrossbarArray]:
    """Arrays of different shapes and pulse densities: a large sparse one, a small dense one and a
    medium one, each with its own seed; started away from zero."""
    arrays = []
    for i, (out, inp) in enumerate([(64, 200), (4, 6), (32, 48)]):
        array = CrossbarArray(out, inp, device, seed=seed + i, update=UpdateConfig(kernel=kernel))
        array.program(torch.empty(out, inp).uniform_(-0.3, 0.3, generator=torch.Generator().manual_seed(seed + 10 + i)))
        arrays.append(array)
    return arrays


def _writes(arrays: list[CrossbarArray], seed: int) -> list[PulseWrite]:
    g = torch.Generator().manual_seed(seed)
    big, small, medium = arrays
    return [
        PulseWrite(big, torch.randn(16, 64, generator=g) * 0.0002, 0.05, x=torch.rand(16, 200, generator=g)),
        PulseWrite(small, torch.randn(8, 4, generator=g), 0.5, x=torch.rand(8, 6, generator=g) * 2 - 1),
        PulseWrite(medium, torch.randn(3, 32, generator=g) * 0.3, 0.2, columns=torch.tensor([5, 17, 40])),
    ]


def _state(array: CrossbarArray):
    return array.conductance.clone(), array.generator.get_state(), array.operations.as_dict()


@pytest.mark.parametrize("device", [SOFT, SOFT.replace(dw_min_std=0.0), ExpStepDevice(dw_min=0.01, dw_min_std=0.2)],
                         ids=["soft-bounds", "soft-bounds-no-c2c", "exp-step"])
@pytest.mark.parametrize("kernel", ["auto", "torch"])
def test_joint_writes_equal_one_by_one(device, kernel):
    """The same writes, jointly and one at a time, leave the same conductances, generator states
    and operation counts; this holds whether the device model is applied in one call (affine with
    cycle-to-cycle noise) or array by array (the others), with the compiled loops (the CPU
    default) and with the tensor code."""
    joint, single = _arrays(device, 3, kernel), _arrays(device, 3, kernel)
    start = [array.conductance.clone() for array in joint]
    for round_seed in range(4):
        pulses = pulse_update_arrays(_writes(joint, 100 + round_seed))
        expected = []
        for write in _writes(single, 100 + round_seed):
            if write.columns is None:
                expected.append(write.array.pulse_update(write.x, write.d, write.lr))
            else:
                expected.append(write.array.pulse_update_columns(write.columns, write.d, write.lr))
        assert pulses == expected
        if round_seed == 0:
            # The large array is in the sparse regime (few pulsed devices), the small one dense.
            changed = [int((a.conductance != s).sum()) / s.numel() for a, s in zip(joint, start)]
            assert 0 < changed[0] < 0.3 < changed[1]
    assert sum(pulses) > 0
    for a, b in zip(joint, single):
        (ga, sa, oa), (gb, sb, ob) = _state(a), _state(b)
        assert torch.equal(ga, gb) and torch.equal(sa, sb) and oa == ob


def test_joint_application_is_used_for_affine_devices_with_noise(monkeypatch):
    """With equal affine devices (cycle-to-cycle noise on) the tensor response is computed once
    per round (the compiled loops, the CPU default, write each array in place instead: next test)."""
    calls = []
    original = SoftBoundsDevice.apply_pulses

    def counting(self, *args, **kwargs):
        calls.append(args[0].numel())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SoftBoundsDevice, "apply_pulses", counting)
    arrays = _arrays(SOFT, 5, kernel="torch")
    pulse_update_arrays(_writes(arrays, 7))
    assert len(calls) == 1



def test_compiled_response_writes_every_array_in_place(monkeypatch):
    """On CPU the affine devices' compiled response takes all arrays of a round in one call and
    writes their listed devices in place, array by array (no gathered copy goes through
    ``apply_pulses``)."""
    calls, gathered = [], []
    original = kernels.affine_in_place

    def counting(device, weights, *args):
        calls.append(weights.numel())
        return original(device, weights, *args)

    monkeypatch.setitem(kernels._KERNELS, AffineStepDevice, counting)
    monkeypatch.setattr(affine, "affine_response", lambda *args, **kwargs: gathered.append(1))
    arrays = _arrays(SOFT, 5)
    before = [array.conductance.clone() for array in arrays]
    conductances = [array.conductance for array in arrays]
    pulse_update_arrays(_writes(arrays, 7))
    assert calls == [array.conductance.numel() for array in arrays] and not gathered
    assert all(array.conductance is tensor for array, tensor in zip(arrays, conductances))  # in place
    assert all(not torch.equal(array.conductance, start) for array, start in zip(arrays, before))


def test_write_to_the_same_array_twice_applies_in_order():
    """Two writes to one array in one call: the second sees the first (as two calls would)."""
    device = ConstantStepDevice(dw_min=0.01, w_max=1.0, w_min=-1.0)
    a = CrossbarArray(2, 3, device, update=UpdateConfig(strategy="none"), seed=0)
    b = CrossbarArray(2, 3, device, update=UpdateConfig(strategy="none"), seed=0)
    x, d = torch.ones(1, 3), torch.ones(1, 2)
    pulse_update_arrays([PulseWrite(a, d, 0.1, x=x), PulseWrite(a, d, 0.2, x=x)])
    b.pulse_update(x, d, 0.1)
    b.pulse_update(x, d, 0.2)
    assert torch.equal(a.conductance, b.conductance)
    assert torch.allclose(a.conductance, torch.full((2, 3), -0.3))


@pytest.mark.parametrize("config", [
    AnalogSGDConfig(device=SOFT),
    SHDConfig(device_a=SOFT, device_c=SOFT),
    TikiTakaConfig(device_a=SOFT, device_c=SOFT, columns_per_transfer=3, transfer_every=2),
], ids=["sgd", "shd", "tiki-taka"])
def test_optimizer_step_equals_layer_by_layer_updates(config):
    """AnalogSGD.step runs all layers' update steps in lockstep; the network ends exactly where
    applying every layer's update on its own (tile.apply_update, one after the other) leaves it."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.Sigmoid(), nn.Linear(16, 12), nn.Sigmoid(), nn.Linear(12, 4))
    joint = convert(model, config)
    single = copy.deepcopy(joint)
    g = torch.Generator().manual_seed(1)
    batches = [(torch.rand(8, 20, generator=g), torch.randint(0, 4, (8,), generator=g)) for _ in range(5)]
    joint_optimizer, single_optimizer = AnalogSGD(joint, lr=0.1), AnalogSGD(single, lr=0.1)
    tiles = [m for m in single.modules() if hasattr(m, "update_steps")]
    assert len(tiles) == 3
    for x, y in batches:
        for net, optimizer in ((joint, joint_optimizer), (single, single_optimizer)):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
        joint_optimizer.step()
        for tile in tiles:
            tile.apply_update(0.1)
        for p in single.parameters():  # the digital biases, as the optimizer would
            if p.grad is not None:
                p.data.add_(p.grad, alpha=-0.1)
    joint_state, single_state = joint.state_dict(), single.state_dict()
    assert joint_state.keys() == single_state.keys()
    changed = 0
    for key, value in joint_state.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, single_state[key]), key
    for tile_joint, tile_single in zip([m for m in joint.modules() if hasattr(m, "update_steps")], tiles):
        for name, array in tile_joint.algorithm.arrays().items():
            other = tile_single.algorithm.arrays()[name]
            assert torch.equal(array.conductance, other.conductance), name
            assert torch.equal(array.generator.get_state(), other.generator.get_state()), name
            changed += int(array.operations.device_pulses > 0)
    assert changed >= 3  # the updates did pulse the arrays
