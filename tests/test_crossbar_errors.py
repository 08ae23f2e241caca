"""Bad input to the crossbar layer raises ConfigError naming the parameter and its valid range,
before any state changes (DESIGN.md §3 "Parameters"; errors.py)."""

from __future__ import annotations

import math

import pytest
import torch

from analogtrain.config import Config
from analogtrain.crossbar import CrossbarArray, IOConfig, UpdateConfig, calibrate_symmetry_point
from analogtrain.devices import SoftBoundsDevice
from analogtrain.errors import ConfigError

DEVICE = SoftBoundsDevice(dw_min=0.01, dw_min_std=0.3, dw_min_dtod=0.2)
OUT, IN = 5, 7


def noisy_array(strategy: str = "auto") -> CrossbarArray:
    array = CrossbarArray(OUT, IN, DEVICE, update=UpdateConfig(strategy=strategy), forward_io=IOConfig.preset(), seed=3)
    array.program(torch.full((OUT, IN), 0.1))
    return array


def snapshot(array: CrossbarArray) -> dict:
    return {
        "conductance": array.conductance.clone(),
        "params": {k: v.clone() for k, v in array.params.items()},
        "generator": array.generator.get_state().clone(),
        "operations": array.operations.as_dict(),
    }


def assert_unchanged(array: CrossbarArray, before: dict) -> None:
    assert torch.equal(array.conductance, before["conductance"])
    assert all(torch.equal(array.params[k], v) for k, v in before["params"].items())
    assert torch.equal(array.generator.get_state(), before["generator"])
    assert array.operations.as_dict() == before["operations"]


# ---------------------------------------------------------------------------------------------
# Configuration values


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bl": 0}, r"bl .*\[1, 4096\].*0"),
        ({"bl": -3}, r"bl .*\[1, 4096\]"),
        ({"bl": 5000}, r"bl .*\[1, 4096\]"),
        ({"bl": 2.5}, r"bl .*integer"),
        ({"strategy": "fast"}, r"strategy .*\['auto', 'exact', 'trains', 'moments', 'none'\].*'fast'"),
        ({"kernel": "gpu"}, r"kernel .*\['auto', 'torch'\].*'gpu'"),
    ],
)
def test_update_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        UpdateConfig(**kwargs)


@pytest.mark.parametrize("mode, strategy", [("aggregate", "auto"), ("per-sample", "trains"), ("exact", "exact"),
                                            ("none", "none")])
def test_saved_update_modes_of_earlier_versions_load_as_their_strategy(mode, strategy):
    assert UpdateConfig.from_dict({"bl": 9, "mode": mode}) == UpdateConfig(bl=9, strategy=strategy)
    with pytest.raises(ConfigError, match=r"update\.mode must be one of"):
        UpdateConfig.from_dict({"mode": "fast"}, "update")
    with pytest.raises(ConfigError, match=r"either 'mode'.*or 'strategy'"):
        UpdateConfig.from_dict({"mode": "exact", "strategy": "exact"})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"inp_res": -0.1}, r"inp_res .*\[0\.0, 1\.0\]"),
        ({"out_res": 1.5}, r"out_res .*\[0\.0, 1\.0\]"),
        ({"inp_res": math.nan}, r"inp_res"),
        ({"inp_bound": 0.0}, r"inp_bound .*\(0\.0, inf\]"),
        ({"out_bound": -1.0}, r"out_bound .*\(0\.0, inf\]"),
        ({"out_bound": math.nan}, r"out_bound"),
        ({"out_noise": -0.06}, r"out_noise .*\[0\.0, inf\]"),
        ({"out_noise": math.inf}, r"out_noise .*finite"),
        ({"noise_management": "max"}, r"noise_management .*\['none', 'abs_max'\]"),
        ({"bound_management": "shift"}, r"bound_management .*\['none', 'iterative'\]"),
        ({"max_bm_factor": 0}, r"max_bm_factor .*\[1, "),
    ],
)
def test_io_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        IOConfig(**kwargs)


def test_configs_from_dict_and_replace_validate():
    with pytest.raises(ConfigError, match=r"bl .*\[1, 4096\]"):
        UpdateConfig.from_dict({"bl": 0})
    with pytest.raises(ConfigError, match=r"unknown key"):
        IOConfig.from_dict({"out_noize": 0.1})
    with pytest.raises(ConfigError, match=r"out_noise"):
        IOConfig.preset().replace(out_noise=-1.0)
    with pytest.raises(ConfigError, match=r"unknown parameter"):
        UpdateConfig().replace(bitlength=3)
    # Round trip of valid configs is one-to-one.
    for config in (UpdateConfig(bl=7, strategy="exact"), IOConfig.preset(), IOConfig()):
        assert type(config).from_dict(config.to_dict()) == config
        assert isinstance(config, Config)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 4), {}, r"out_features .*\[1, "),
        ((4, -1), {}, r"in_features .*\[1, "),
        ((4, 4.0), {}, r"in_features .*integer"),
        ((4, 4), {"device": "soft-bounds"}, r"device must be a PulsedDevice"),
    ],
)
def test_array_constructor_rejects_bad_values(args, kwargs, match):
    kwargs = {"device": DEVICE, **kwargs}
    with pytest.raises(ConfigError, match=match):
        CrossbarArray(*args, kwargs.pop("device"), **kwargs)


# ---------------------------------------------------------------------------------------------
# Reads and updates: nothing changes on a rejected call


BAD_VECTORS = {
    "nan": lambda n: torch.tensor([math.nan] + [0.1] * (n - 1)),
    "inf": lambda n: torch.tensor([0.1] * (n - 1) + [math.inf]),
    "-inf": lambda n: torch.tensor([-math.inf] * n),
}


@pytest.mark.parametrize("bad", sorted(BAD_VECTORS))
@pytest.mark.parametrize("strategy", ["exact", "trains", "moments", "auto", "none"])
def test_non_finite_inputs_are_rejected_before_any_change(bad, strategy):
    array = noisy_array(strategy)
    before = snapshot(array)
    good_x, good_d = torch.full((2, IN), 0.5), torch.full((2, OUT), 0.5)
    bad_x = torch.stack([good_x[0], BAD_VECTORS[bad](IN)])
    bad_d = torch.stack([BAD_VECTORS[bad](OUT), good_d[1]])
    with pytest.raises(ConfigError, match=r"^x .*finite"):
        array.forward(bad_x)
    with pytest.raises(ConfigError, match=r"^d .*finite"):
        array.backward(bad_d)
    with pytest.raises(ConfigError, match=r"^x .*finite"):
        array.pulse_update(bad_x, good_d, 0.01)
    with pytest.raises(ConfigError, match=r"^d .*finite"):
        array.pulse_update(good_x, bad_d, 0.01)
    assert_unchanged(array, before)
    # The same calls with good data do change the state (the checks above are not vacuous).
    array.forward(good_x)
    array.pulse_update(good_x, good_d, 0.01)
    assert not torch.equal(array.conductance, before["conductance"])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a: a.forward(torch.zeros(2, IN + 1)), r"^x .*last dimension 7.*\(2, 8\)"),
        (lambda a: a.forward(torch.zeros(2, 3, IN)), r"^x .*2 dimensions"),
        (lambda a: a.forward([0.0] * IN), r"^x .*torch\.Tensor"),
        (lambda a: a.backward(torch.zeros(2, IN)), r"^d .*last dimension 5"),
        (lambda a: a.pulse_update(torch.zeros(2, OUT), torch.zeros(2, OUT), 0.1), r"^x .*last dimension 7"),
        (lambda a: a.pulse_update(torch.zeros(2, IN), torch.zeros(2, IN), 0.1), r"^d .*last dimension 5"),
        (lambda a: a.pulse_update(torch.ones(3, IN), torch.ones(2, OUT), 0.1), r"same batch size.*3 and 2"),
        (lambda a: a.program(torch.zeros(IN, OUT)), r"target must have shape \(5, 7\)"),
        (lambda a: a.program(torch.zeros(OUT, IN), programming_error=-0.1), r"programming_error .*\[0\.0, inf\]"),
        (lambda a: a.set_weight(torch.full((OUT, IN), math.nan)), r"weight .*finite"),
        (lambda a: a.pulse_all(0), r"direction must be \+1 or −1"),
        (lambda a: calibrate_symmetry_point(a, pairs=0), r"pairs .*\[1, "),
        (lambda a: calibrate_symmetry_point(a, pairs=10, programming_error=-1.0), r"programming_error"),
        (lambda a: calibrate_symmetry_point(a, pairs=10, blocks=0), r"blocks .*\[1, "),
    ],
)
def test_bad_shapes_and_arguments_are_rejected_before_any_change(call, match):
    array = noisy_array()
    before = snapshot(array)
    with pytest.raises(ConfigError, match=match):
        call(array)
    assert_unchanged(array, before)


@pytest.mark.parametrize("lr", [-0.01, -1e-12, math.nan, math.inf, "0.1", None])
@pytest.mark.parametrize("strategy", ["exact", "auto", "none"])
def test_bad_learning_rate_is_rejected_before_any_change(lr, strategy):
    array = noisy_array(strategy)
    before = snapshot(array)
    with pytest.raises(ConfigError, match=r"^lr .*finite number ≥ 0"):
        array.pulse_update(torch.full((2, IN), 0.5), torch.full((2, OUT), 0.5), lr)
    assert_unchanged(array, before)


def test_load_state_dict_rejects_a_state_of_another_shape():
    array = noisy_array()
    other = CrossbarArray(IN, OUT, DEVICE, seed=1)
    before = snapshot(array)
    with pytest.raises(ConfigError, match=r"array shape \(7, 5\).*\(5, 7\)"):
        array.load_state_dict(other.state_dict())
    assert_unchanged(array, before)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
