"""More data noise, worse SGD (Onen, Gokmen et al. 2022, S3.6 / Fig. S1).

On an asymmetric device the drift toward the symmetry point is proportional to the number of pulses
an update fires, |g + ε|, whatever their sign (paper Eq. 2). More variance in the data means more
pulses of both signs around the optimum, so a stronger pull toward G_sym and a larger residual:
from the continuum fixed point, |G_final − G₀| ≈ κ′|G₀ − G_sym|/(1 + κ′) with κ′ = κσ√(2/π) (exact:
:func:`analogtrain.theory.sgd.fixed_point` with the folded-normal mean).

Rows of one SGD array carry σ ∈ {0.03, 0.1, 0.2, 0.3, 0.5, 1.0} (``reps`` rows each); the asymmetric
soft-bounds device (±1, κ = 1, G_sym = 0), G₀ = 0.6, η = 0.02, started at G₀, 3000 steps × 32
repetitions (quick: 1500 × 16); the final weight is the time average over the last 2/3.
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
from analogtrain.studies.single_parameter.runs import run_sgd
from analogtrain.theory import nominal_response
from analogtrain.theory import sgd as sgd_theory

SIGMAS = (0.03, 0.1, 0.2, 0.3, 0.5, 1.0)


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    g0 = settings.pick("g0", 0.6)
    lr = settings.pick("lr", 0.02)
    steps = settings.pick("steps", 3000, 1500)
    reps = settings.pick("reps", 32, 16)
    sigmas = tuple(SIGMAS) if settings.sigma is None else tuple(sorted(set(SIGMAS) | {settings.sigma}))
    device = asymmetric_device()
    check_g0(g0, device)
    response = nominal_response(device)
    g_sym = response.symmetry_point
    sigma_rows = np.repeat(np.asarray(sigmas), reps)
    trace, _ = run_sgd(device, np.full(sigma_rows.size, g0), sigma_rows, lr=lr, steps=steps, seed=settings.seed,
                       init=g0, progress=progress, description="variance")
    finals = window_mean(trace.w, 2.0 / 3.0).reshape(len(sigmas), reps)
    final, error = mean_and_error(finals, axis=1)
    residual = np.abs(final - g0)
    theory_final = np.array([sgd_theory.fixed_point(g0, s, response=response) for s in sigmas])
    theory_residual = np.abs(theory_final - g0)
    approx_residual = np.array([abs(sgd_theory.fixed_point_approx(g0, g_sym, response.kappa(), s) - g0)
                                for s in sigmas])
    rel = np.abs(residual - theory_residual) / theory_residual
    monotone = bool(np.all(np.diff(residual) > 0))
    claims = [
        claim("S3.6: SGD's residual on an asymmetric device grows with the data noise σ",
              "residual " + ", ".join(f"{r:.3f}" for r in residual) + " for σ = "
              + ", ".join(f"{s:g}" for s in sigmas) + f"; monotone: {monotone}",
              monotone, residuals=residual),
        claim("The residual matches the continuum fixed point (exact folded-normal E|g + ε|) within 25 % for every σ",
              f"largest relative deviation {float(rel.max()):.1%}",
              bool(np.all(rel < 0.25)), max_relative_deviation=float(rel.max())),
    ]
    tables = {"residuals": {"sigma": np.asarray(sigmas), "final": final, "error": error, "residual": residual,
                            "theory_residual": theory_residual, "approx_residual": approx_residual}}
    summary = {
        "g0": g0, "g_symmetry": g_sym,
        "residual_vs_sigma": [[s, float(r)] for s, r in zip(sigmas, residual)],
        "theory_residual_vs_sigma": [[s, float(r)] for s, r in zip(sigmas, theory_residual)],
        "claims": claims,
    }
    used = dict(g0=g0, lr=lr, sigmas=list(sigmas), steps=steps, reps=reps, seed=settings.seed,
                quick=settings.quick, device=device.to_dict())
    from analogtrain.studies.single_parameter.plots import plot_variance

    return StudyResult("variance", "S3.6: SGD residual against data variance", used, tables, summary,
                       plot_variance, time.perf_counter() - start)
