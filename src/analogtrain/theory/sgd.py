"""Continuum limit of SGD on one weight (Onen, Gokmen et al., Front. Artif. Intell. 2022, Eqs. 1–2).

Problem: one weight w, error E = ½(w − d)² with samples d ~ N(w₀, σ²), so the per-sample gradient is
``g + ε`` with ``g = w − w₀`` and ε ~ N(0, σ²).

Eq. 1 (ideal, symmetric device; a Langevin equation)::

    dw/dt = −η (g + ε)                 mean: dw/dt = −η (w − w₀)

Eq. 2 (asymmetric device, f_hardware = w − w_sym for the exponentially saturating device)::

    dw/dt = −η (g + ε) − η κ |g + ε| (w − w_sym)
    mean:  dw/dt = −η (w − w₀) − η κ E|g + ε| (w − w_sym)

with E|g + ε| the folded-normal mean (:func:`~analogtrain.theory.noise.folded_normal_mean`).
Its fixed point solves ``(w − w₀) = −κ E|w − w₀ + ε| (w − w_sym)``; when |w − w₀| ≪ σ,
E|g + ε| ≈ σ√(2/π) and with κ′ = κσ√(2/π)::

    w_final ≈ (w₀ + κ′ w_sym)/(1 + κ′),   |w_final − w₀| ≈ κ′|w₀ − w_sym|/(1 + κ′)

so the residual grows linearly with the distance of the optimum from the symmetry point (Fig. 1G)
and with the noise σ (paper S3.6), and is flat for a symmetric device (κ = 0, Fig. 1D).

For a pulsed device the exact mean drift follows from counting pulses: an update of ``−η(g + ε)``
fires on average ``η|g + ε|/Δw_min`` pulses, up when g + ε < 0 and down otherwise, so ::

    E[Δw] = (η/Δw_min)·( E[(g + ε)₋]·Δw⁺(w) − E[(g + ε)₊]·Δw⁻(w) )                (*)

(:func:`pulse_drift`). For steps Δw± = Δw_min(1 ∓ κ(w − w_sym)) this is exactly Eq. 2; for any
other response it is its generalisation (used for the linear-step ECRAM device).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from analogtrain.theory.noise import SQRT_2_OVER_PI, folded_normal_mean, negative_part_mean, positive_part_mean
from analogtrain.theory.response import PulseResponse


def eq1_drift(w, w0: float, lr: float):
    """Mean of paper Eq. 1 for the quadratic error: ``−η (w − w₀)``."""
    return -lr * (np.asarray(w, dtype=float) - w0)


def eq2_drift(w, w0: float, sigma: float, lr: float, kappa: float, w_sym: float):
    """Mean of paper Eq. 2 over ε: ``−η(w − w₀) − ηκ E|w − w₀ + ε|(w − w_sym)``."""
    w = np.asarray(w, dtype=float)
    return -lr * (w - w0) - lr * kappa * folded_normal_mean(w - w0, sigma) * (w - w_sym)


def pulse_drift(w, w0: float, sigma: float, lr: float, response: PulseResponse):
    """Exact mean change per update of a pulsed device, equation (*) of the module docstring."""
    w = np.asarray(w, dtype=float)
    g = w - w0
    n_up = negative_part_mean(g, sigma)  # E[(g + ε)₋]: updates that push w up
    n_down = positive_part_mean(g, sigma)
    return lr / response.granularity * (n_up * response.up(w) - n_down * response.down(w))


def kappa_prime(kappa: float, sigma: float) -> float:
    """κ′ = κσ√(2/π): the asymmetry factor weighted by the mean |ε| at the optimum."""
    return kappa * sigma * SQRT_2_OVER_PI


def fixed_point_approx(w0: float, w_sym: float, kappa: float, sigma: float) -> float:
    """``(w₀ + κ′w_sym)/(1 + κ′)``, κ′ = κσ√(2/π) (valid when the residual is ≪ σ)."""
    kp = kappa_prime(kappa, sigma)
    return (w0 + kp * w_sym) / (1.0 + kp)


def fixed_point(
    w0: float,
    sigma: float,
    *,
    kappa: float | None = None,
    w_sym: float | None = None,
    response: PulseResponse | None = None,
) -> float:
    """The stationary weight of the mean equation: a root between w₀ and the symmetry point.

    Give either ``kappa`` and ``w_sym`` (paper Eq. 2 with the exact folded-normal mean) or a
    device ``response`` (the pulse-count drift (*)). A device without a symmetry point (ideal,
    symmetric) is stationary at w₀.
    """
    if response is not None:
        w_sym = response.symmetry_point
        drift = lambda w: float(pulse_drift(w, w0, sigma, 1.0, response))  # noqa: E731
    else:
        if kappa is None or w_sym is None:
            raise ValueError("fixed_point needs kappa and w_sym, or a response")
        drift = lambda w: float(eq2_drift(w, w0, sigma, 1.0, kappa, w_sym))  # noqa: E731
    if w_sym is None or np.isnan(w_sym) or w_sym == w0:
        return float(w0)
    low, high = min(w0, w_sym), max(w0, w_sym)
    f_low, f_high = drift(low), drift(high)
    if f_low == 0.0:
        return float(low)
    if f_high == 0.0:
        return float(high)
    if f_low * f_high > 0:  # no restoring force between them (e.g. κ = 0)
        return float(w0)
    return float(brentq(drift, low, high, xtol=1e-12, rtol=1e-12))


def integrate_sgd(
    w_init: float,
    w0: float,
    sigma: float,
    lr: float,
    steps: int,
    *,
    kappa: float | None = None,
    w_sym: float | None = None,
    response: PulseResponse | None = None,
    points: int = 400,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the mean equation (Eq. 1, Eq. 2 or (*)) from ``w_init`` over ``steps`` updates.

    Time is measured in updates (one update = one unit of t). Returns (t, w(t)) on ``points``
    evenly spaced times, solved with :func:`scipy.integrate.solve_ivp` (RK45, tight tolerances).
    """
    if response is not None:
        rhs = lambda t, y: pulse_drift(y, w0, sigma, lr, response)  # noqa: E731
    elif kappa is not None and w_sym is not None:
        rhs = lambda t, y: eq2_drift(y, w0, sigma, lr, kappa, w_sym)  # noqa: E731
    else:
        rhs = lambda t, y: eq1_drift(y, w0, lr)  # noqa: E731
    t_eval = np.linspace(0.0, float(steps), points)
    solution = solve_ivp(rhs, (0.0, float(steps)), [float(w_init)], t_eval=t_eval, rtol=1e-8, atol=1e-11)
    return solution.t, solution.y[0]


def stationary_std(lr: float, sigma: float, restoring_rate: float = 1.0) -> float:
    """Std of w about its fixed point for the linearised Langevin equation (Eq. 1).

    ``w_{t+1} − w* = (1 − η·r)(w_t − w*) − η ε`` has stationary variance
    ``η²σ²/(1 − (1 − ηr)²) ≈ ησ²/(2r)`` (r = 1 for Eq. 1; r = 1 + κ′ near the Eq. 2 fixed point).
    """
    a = 1.0 - lr * restoring_rate
    return float(np.sqrt(lr * lr * sigma * sigma / max(1.0 - a * a, 1e-300)))
