"""Caches and shortcuts of the crossbar layer never change results.

* the differential weight ``G − G_ref`` is cached until either conductance changes (replaced or
  modified in place);
* the stacked per-device parameters follow replacements and in-place edits of ``params``;
* inside :func:`checked_inputs` reads skip only the NaN scan; outside it bad input is refused.
"""

from __future__ import annotations

import pytest
import torch

from analogtrain.crossbar import CrossbarArray
from analogtrain.crossbar.checks import checked_inputs
from analogtrain.devices import SoftBoundsDevice
from analogtrain.errors import ConfigError

DEVICE = SoftBoundsDevice(dw_min=0.01, w_max=1.0, w_min=-1.0, dw_min_dtod=0.2)


def make_pair():
    reference = CrossbarArray(4, 5, DEVICE, seed=1)
    main = CrossbarArray(4, 5, DEVICE, seed=2, reference=reference)
    main.program(torch.full((4, 5), 0.3))
    reference.program(torch.full((4, 5), 0.1))
    return main, reference


def test_cached_weight_follows_every_change_of_either_array():
    main, reference = make_pair()
    assert torch.allclose(main.weight, torch.full((4, 5), 0.2))
    reference.conductance.add_(0.05)  # in place
    assert torch.allclose(main.weight, torch.full((4, 5), 0.15))
    main.conductance = main.conductance + 0.1  # replaced
    assert torch.allclose(main.weight, torch.full((4, 5), 0.25))
    main.pulse_update(torch.ones(1, 5), torch.ones(1, 4), 0.05)
    assert torch.equal(main.weight, main.conductance - reference.conductance)


def test_cached_weight_is_refreshed_where_a_sparse_write_changed_it():
    """A write that lists its devices (a sparse update, a one-column transfer) refreshes only
    those entries of a cached weight; the cache must still equal G − G_ref bit for bit, with
    cycle-to-cycle noise on, and the untouched entries must not move."""
    device = SoftBoundsDevice(dw_min=0.001, w_max=0.6, w_min=-0.6, dw_min_dtod=0.3, dw_min_std=0.3)
    reference = CrossbarArray(64, 300, device, seed=3)
    main = CrossbarArray(64, 300, device, seed=4, reference=reference)
    generator = torch.Generator().manual_seed(5)
    for step in range(6):
        before = main.weight.clone()
        assert main._weight_is_cached()
        if step % 2:
            column = torch.tensor([7 * step])
            main.pulse_update_columns(column, 0.3 * torch.randn(1, 64, generator=generator), 0.5)
        else:  # small mean-reduced errors: few devices get pulses, so they are listed
            x = torch.rand(8, 300, generator=generator)
            main.pulse_update(x, 0.001 * torch.randn(8, 64, generator=generator), 0.01)
        changed = main.weight != before
        assert 0 < int(changed.sum()) < 0.3 * changed.numel()
        assert torch.equal(main.weight, main.conductance - reference.conductance)


def test_stacked_parameters_follow_params():
    array = CrossbarArray(3, 4, DEVICE, seed=0)
    stacked = array._stacked_params()
    assert torch.equal(stacked[list(array.params).index("w_max")], array.params["w_max"].reshape(-1))
    array.params["w_max"].mul_(0.5)  # in place
    assert torch.equal(array._stacked_params()[list(array.params).index("w_max")], array.params["w_max"].reshape(-1))
    array.params = {**array.params, "w_min": array.params["w_min"] * 0.5}  # replaced
    assert torch.equal(array._stacked_params()[list(array.params).index("w_min")], array.params["w_min"].reshape(-1))


def test_checked_inputs_skips_only_the_nan_scan():
    array = CrossbarArray(3, 4, DEVICE, seed=0)
    bad = torch.tensor([[float("nan"), 0.0, 0.0, 0.0]])
    with pytest.raises(ConfigError, match="finite"):
        array.forward(bad)
    with checked_inputs():
        assert torch.isnan(array.forward(bad)).all()
        with pytest.raises(ConfigError, match="last dimension"):
            array.forward(torch.zeros(1, 5))
    with pytest.raises(ConfigError, match="finite"):
        array.backward(torch.tensor([[float("inf"), 0.0, 0.0]]))


def test_analog_lstm_refuses_nan_input():
    from analogtrain.algorithms import AnalogSGDConfig
    from analogtrain.nn import AnalogLSTM

    lstm = AnalogLSTM(3, 4, config=AnalogSGDConfig(device=DEVICE))
    x = torch.zeros(2, 5, 3)
    x[1, 2, 0] = float("nan")
    with pytest.raises(ConfigError, match="input must contain only finite"):
        lstm(x)
    with torch.no_grad(), pytest.raises(ConfigError, match="input must contain only finite"):
        lstm(x)
