"""The continuum limit against the discrete simulation (study ``theory``; paper Eqs. 1–4).

SGD (paper Eq. 2): SGD on the asymmetric soft-bounds device (±1, κ = 1, G_sym = 0) from w = 0 for
G₀ ∈ {−0.6, −0.2, 0.2, 0.6}; the mean over repetitions of w(t) is drawn over the solution of the
mean equation (solved with ``solve_ivp``), and the fixed point of the simulation is compared with
the continuum one (exact folded-normal E|g + ε|) and with (G₀ + κ′G_sym)/(1 + κ′), κ′ = κσ√(2/π).

SHD (paper Eqs. 3–4): with |C − C₀| ≤ σ (so E|g + ε| stays close to σ√(2/π); the formula is
evaluated with the mean of E|g + ε| over the run) the mean over repetitions of C(t) − C₀ follows
the damped oscillator of :mod:`analogtrain.theory.shd`. Both the
ensemble mean and the continuum solution are fitted with X e^{−λt} cos(ωt + φ); the periods 2π/ω are
compared (and with 2π/√(η_A η_C/(τ n))), and the decay λ with c/2 = η_A κ_A E|g + ε|/2. As in the
paper's Fig. 2C system, C's asymmetry is left out: A is the soft-bounds device on ±1 (κ_A = 1), C a
symmetric constant-step device (with an asymmetric C, the noise in A, E|A| > |⟨A⟩|, makes C's own
drift ``−η_C κ_C |A| C`` add damping that the mean equations miss). C₀ = 0, C starts at −σ.

Defaults: σ = 0.1, η = η_A = 0.02, η_C = 0.01, τ = 1; SGD 3000 steps × 64 repetitions, SHD 5000 × 1024
(quick: 1500 × 32 and 3000 × 512).
"""

from __future__ import annotations

import math
import time

import numpy as np

from analogtrain.studies.single_parameter.common import (
    SingleParameterSettings,
    StudyResult,
    asymmetric_device,
    claim,
    symmetric_device,
    mean_and_error,
    window_mean,
)
from analogtrain.studies.single_parameter.runs import run_sgd, run_shd
from analogtrain.theory import folded_normal_mean, nominal_response
from analogtrain.theory import sgd as sgd_theory
from analogtrain.theory import shd as shd_theory

SGD_G0 = (-0.6, -0.2, 0.2, 0.6)


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    sigma = settings.pick("sigma", 0.1)
    lr = settings.pick("lr", 0.02)
    eta_a = settings.pick("fast_lr", 0.02)
    eta_c = settings.pick("transfer_lr", 0.01)
    tau = settings.pick("transfer_every", 1)
    sgd_steps = settings.pick("steps", 3000, 1500)
    shd_steps = settings.pick("steps", 5000, 3000)
    device = asymmetric_device()
    response = nominal_response(device)
    kappa, g_sym = response.kappa(), response.symmetry_point

    # -- SGD ----------------------------------------------------------------------------------
    reps = settings.pick("reps", 64, 32)
    g0_rows = np.repeat(np.asarray(SGD_G0), reps)
    sgd_trace, _ = run_sgd(device, g0_rows, sigma, lr=lr, steps=sgd_steps, seed=settings.seed,
                           progress=progress, description="theory SGD")
    sgd_final, sgd_error = mean_and_error(window_mean(sgd_trace.w, 0.5).reshape(len(SGD_G0), reps), axis=1)
    sgd_mean_traces = sgd_trace.w.reshape(sgd_steps, len(SGD_G0), reps).mean(axis=2)
    ode_t, ode_w = [], []
    for g0 in SGD_G0:
        t, w = sgd_theory.integrate_sgd(0.0, g0, sigma, lr, sgd_steps, response=response)
        ode_t.append(t)
        ode_w.append(w)
    exact = np.array([sgd_theory.fixed_point(g0, sigma, response=response) for g0 in SGD_G0])
    approx = np.array([sgd_theory.fixed_point_approx(g0, g_sym, kappa, sigma) for g0 in SGD_G0])
    g0_arr = np.asarray(SGD_G0)
    sim_residual, exact_residual = np.abs(sgd_final - g0_arr), np.abs(exact - g0_arr)
    sgd_rel = np.abs(sim_residual - exact_residual) / exact_residual
    transient = np.array([np.max(np.abs(np.interp(np.arange(sgd_steps), ode_t[i], ode_w[i]) - sgd_mean_traces[:, i]))
                          for i in range(len(SGD_G0))])

    # -- SHD ----------------------------------------------------------------------------------
    shd_reps = settings.pick("reps", 1024, 512)
    c0, c_init = 0.0, -sigma if sigma > 0 else -0.1
    core = symmetric_device()
    shd_trace, algorithm = run_shd(device, core, np.full(shd_reps, c0), sigma, eta_a=eta_a, eta_c=eta_c,
                                   transfer_every=tau, steps=shd_steps, seed=settings.seed + 10, c_init=c_init,
                                   progress=progress, description="theory SHD")
    x_mean = shd_trace.w.mean(axis=1) - c0
    a_mean = shd_trace.a.mean(axis=1)
    a_ref = float(algorithm.a_ref.conductance.mean())
    ode = shd_theory.integrate_shd(c_init=c_init, c0=c0, sigma=sigma, eta_a=eta_a, eta_c=eta_c, steps=shd_steps,
                                   response_a=response, response_c=nominal_response(core), a_ref=a_ref, c_ref=a_ref,
                                   transfer_every=tau)
    omega0 = shd_theory.natural_frequency(eta_a, eta_c, tau)
    steps_axis = np.arange(shd_steps, dtype=float)
    sim_fit = shd_theory.fit_damped_oscillation(steps_axis, x_mean, omega0)
    ode_fit = shd_theory.fit_damped_oscillation(ode["t"], ode["C"] - c0, omega0)
    # E|g + ε| of this run: the folded-normal mean at every recorded C, averaged over steps and runs.
    mean_abs_g = float(np.mean(folded_normal_mean(shd_trace.w.astype(np.float64) - c0, sigma)))
    predicted_decay = 0.5 * shd_theory.damping(eta_a, kappa, mean_abs_g)
    sim_period, ode_period = 2 * math.pi / sim_fit["omega"], 2 * math.pi / ode_fit["omega"]
    formula_period = 2 * math.pi / omega0

    claims = [
        claim("SGD fixed point: continuum (Eq. 2, exact E|g + ε|) and simulation agree within 25 %",
              "residual |G_final − G₀| sim/continuum: " + ", ".join(
                  f"{s:.4f}/{e:.4f}" for s, e in zip(sim_residual, exact_residual))
              + f"; largest deviation {float(sgd_rel.max()):.1%}; κ′ formula: "
              + ", ".join(f"{abs(a - g):.4f}" for a, g in zip(approx, g0_arr)),
              bool(np.all(sgd_rel < 0.25)), max_relative_deviation=float(sgd_rel.max())),
        claim("SGD trajectory: the mean of the runs follows the continuum solution",
              f"largest |⟨w⟩(t) − w_continuum(t)| {float(transient.max()):.4f} (G₀ up to {max(abs(g0_arr)):g})",
              bool(transient.max() < 0.05 * max(abs(g0_arr))), max_deviation=float(transient.max())),
        claim("SHD oscillation period: continuum and simulation agree within 20 %",
              f"simulation {sim_period:.0f}, continuum {ode_period:.0f}, 2π/√(η_Aη_C/(τn)) = {formula_period:.0f} updates",
              abs(sim_period / ode_period - 1) < 0.2 and abs(sim_period / formula_period - 1) < 0.2,
              sim_period=sim_period, ode_period=ode_period, formula_period=formula_period),
        claim("SHD damping ≈ η_A κ_A E|g + ε| (amplitude decay rate c/2, within 25 %)",
              f"simulation {sim_fit['decay']:.2e}, continuum {ode_fit['decay']:.2e}, "
              f"formula {predicted_decay:.2e} per update (E|g + ε| = {mean_abs_g:.4f} in this run, "
              f"σ√(2/π) = {float(folded_normal_mean(0.0, sigma)):.4f})",
              abs(sim_fit["decay"] / predicted_decay - 1) < 0.25, sim_decay=sim_fit["decay"],
              ode_decay=ode_fit["decay"], predicted_decay=predicted_decay),
    ]
    tables = {
        "sgd_fixed_points": {"g0": g0_arr, "simulation": sgd_final, "error": sgd_error, "continuum": exact,
                             "approximation": approx},
        "sgd_traces": {"step": np.arange(sgd_steps),
                       **{f"sim_g0_{g:+g}": sgd_mean_traces[:, i] for i, g in enumerate(SGD_G0)},
                       **{f"ode_g0_{g:+g}": np.interp(np.arange(sgd_steps), ode_t[i], ode_w[i])
                          for i, g in enumerate(SGD_G0)}},
        "shd_traces": {"step": steps_axis, "sim_C": x_mean + c0, "sim_A": a_mean,
                       "ode_C": np.interp(steps_axis, ode["t"], ode["C"]),
                       "ode_A": np.interp(steps_axis, ode["t"], ode["A"])},
    }
    summary = {
        "sgd": {"g0": list(SGD_G0), "simulation": sgd_final.tolist(), "continuum": exact.tolist(),
                "approximation": approx.tolist(), "kappa": kappa, "kappa_prime": sgd_theory.kappa_prime(kappa, sigma)},
        "shd": {"simulation_fit": sim_fit, "continuum_fit": ode_fit, "natural_frequency": omega0,
                "formula_period": formula_period, "predicted_decay": predicted_decay,
                "mean_abs_gradient": mean_abs_g},
        "claims": claims,
    }
    used = dict(sigma=sigma, lr=lr, eta_a=eta_a, eta_c=eta_c, transfer_every=tau, sgd_steps=sgd_steps,
                shd_steps=shd_steps, sgd_reps=reps, shd_reps=shd_reps, sgd_g0=list(SGD_G0), shd_c0=c0,
                shd_c_init=c_init, seed=settings.seed, quick=settings.quick, device=device.to_dict())
    from analogtrain.studies.single_parameter.plots import plot_theory

    return StudyResult("theory", "Continuum limit (Eqs. 1–4) against the simulation", used, tables, summary,
                       plot_theory, time.perf_counter() - start)
