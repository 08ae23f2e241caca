"""Gaussian averages that appear in the continuum equations.

With a per-sample gradient ``g + ε``, ε ~ N(0, σ²), the continuum equations of Onen, Gokmen et al.
(Front. Artif. Intell. 5:891624, 2022, Eqs. 2–3) need the mean of |g + ε| (how many pulses an update
fires, whatever their sign) and, for devices whose up and down responses differ, the means of the
positive and negative parts separately. For μ = g and Z = μ + ε:

    E[max(Z, 0)] = μ Φ(μ/σ) + σ φ(μ/σ)
    E[max(−Z, 0)] = E[max(Z, 0)] − μ
    E|Z| = σ √(2/π) exp(−μ²/2σ²) + μ (1 − 2Φ(−μ/σ))         (folded-normal mean)

with φ, Φ the standard normal density and distribution. For |μ| ≪ σ, E|Z| ≈ σ√(2/π) (the value
behind κ′ = κσ√(2/π)); for |μ| ≫ σ, E|Z| ≈ |μ|. σ = 0 gives |μ| exactly.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def positive_part_mean(mu, sigma: float):
    """``E[max(μ + ε, 0)]`` for ε ~ N(0, σ²) (elementwise in μ)."""
    mu = np.asarray(mu, dtype=float)
    if sigma <= 0:
        return np.maximum(mu, 0.0)
    z = mu / sigma
    return mu * ndtr(z) + sigma * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def negative_part_mean(mu, sigma: float):
    """``E[max(−(μ + ε), 0)]`` for ε ~ N(0, σ²)."""
    return positive_part_mean(mu, sigma) - np.asarray(mu, dtype=float)


def folded_normal_mean(mu, sigma: float):
    """``E|μ + ε|`` for ε ~ N(0, σ²): the exact folded-normal mean (module docstring)."""
    mu = np.asarray(mu, dtype=float)
    if sigma <= 0:
        return np.abs(mu)
    z = mu / sigma
    return sigma * SQRT_2_OVER_PI * np.exp(-0.5 * z * z) + mu * (1.0 - 2.0 * ndtr(-z))
