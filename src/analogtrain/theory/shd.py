"""Continuum limit of SHD / Tiki-Taka on one weight: a damped harmonic oscillator.

Onen, Gokmen et al., "Neural Network Training with Asymmetric Crosspoint Elements",
Front. Artif. Intell. 5:891624 (2022), Eqs. 3–4 and Fig. 2C–D. With the gradient of
E = ½(C − C₀)² per sample, ``g + ε = C − C₀ + ε``, ε ~ N(0, σ²):

Eq. 3 (auxiliary array)::

    dA/dt = −η_A (g + ε) − η_A κ_A |g + ε| (A_main − A_sym)

Eq. 4 (core array; the asymmetry term with the sign of a drift toward the symmetry point)::

    dC/dt = η_C′ A − η_C′ κ_C |A| (C_main − C_sym),     η_C′ = η_C/(τ n)

where one transfer of rate η_C every τ updates, cycling over n columns, moves each element at the
effective rate η_C′. With ``A_ref = A_sym`` (A = A_main − A_sym) and κ_C neglected (Fig. 2C)::

    d²C/dt² = −η_A η_C′ (C − C₀) − c dC/dt,    c = η_A κ_A E|g + ε|

a damped oscillator: C is the position, A ∝ velocity, natural frequency ω₀ = √(η_A η_C/(τ n)) (rad
per update), drag coefficient c (the amplitude decays as e^{−ct/2}, the energy as e^{−ct}). With
symmetric devices (κ_A = 0) nothing damps it: a closed orbit in the (C, A) plane (Fig. 2E); with
asymmetric ones, an inward spiral to (C₀, 0) (Fig. 2F). Energy (scaled by 1/ω₀², in weight²)::

    E_pot = ½ (C − C₀)²,  E_kin = ½ (η_C′/η_A) A²

A reference off the symmetry point, ``A_ref = A_sym + δ_r``, makes the stationary state A = 0
require a mean gradient that cancels the device drift: ``C − C₀ = −κ_A E|g + ε| δ_r``
(:func:`reference_bias`), the reason A_ref must sit at the symmetry point (paper §"conditions").

:func:`integrate_shd` solves the mean of these equations for a pulsed device (pulse counting as in
:mod:`analogtrain.theory.sgd`, which reduces to Eqs. 3–4 for soft bounds) with
:func:`scipy.integrate.solve_ivp`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import curve_fit

from analogtrain.theory.noise import folded_normal_mean, negative_part_mean, positive_part_mean
from analogtrain.theory.response import PulseResponse


def natural_frequency(eta_a: float, eta_c: float, transfer_every: int = 1, columns: int = 1) -> float:
    """ω₀ = √(η_A η_C/(τ n)) in radians per update."""
    return math.sqrt(eta_a * eta_c / (transfer_every * columns))


def natural_period(eta_a: float, eta_c: float, transfer_every: int = 1, columns: int = 1) -> float:
    """2π/ω₀ in updates."""
    return 2.0 * math.pi / natural_frequency(eta_a, eta_c, transfer_every, columns)


def damping(eta_a: float, kappa_a: float, mean_abs_gradient: float) -> float:
    """Drag coefficient c = η_A κ_A E|g + ε| (per update; amplitude decays at c/2)."""
    return eta_a * kappa_a * mean_abs_gradient


def reference_bias(kappa_a: float, mean_abs_gradient: float, offset: float) -> float:
    """Stationary C − C₀ for a reference offset δ_r from A's symmetry point: −κ_A E|g + ε| δ_r."""
    return -kappa_a * mean_abs_gradient * offset


def energy(a, c, c0: float, eta_a: float, eta_c_effective: float) -> tuple[np.ndarray, np.ndarray]:
    """(E_kin, E_pot) = (½(η_C′/η_A)A², ½(C − C₀)²): the oscillator energy over ω₀² (docstring)."""
    a = np.asarray(a, dtype=float)
    c = np.asarray(c, dtype=float)
    return 0.5 * (eta_c_effective / eta_a) * a * a, 0.5 * (c - c0) ** 2


def eq34_rhs(a_main, c_main, *, a_ref, c_ref, c0, sigma, eta_a, eta_c_effective, kappa_a, kappa_c, a_sym, c_sym):
    """Mean of paper Eqs. 3–4 over ε: returns (dA_main/dt, dC_main/dt)."""
    a = a_main - a_ref
    g = (c_main - c_ref) - c0
    da = -eta_a * g - eta_a * kappa_a * folded_normal_mean(g, sigma) * (a_main - a_sym)
    dc = eta_c_effective * a - eta_c_effective * kappa_c * abs(a) * (c_main - c_sym)
    return da, dc


def pulse_rhs(a_main, c_main, *, a_ref, c_ref, c0, sigma, eta_a, eta_c_effective, response_a, response_c):
    """Mean change per update of A_main and C_main for pulsed devices (pulse counting).

    A: an update of ``−η_A(g + ε)`` fires ``η_A|g + ε|/Δw_min`` pulses (up for g + ε < 0).
    C: a transfer of ``+η_C′ A`` fires ``η_C′|A|/Δw_min`` pulses (up for A > 0); read noise-free.
    """
    a = a_main - a_ref
    g = (c_main - c_ref) - c0
    da = eta_a / response_a.granularity * (
        negative_part_mean(g, sigma) * response_a.up(a_main) - positive_part_mean(g, sigma) * response_a.down(a_main)
    )
    dc = eta_c_effective / response_c.granularity * (
        max(a, 0.0) * response_c.up(c_main) - max(-a, 0.0) * response_c.down(c_main)
    )
    return float(da), float(dc)


def integrate_shd(
    *,
    c_init: float,
    c0: float,
    sigma: float,
    eta_a: float,
    eta_c: float,
    steps: int,
    response_a: PulseResponse,
    response_c: PulseResponse,
    a_ref: float,
    c_ref: float,
    a_main_init: float | None = None,
    transfer_every: int = 1,
    columns: int = 1,
    points: int = 2000,
) -> dict[str, np.ndarray]:
    """Solve the mean SHD/Tiki-Taka equations for pulsed devices over ``steps`` updates.

    ``a_ref``, ``c_ref``: the references (SHD: ``c_ref = a_ref``); A starts at ``a_main_init``
    (default: A_main at its symmetry point) and C at ``c_init``. Returns t, A, C, A_main, C_main.
    """
    eta_ce = eta_c / (transfer_every * columns)
    if a_main_init is None:
        a_main_init = response_a.symmetry_point if not math.isnan(response_a.symmetry_point) else a_ref
    kwargs = dict(a_ref=a_ref, c_ref=c_ref, c0=c0, sigma=sigma, eta_a=eta_a, eta_c_effective=eta_ce,
                  response_a=response_a, response_c=response_c)

    def rhs(t, y):
        return pulse_rhs(y[0], y[1], **kwargs)

    t_eval = np.linspace(0.0, float(steps), points)
    y0 = [float(a_main_init), float(c_init + c_ref)]
    max_step = 0.05 * natural_period(eta_a, eta_c, transfer_every, columns)
    sol = solve_ivp(rhs, (0.0, float(steps)), y0, t_eval=t_eval, rtol=1e-7, atol=1e-10, max_step=max_step)
    a_main, c_main = sol.y
    return {"t": sol.t, "A": a_main - a_ref, "C": c_main - c_ref, "A_main": a_main, "C_main": c_main}


def crossing_period(t, x, hysteresis: float = 0.0) -> float:
    """Mean period from upward zero crossings of x(t) (NaN with fewer than two).

    A crossing counts only after x has been below −hysteresis, so noise near zero does not add
    crossings; crossing times are interpolated linearly.
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    times = []
    armed = False
    for i in range(1, len(x)):
        if x[i - 1] < -hysteresis:
            armed = True
        if armed and x[i - 1] < 0.0 <= x[i]:
            frac = -x[i - 1] / (x[i] - x[i - 1]) if x[i] != x[i - 1] else 0.0
            times.append(t[i - 1] + frac * (t[i] - t[i - 1]))
            armed = False
    if len(times) < 2:
        return float("nan")
    return float((times[-1] - times[0]) / (len(times) - 1))


def fit_damped_oscillation(t, x, omega_guess: float) -> dict[str, float]:
    """Least-squares fit of ``x = X e^{−λt} cos(ωt + φ)``; returns amplitude, decay (λ), omega, phase.

    For the oscillator above λ = c/2 and ω = √(ω₀² − λ²).
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    amplitude = float(np.max(np.abs(x))) or 1.0

    def model(tt, amp, decay, omega, phase):
        return amp * np.exp(-decay * tt) * np.cos(omega * tt + phase)

    best = None
    for phase in np.linspace(-math.pi, math.pi, 8, endpoint=False):
        try:
            params, _ = curve_fit(model, t, x, p0=[amplitude, 1e-4, omega_guess, phase], maxfev=20000)
        except RuntimeError:
            continue
        residual = float(np.sum((model(t, *params) - x) ** 2))
        if best is None or residual < best[0]:
            best = (residual, params)
    if best is None:
        return {"amplitude": math.nan, "decay": math.nan, "omega": math.nan, "phase": math.nan}
    amp, decay, omega, phase = best[1]
    if amp < 0:
        amp, phase = -amp, phase + math.pi
    return {"amplitude": float(amp), "decay": float(decay), "omega": float(abs(omega)), "phase": float(phase)}
