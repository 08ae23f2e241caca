"""Every pulse-update strategy and the reads on CUDA tensors, with the semantics they have on CPU
(marked ``cuda``: skipped without a CUDA device; ``benchmarks/gpu_check.py`` runs them)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from analogtrain.algorithms import AnalogSGDConfig, SHDConfig
from analogtrain.crossbar import CrossbarArray, IOConfig, UpdateConfig
from analogtrain.crossbar.update import draw_trains, listed_coincidences, pulse_probabilities, train_products
from analogtrain.devices import ConstantStepDevice, SoftBoundsDevice
from analogtrain.nn import AnalogSGD, convert

pytestmark = pytest.mark.cuda
SOFT = SoftBoundsDevice(dw_min=0.001, dw_min_dtod=0.3, dw_min_std=0.3, w_max_dtod=0.1, w_min_dtod=0.1)


@pytest.mark.parametrize("strategy", ["exact", "trains", "moments", "auto", "none"])
def test_constant_step_mean_update_on_cuda(strategy):
    """E[ΔW] = −η δ xᵀ within 5 standard errors per device (constant steps, no noise), every
    strategy, on CUDA tensors."""
    device = ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)
    g = torch.Generator().manual_seed(1)
    x, d = torch.rand(4, 6, generator=g) * 2 - 1, torch.randn(4, 5, generator=g) * 0.3
    lr, reps = 0.01, 300
    array = CrossbarArray(5, 6, device, seed=2, torch_device="cuda", update=UpdateConfig(strategy=strategy))
    deltas = []
    for _ in range(reps):
        array.conductance = torch.zeros(5, 6, device="cuda")
        array.pulse_update(x.cuda(), d.cuda(), lr)
        deltas.append(array.conductance.double().cpu())
    deltas = torch.stack(deltas)
    expected = -lr * d.double().T @ x.double()
    if strategy == "none":
        assert torch.allclose(deltas[0], expected, atol=1e-6)
        return
    se = deltas.std(0) / math.sqrt(reps) + 1e-9
    assert float(((deltas.mean(0) - expected) / se).abs().max()) < 5


def test_trains_counts_agree_on_cuda():
    """Listing and train products give the same counts on CUDA (the tensor listing)."""
    g = torch.Generator(device="cuda").manual_seed(3)
    x = torch.rand(16, 90, device="cuda", generator=g) * 2 - 1
    d = torch.randn(16, 40, device="cuda", generator=g) * 0.01
    prob = pulse_probabilities(x, d, 0.02, 0.001, UpdateConfig())
    trains = draw_trains(prob, g)
    n_up, n_down = train_products(trains, prob)
    listed = listed_coincidences(trains, prob)
    assert listed.pulses == float(n_up.sum() + n_down.sum()) > 0
    assert torch.equal(listed.n_up, n_up.reshape(-1)[listed.index])


def test_integer_k_is_deterministic_on_cuda():
    device = ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)
    array = CrossbarArray(5, 6, device, seed=0, torch_device="cuda")
    assert array.pulse_update(torch.full((3, 6), 0.2, device="cuda"), torch.full((3, 5), -0.2, device="cuda"), 0.1) == 360
    assert torch.allclose(array.conductance.cpu(), torch.full((5, 6), 0.012), rtol=1e-6, atol=0)


@pytest.mark.parametrize("config", [AnalogSGDConfig(device=SOFT, forward_io=IOConfig.preset()),
                                    SHDConfig(device_a=SOFT, device_c=SOFT, forward_io=IOConfig.preset())],
                         ids=["sgd", "shd"])
def test_a_converted_network_trains_on_cuda(config):
    torch.manual_seed(0)
    model = convert(nn.Sequential(nn.Linear(20, 16), nn.Sigmoid(), nn.Linear(16, 4)), config, torch_device="cuda")
    optimizer = AnalogSGD(model, lr=0.05)
    x, y = torch.randn(32, 20, device="cuda"), torch.randint(0, 4, (32,), device="cuda")
    for _ in range(3):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    assert bool(torch.isfinite(loss))
