"""Analog SGD's irreducible error and Tiki-Taka's exact convergence (Wu, Gokmen, Rasch, Chen,
"Towards Exact Gradient-based Training on Analog In-memory Computing", NeurIPS 2024,
arXiv 2406.12774).

**Model.** Each weight is a device with the asymmetric response ``q±(w) = 1 ∓ w/τ`` (soft bounds on
[−τ, τ], symmetry point 0): an intended change Δ moves it by ``Δ·q_sign(Δ)(w) = Δ − |Δ|·w/τ``. With
the stochastic gradient ``g_k = ∇f(W_k) + ξ_k`` (E ξ = 0) and learning rate α, Analog SGD is ::

    W_{k+1} = W_k − α g_k − (α/τ)·|g_k| ⊙ W_k                                            (SGD)

and Tiki-Taka (TTv1, γ = 0: the fast array P takes the gradient at the slow W, P's reference at
its symmetry point; the transfer W += β P) ::

    P_{k+1} = P_k − α g_k − (α/τ)·|g_k| ⊙ P_k,   g_k = ∇f(W_k) + ξ_k
    W_{k+1} = W_k + β P_{k+1}                                                            (TT)

(the slow array's own asymmetry is left out, as in the paper's analysis; in this package
:class:`~analogtrain.algorithms.TikiTaka`).

**Why SGD cannot converge.** The drift term −(α/τ)|g|W does not vanish where ∇f = 0 unless the
noise does: in expectation SGD minimises f plus an implicit pull toward the symmetry point, so
its iterates settle where ∇f(W) balances (E|g|/τ)·W. The paper proves a lower bound on this
asymptotic error on a worst-case instance; :func:`analog_sgd_error_lower_bound` is that
instance in closed form, derived here:

* f(W) = (L/2)‖W − W*‖² (L > 0), with ‖W*‖_∞ < τ;
* noise ξ with independent coordinates ±σ, each with probability ½ (a bounded, zero-mean noise
  of variance σ² per coordinate);
* the iterates stay in the region |L(W_k − W*)_i| ≤ σ (true at the fixed point below, since
  |W*_i| < τ, and along the path for a small enough α: the spread of W_k is O(√α)).

There E|∇f_i + ξ_i| = ½(|∇f_i + σ| + |∇f_i − σ|) = σ exactly, so the mean obeys the linear
recursion ``E W_{k+1} = (1 − αL − ασ/τ)·E W_k + αL W*`` whose fixed point is ::

    W̄ = W*/(1 + σ/(Lτ))                                       (analog_sgd_stationary_weight)

and, by Jensen's inequality E‖∇f(W_k)‖² ≥ ‖∇f(E W_k)‖² = L²‖E W_k − W*‖², ::

    liminf_k E‖∇f(W_k)‖² ≥ σ²‖W*‖²/(τ + σ/L)²  ≈ σ²‖W*‖²/τ²  for σ ≪ Lτ       (bound)

The bound grows with the noise and with the distance of the optimum from the symmetry point
relative to the device's range τ — the paper's conclusion (its theorem states the order of this
error; the constant here belongs to this instance). No learning-rate schedule removes it: the
fixed point does not depend on α.

**Why Tiki-Taka does.** In (TT) a fixed point needs P = 0 (else W moves), and then P's mean drift
−α E[g] − (α/τ)E|g|·0 = −α ∇f(W) vanishes only at ∇f(W) = 0: the asymmetric term multiplies
P, which is driven to its symmetry point, not W. So E W_k → W* on the instance above
(:func:`tiki_taka_step`; the test runs both recursions).
"""

from __future__ import annotations

import numpy as np
import torch


def analog_sgd_step(w: torch.Tensor, gradient: torch.Tensor, lr: float, tau: float) -> torch.Tensor:
    """One step of (SGD): ``w − α g − (α/τ)|g|·w``."""
    return w - lr * gradient - (lr / tau) * gradient.abs() * w


def tiki_taka_step(w: torch.Tensor, p: torch.Tensor, gradient: torch.Tensor, lr: float, transfer_lr: float,
                   tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of (TT): the fast array ``p`` takes the asymmetric gradient step, then ``w += β p``."""
    p = analog_sgd_step(p, gradient, lr, tau)
    return w + transfer_lr * p, p


def analog_sgd_stationary_weight(w_star, lipschitz: float, sigma: float, tau: float) -> np.ndarray:
    """W̄ = W*/(1 + σ/(Lτ)): the fixed point of E W_k for (SGD) on the lower-bound instance
    (module docstring: f = (L/2)‖W − W*‖², noise ±σ, |L(W − W*)| ≤ σ)."""
    return np.asarray(w_star, dtype=float) / (1.0 + sigma / (lipschitz * tau))


def analog_sgd_error_lower_bound(w_star, lipschitz: float, sigma: float, tau: float) -> float:
    """σ²‖W*‖²/(τ + σ/L)²: a lower bound on liminf E‖∇f(W_k)‖² of Analog SGD with any constant
    learning rate on the instance of the module docstring (assumptions there: ‖W*‖_∞ < τ,
    coordinates of the noise ±σ with probability ½, iterates with |L(W_k − W*)_i| ≤ σ).
    Zero for σ = 0 (noise-free gradients) or W* = 0 (optimum at the symmetry point)."""
    w_star = np.asarray(w_star, dtype=float)
    if lipschitz <= 0 or tau <= 0 or sigma < 0:
        raise ValueError("lipschitz and tau must be > 0 and sigma ≥ 0")
    if np.any(np.abs(w_star) >= tau):
        raise ValueError("the bound assumes ‖W*‖_∞ < τ (the optimum inside the device range)")
    return float(sigma**2 * np.sum(w_star**2) / (tau + sigma / lipschitz) ** 2)
