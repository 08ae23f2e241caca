"""The "lucky guess" (Onen, Gokmen et al. 2022, §"SHD dynamics"): start exactly at the optimum.

* SGD on an asymmetric device started at W = W₀ (≠ W_sym): the zero-mean updates still fire pulses,
  and every pulse drifts the device toward its symmetry point (paper Eq. 2), so W leaves W₀ and
  settles at the fixed point between W₀ and W_sym.
* SHD started at A = 0 (A_main at its symmetry point, A_ref a copy) and C = C₀: A receives
  zero-mean updates and stays near 0, so dC/dt = η_C A ≈ 0 and C stays at C₀ (up to noise).

Both use the asymmetric soft-bounds device (±1, κ = 1, W_sym = 0); W₀ = C₀ = 0.6 by default,
σ = 0.1, SGD η = 0.02, SHD η_A = 0.02, η_C = 0.01, 3000 steps × 512 repetitions (quick: 1500 × 256);
final values are time averages over the last half.
"""

from __future__ import annotations

import time

import numpy as np

from analogtrain.studies.single_parameter.common import (
    SingleParameterSettings,
    StudyResult,
    asymmetric_device,
    check_g0,
    claim,
    mean_and_error,
    window_mean,
)
from analogtrain.studies.single_parameter.runs import run_sgd, run_shd
from analogtrain.theory import nominal_response
from analogtrain.theory import sgd as sgd_theory


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    g0 = settings.pick("g0", 0.6)
    sigma = settings.pick("sigma", 0.1)
    lr = settings.pick("lr", 0.02)
    eta_a = settings.pick("fast_lr", 0.02)
    eta_c = settings.pick("transfer_lr", 0.01)
    tau = settings.pick("transfer_every", 1)
    steps = settings.pick("steps", 3000, 1500)
    reps = settings.pick("reps", 512, 256)
    device = asymmetric_device()
    check_g0(g0, device)
    response = nominal_response(device)
    targets = np.full(reps, g0)

    sgd_trace, _ = run_sgd(device, targets, sigma, lr=lr, steps=steps, seed=settings.seed, init=g0,
                           progress=progress, description="lucky-guess SGD")
    shd_trace, _ = run_shd(device, device, targets, sigma, eta_a=eta_a, eta_c=eta_c, transfer_every=tau,
                           steps=steps, seed=settings.seed + 10, c_init=g0, progress=progress,
                           description="lucky-guess SHD")
    sgd_final, sgd_error = mean_and_error(window_mean(sgd_trace.w, 0.5))
    shd_final, shd_error = mean_and_error(window_mean(shd_trace.w, 0.5))
    theory = sgd_theory.fixed_point(g0, sigma, response=response)
    sgd_drift = float(sgd_final - g0)
    shd_drift = float(shd_final - g0)
    g_sym = response.symmetry_point
    toward_sym = np.sign(sgd_drift) == np.sign(g_sym - g0)
    rel = abs(sgd_drift - (theory - g0)) / abs(theory - g0)

    claims = [
        claim("SGD started at the optimum W₀ on an asymmetric device drifts away from W₀ toward W_symmetry",
              f"⟨W⟩ − W₀ = {sgd_drift:+.4f} ± {sgd_error:.4f} (toward W_sym = {g_sym:.2f}); continuum fixed point "
              f"predicts {theory - g0:+.4f} ({rel:.0%} off)",
              bool(toward_sym and abs(sgd_drift) > 5 * sgd_error and rel < 0.25),
              sgd_drift=sgd_drift, sgd_error=sgd_error, predicted=theory - g0),
        claim("SHD started at A = 0, C = C₀ stays at C₀ (its drift is < 10 % of SGD's)",
              f"⟨C⟩ − C₀ = {shd_drift:+.4f} ± {shd_error:.4f}, {abs(shd_drift) / abs(sgd_drift):.1%} of SGD's drift",
              abs(shd_drift) < 0.1 * abs(sgd_drift), shd_drift=shd_drift, shd_error=shd_error),
    ]
    tables = {"traces": {
        "step": np.arange(steps),
        "sgd_W": sgd_trace.w[:, 0],
        "sgd_W_mean": sgd_trace.w.mean(axis=1),
        "shd_C": shd_trace.w[:, 0],
        "shd_C_mean": shd_trace.w.mean(axis=1),
        "shd_A": shd_trace.a[:, 0],
    }}
    summary = {
        "g0": g0, "g_symmetry": g_sym, "theory_sgd_final": theory,
        "sgd": {"final": float(sgd_final), "error": float(sgd_error), "drift": sgd_drift},
        "shd": {"final": float(shd_final), "error": float(shd_error), "drift": shd_drift},
        "claims": claims,
    }
    used = dict(g0=g0, sigma=sigma, lr=lr, eta_a=eta_a, eta_c=eta_c, transfer_every=tau, steps=steps, reps=reps,
                seed=settings.seed, quick=settings.quick, device=device.to_dict())
    from analogtrain.studies.single_parameter.plots import plot_lucky_guess

    return StudyResult("lucky-guess", "Lucky guess: SGD and SHD started at the optimum", used, tables, summary,
                       plot_lucky_guess, time.perf_counter() - start)
