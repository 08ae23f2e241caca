"""``DigitalSHD``: SHD's asymmetric A/C dynamics as a torch optimizer for ordinary models."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from analogtrain.errors import ConfigError
from analogtrain.nn import DigitalSHD


def test_one_parameter_steps_by_hand():
    """b = 0.5 (κ = 2), a* = 0, η = 0.1, g = 0.2 twice: Δ = −0.02.
    η_C = η = 0.1. Step 1: A = 0 − 0.02 − 2·0.02·0 = −0.02, θ = 0.5 + 0.1·(−0.02) = 0.498.
    Step 2: A = −0.02 − 0.02 − 2·0.02·(−0.02) = −0.0392, θ = 0.498 + 0.1·(−0.0392) = 0.49408."""
    theta = nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    optimizer = DigitalSHD([theta], lr=0.1, bound=0.5)
    for a_expected, theta_expected in ((-0.02, 0.498), (-0.0392, 0.49408)):
        theta.grad = torch.tensor([0.2], dtype=torch.float64)
        optimizer.step()
        assert math.isclose(float(optimizer.auxiliary(theta)), a_expected, abs_tol=1e-12)
        assert math.isclose(float(theta.detach()), theta_expected, abs_tol=1e-12)


def test_transfer_every_reference_error_and_c_bound():
    """τ = 2: θ moves on every 2nd step only. reference_error r: the transfer adds η_C (A − a* − r).
    c_bound c: θ ← θ + Δc − |Δc|θ/c."""
    theta = nn.Parameter(torch.tensor([0.4], dtype=torch.float64))
    optimizer = DigitalSHD([theta], lr=0.1, bound=1.0, symmetry_point=0.2, reference_error=0.05,
                           transfer_every=2, c_bound=0.8)
    theta.grad = torch.tensor([0.0], dtype=torch.float64)
    optimizer.step()
    assert float(theta.detach()) == 0.4 and float(optimizer.auxiliary(theta)) == 0.2  # A starts at a*
    optimizer.step()
    change = 0.1 * (0.2 - 0.25)  # A − a_ref = −0.05
    assert math.isclose(float(theta.detach()), 0.4 + change - abs(change) * 0.4 / 0.8, abs_tol=1e-12)


def test_symmetric_noise_drives_a_to_its_symmetry_point():
    """Alternating ±g with no transfer effect on A: A contracts toward a* by (1 − κη)² per pair of
    steps; after 2000 steps (κη = 0.01) the distance is ≤ e^{−20}·0.3 plus one step's amplitude."""
    theta = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    optimizer = DigitalSHD([theta], lr=0.01, bound=1.0, symmetry_point=0.3)
    optimizer.state[theta] = {"step": 0, "auxiliary": torch.zeros(3, dtype=torch.float64)}
    for k in range(2000):
        theta.grad = torch.full((3,), 1.0 if k % 2 == 0 else -1.0, dtype=torch.float64)
        optimizer.step()
    assert torch.all((optimizer.auxiliary(theta) - 0.3).abs() < 0.011)


def test_trains_a_torch_model_to_the_optimum_where_asymmetric_sgd_stops_short():
    """Noisy least squares with a torch Linear, minibatches of 16, lr 0.1. SHD's A carries the
    asymmetry (bound 0.2): the average of θ over the last 1000 steps lies at the least-squares
    solution (measured 0.002; the noise ball's average, ~30 correlation times, is well inside the
    0.006 allowed). The same soft-bounds response applied to θ itself (asymmetric SGD, bound 0.6 so
    that the optimum lies inside the range) pulls every weight toward 0 by κ E|g| θ and stops
    short (measured 0.023, paper Eq. 2)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 5, generator=generator)
    w_star = torch.tensor([[0.5, -0.3, 0.2, 0.0, 0.4]])
    y = x @ w_star.T + 0.1 + 0.1 * torch.randn(256, 1, generator=generator)
    solution = torch.linalg.lstsq(torch.cat([x, torch.ones(256, 1)], 1), y).solution.T
    errors = {}
    for mode in ("shd", "asymmetric sgd"):
        torch.manual_seed(0)
        model = nn.Linear(5, 1)
        optimizer = DigitalSHD(model.parameters(), lr=0.1, bound=0.2)
        average = torch.zeros(1, 6)
        for k in range(3000):
            index = torch.randint(0, 256, (16,), generator=generator)
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x[index]), y[index]).backward()
            if mode == "shd":
                optimizer.step()
            else:
                with torch.no_grad():
                    for p in model.parameters():
                        change = -0.1 * p.grad
                        p.add_(change - change.abs() * p / 0.6)
            if k >= 2000:
                average += torch.cat([model.weight, model.bias[None]], 1).detach() / 1000
        errors[mode] = float((average - solution).abs().max())
    assert errors["shd"] < 0.006, errors
    assert errors["asymmetric sgd"] > 3 * errors["shd"], errors


def test_resume_is_exact():
    generator = torch.Generator().manual_seed(1)
    data = [(torch.randn(8, 4, generator=generator), torch.randint(0, 3, (8,), generator=generator))
            for _ in range(10)]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    optimizer = DigitalSHD(model.parameters(), lr=0.2, bound=0.3, transfer_every=3, c_bound=2.0)

    def train(model, optimizer, batches):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

    train(model, optimizer, data[:4])
    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    train(model, optimizer, data[4:])
    torch.manual_seed(5)
    fresh = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    fresh.load_state_dict(saved_model)
    fresh_optimizer = DigitalSHD(fresh.parameters(), lr=0.2, bound=0.3, transfer_every=3, c_bound=2.0)
    fresh_optimizer.load_state_dict(saved_optimizer)
    train(fresh, fresh_optimizer, data[4:])
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("field, value", [("lr", 0.0), ("bound", -1.0), ("transfer_every", 0), ("c_bound", 0.0),
                                          ("fast_lr", float("nan"))])
def test_invalid_settings_name_the_parameter(field, value):
    with pytest.raises(ConfigError, match=field):
        DigitalSHD([nn.Parameter(torch.zeros(1))], **{field: value})
