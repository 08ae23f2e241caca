"""Wu et al. (NeurIPS 2024): Analog SGD's asymptotic-error lower bound; Tiki-Taka's exact convergence.

The recursions of :mod:`analogtrain.theory.tiki_taka` are simulated on the lower-bound instance
(f = ½‖W − W*‖², L = 1, noise ±σ per coordinate) with many independent chains in float64.
Tolerances: the standard error of the time-and-chain average, estimated from the spread of the
per-chain averages (chains are independent).
"""

from __future__ import annotations

import math

import pytest
import torch

from analogtrain.theory.tiki_taka import (
    analog_sgd_error_lower_bound,
    analog_sgd_stationary_weight,
    analog_sgd_step,
    tiki_taka_step,
)

W_STAR = torch.tensor([0.6, -0.3, 0.0, 0.45], dtype=torch.float64)
L, SIGMA, TAU, LR = 1.0, 0.5, 1.0, 0.02
CHAINS = 4000


def noisy_gradient(w, generator):
    signs = torch.randint(0, 2, w.shape, generator=generator, dtype=torch.float64) * 2 - 1
    return L * (w - W_STAR) + SIGMA * signs


def test_bound_special_cases_and_assumptions():
    assert analog_sgd_error_lower_bound([0.5, -0.2], L, 0.0, TAU) == 0.0  # noise-free: SGD converges
    assert analog_sgd_error_lower_bound([0.0, 0.0], L, SIGMA, TAU) == 0.0  # optimum at the symmetry point
    # σ ≪ Lτ: the bound tends to σ²‖W*‖²/τ²
    assert math.isclose(analog_sgd_error_lower_bound([0.3], 1.0, 1e-3, 1.0), 1e-6 * 0.09, rel_tol=2e-3)
    # grows with the noise and as the device range τ shrinks
    assert analog_sgd_error_lower_bound([0.3], L, 0.4, 0.5) > analog_sgd_error_lower_bound([0.3], L, 0.4, 1.0)
    with pytest.raises(ValueError, match="τ"):
        analog_sgd_error_lower_bound([1.2], L, SIGMA, 1.0)


def test_analog_sgd_settles_at_the_predicted_point_and_respects_the_bound():
    """Fixed point W̄ = W*/(1 + σ/(Lτ)) = W*/1.5; bound σ²‖W*‖²/(τ + σ/L)² = 0.25·0.6525/2.25.
    E‖∇f‖² = bound + L²·Σ Var(W_i) ≥ bound; the variance is O(α) (≈ 0.01 here)."""
    generator = torch.Generator().manual_seed(0)
    w_bar = torch.as_tensor(analog_sgd_stationary_weight(W_STAR.numpy(), L, SIGMA, TAU))
    w = w_bar.expand(CHAINS, -1).clone()
    for _ in range(500):  # burn-in (relaxation time 1/(α(L + σ/τ)) ≈ 33 steps)
        w = analog_sgd_step(w, noisy_gradient(w, generator), LR, TAU)
    mean_w = torch.zeros_like(w)
    mean_g2 = torch.zeros(CHAINS, dtype=torch.float64)
    steps = 1500
    for _ in range(steps):
        w = analog_sgd_step(w, noisy_gradient(w, generator), LR, TAU)
        mean_w += w / steps
        mean_g2 += (L * (w - W_STAR)).pow(2).sum(1) / steps
    se_w = mean_w.std(0) / math.sqrt(CHAINS)
    assert torch.all((mean_w.mean(0) - w_bar).abs() < 5 * se_w + 1e-12), (mean_w.mean(0), w_bar, se_w)
    bound = analog_sgd_error_lower_bound(W_STAR.numpy(), L, SIGMA, TAU)
    assert math.isclose(bound, 0.25 * 0.6525 / 2.25, rel_tol=1e-12)
    g2, se_g2 = float(mean_g2.mean()), float(mean_g2.std() / math.sqrt(CHAINS))
    assert g2 >= bound - 5 * se_g2
    assert g2 <= bound + 0.03  # the O(α) variance term only: the bound is tight as α → 0
    # the instance's assumption |L(W − W*)| ≤ σ holds along the path almost always
    assert float(((L * (w - W_STAR)).abs() > SIGMA).double().mean()) < 0.01


def test_tiki_taka_converges_to_the_optimum_on_the_same_instance():
    """(TT) with β = α: E W_k → W* (SGD stops at W*/1.5, 0.2 away in the first coordinate)."""
    generator = torch.Generator().manual_seed(1)
    w = torch.zeros(CHAINS, 4, dtype=torch.float64)
    p = torch.zeros_like(w)
    for _ in range(4000):
        w, p = tiki_taka_step(w, p, noisy_gradient(w, generator), LR, LR, TAU)
    mean_w = torch.zeros_like(w)
    for _ in range(1000):
        w, p = tiki_taka_step(w, p, noisy_gradient(w, generator), LR, LR, TAU)
        mean_w += w / 1000
    error = (mean_w.mean(0) - W_STAR).abs()
    sgd_error = (torch.as_tensor(analog_sgd_stationary_weight(W_STAR.numpy(), L, SIGMA, TAU)) - W_STAR).abs()
    se = mean_w.std(0) / math.sqrt(CHAINS)
    assert torch.all(error < 5 * se + 2e-3), (error, se)  # 2e-3: what is left of the transient
    assert float(error.max()) < 0.1 * float(sgd_error.max())
