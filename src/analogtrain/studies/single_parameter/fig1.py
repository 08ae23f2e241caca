"""Fig. 1 of Onen, Gokmen et al. (2022): SGD on a symmetric and on an asymmetric device.

One weight, E = ½(w − d)², d ~ N(G₀, σ²), trained by analog SGD (2 arrays, reference at 0) from
w = 0 for a sweep of optima G₀:

* symmetric constant-step device (1C: w(t) converges to G₀ and fluctuates around it; 1D: the
  residual |G_final − G₀| is flat across G₀);
* asymmetric soft-bounds device on ±1 (κ = 1, G_sym = 0; 1F: w settles strictly between G₀ and
  G_sym; 1G: the residual grows with |G₀ − G_sym|, smallest at G_sym).

G_final is the time average of w over the last ``window`` of the run, averaged over ``reps``
independent repetitions (rows of one array, see :mod:`.common`). The asymmetric residual is
compared with the fixed point of the continuum equation (paper Eq. 2 with the exact folded-normal
mean E|g + ε|, :func:`analogtrain.theory.sgd.fixed_point`).

Defaults: η = 0.02, σ = 0.1, G₀ ∈ {−0.8, −0.7, …, 0.8}, 3000 steps × 16 repetitions (quick: 1200
× 8); the last 2/3 of the steps are averaged (the transient from w = 0 decays as
e^{−η(1+κ′)t}, below 1e-4 after ~400 steps).
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
    symmetric_device,
    window_mean,
)
from analogtrain.studies.single_parameter.runs import run_sgd
from analogtrain.theory import nominal_response
from analogtrain.theory import sgd as sgd_theory

G0_GRID = tuple(round(-0.8 + 0.1 * k, 10) for k in range(17))
TRACE_G0 = 0.6
WINDOW = 2.0 / 3.0


def run_sgd_sweep(device, g0_values, sigma, lr, steps, reps, seed, progress=False, description=""):
    """SGD from w = 0 on one array holding ``reps`` rows per G₀; returns (trace, G₀ per row)."""
    g0_rows = np.repeat(np.asarray(g0_values, dtype=float), reps)
    trace, _ = run_sgd(device, g0_rows, sigma, lr=lr, steps=steps, seed=seed, progress=progress,
                       description=description)
    return trace, g0_rows


def residual_table(trace, g0_rows, g0_values, reps):
    """Per G₀: mean final weight over repetitions, its standard error, and |G_final − G₀|."""
    finals = window_mean(trace.w, WINDOW).reshape(len(g0_values), reps)
    mean, error = mean_and_error(finals, axis=1)
    return mean, error, np.abs(mean - np.asarray(g0_values))


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    lr = settings.pick("lr", 0.02)
    sigma = settings.pick("sigma", 0.1)
    steps = settings.pick("steps", 3000, 1200)
    reps = settings.pick("reps", 32, 16)
    trace_g0 = settings.pick("g0", TRACE_G0)
    devices = {"symmetric": symmetric_device(), "asymmetric": asymmetric_device()}
    for device in devices.values():
        check_g0(trace_g0, device)
    g0_values = sorted(set(G0_GRID) | {float(trace_g0)})
    response = nominal_response(devices["asymmetric"])
    g_sym = response.symmetry_point
    kappa = response.kappa()

    tables, results = {}, {}
    for k, (name, device) in enumerate(devices.items()):
        trace, g0_rows = run_sgd_sweep(
            device, g0_values, sigma, lr, steps, reps, settings.seed + 10 * k, progress, f"fig1 {name}"
        )
        mean, error, residual = residual_table(trace, g0_rows, g0_values, reps)
        row = int(np.flatnonzero(np.isclose(g0_rows, trace_g0))[0])
        rows = np.flatnonzero(np.isclose(g0_rows, trace_g0))
        window = trace.w[int(steps * (1 - WINDOW)):]
        results[name] = {"final": mean, "error": error, "residual": residual, "trace": trace.w[:, row],
                         "std": float(window[:, rows].std(axis=0).mean())}
    theory_final = np.array([sgd_theory.fixed_point(g, sigma, response=response) for g in g0_values])
    approx_final = np.array([sgd_theory.fixed_point_approx(g, g_sym, kappa, sigma) for g in g0_values])
    theory_residual = np.abs(theory_final - np.asarray(g0_values))

    tables["residuals"] = {
        "g0": np.asarray(g0_values),
        "symmetric_final": results["symmetric"]["final"],
        "symmetric_error": results["symmetric"]["error"],
        "symmetric_residual": results["symmetric"]["residual"],
        "asymmetric_final": results["asymmetric"]["final"],
        "asymmetric_error": results["asymmetric"]["error"],
        "asymmetric_residual": results["asymmetric"]["residual"],
        "theory_final": theory_final,
        "theory_residual": theory_residual,
        "approx_final": approx_final,
    }
    dense = np.linspace(min(g0_values), max(g0_values), 161)
    dense = dense[np.abs(dense - g_sym) > 1e-6]
    tables["theory_curve"] = {
        "g0": dense,
        "residual": np.abs(np.array([sgd_theory.fixed_point(g, sigma, response=response) for g in dense]) - dense),
    }
    tables["traces"] = {
        "step": np.arange(steps),
        "symmetric_w": results["symmetric"]["trace"],
        "asymmetric_w": results["asymmetric"]["trace"],
    }
    summary = {
        "g_symmetry": g_sym,
        "kappa": kappa,
        "trace_g0": trace_g0,
        "residual_vs_g0": {
            name: [[g, float(r)] for g, r in zip(g0_values, results[name]["residual"])] for name in devices
        },
        "residual_error": {name: [[g, float(e)] for g, e in zip(g0_values, results[name]["error"])] for name in devices},
        "final_vs_g0": {name: [[g, float(f)] for g, f in zip(g0_values, results[name]["final"])] for name in devices},
        "theory_final_vs_g0": [[g, float(f)] for g, f in zip(g0_values, theory_final)],
    }
    summary["claims"] = make_claims(np.asarray(g0_values), results, theory_final, g_sym, trace_g0, lr, sigma)
    settings_used = dict(lr=lr, sigma=sigma, steps=steps, reps=reps, g0_values=g0_values, trace_g0=trace_g0,
                         window=WINDOW, seed=settings.seed, quick=settings.quick,
                         devices={k: v.to_dict() for k, v in devices.items()})
    from analogtrain.studies.single_parameter.plots import plot_fig1

    return StudyResult("fig1", "Fig. 1: SGD on symmetric and asymmetric devices", settings_used, tables, summary,
                       plot_fig1, time.perf_counter() - start)


def make_claims(g0, results, theory_final, g_sym, trace_g0, lr, sigma):
    sym, asym = results["symmetric"], results["asymmetric"]
    claims = []
    # 1C
    i = int(np.flatnonzero(np.isclose(g0, trace_g0))[0])
    offset = abs(sym["final"][i] - trace_g0)
    langevin = sgd_theory.stationary_std(lr, sigma)
    ok = offset < 4 * sym["error"][i] + 1e-4 and 0.5 * langevin < sym["std"] < 2.0 * langevin
    claims.append(claim(
        "1C: on a symmetric device SGD converges to G₀ and keeps fluctuating around it",
        f"G₀ = {trace_g0:g}: ⟨w⟩ − G₀ = {sym['final'][i] - trace_g0:+.4f} (±{sym['error'][i]:.4f}); "
        f"fluctuation std {sym['std']:.4f} (Langevin estimate from the data noise {langevin:.4f})",
        ok, offset=offset, error=sym["error"][i], std=sym["std"]))
    # 1D
    band = 4.0 * float(np.median(sym["error"]))
    spread = float(sym["residual"].max() - sym["residual"].min())
    claims.append(claim(
        "1D: on a symmetric device the residual |G_final − G₀| is flat across G₀",
        f"spread of the residual over G₀ {spread:.4f} < error band 4·SE = {band:.4f}; "
        f"asymmetric spread {float(asym['residual'].max() - asym['residual'].min()):.4f}",
        spread < band, spread=spread, band=band))
    # 1F
    away = np.abs(g0 - g_sym) >= 0.1 - 1e-9
    between = (asym["final"] - g_sym) * (g0 - asym["final"]) > 0
    significant = asym["residual"] > 3 * asym["error"]
    ok = bool(np.all(between[away] & significant[away]))
    i = int(np.flatnonzero(np.isclose(g0, trace_g0))[0])
    claims.append(claim(
        "1F: on an asymmetric device w settles strictly between G₀ and G_symmetry",
        f"{int(np.sum(between[away] & significant[away]))}/{int(np.sum(away))} optima with |G₀ − G_sym| ≥ 0.1 "
        f"end strictly between (G₀ = {trace_g0:g}: G_final = {asym['final'][i]:.4f}, G_sym = {g_sym:.3f})",
        ok))
    # 1G
    monotone = True
    for side in (g0 > g_sym, g0 < g_sym):
        order = np.argsort(np.abs(g0[side] - g_sym))
        monotone &= bool(np.all(np.diff(asym["residual"][side][order]) > 0))
    smallest = int(np.argmin(asym["residual"]))
    ok = monotone and abs(g0[smallest] - g_sym) <= 0.1 + 1e-9
    claims.append(claim(
        "1G: the asymmetric residual grows with |G₀ − G_symmetry| and is smallest at G_symmetry",
        f"monotone on both sides: {monotone}; smallest residual {asym['residual'][smallest]:.2e} at G₀ = {g0[smallest]:g}; "
        f"largest {asym['residual'].max():.3f}",
        ok))
    # continuum fixed point
    far = np.abs(g0 - g_sym) >= 0.2 - 1e-9
    theory_residual = np.abs(theory_final - g0)
    rel = np.abs(asym["residual"][far] - theory_residual[far]) / theory_residual[far]
    claims.append(claim(
        "Eq. 2: the residual matches the continuum fixed point (exact folded-normal E|g + ε|) within 25 %",
        f"largest relative deviation {float(rel.max()):.1%} over {int(far.sum())} optima with |G₀ − G_sym| ≥ 0.2",
        bool(np.all(rel < 0.25)), max_relative_deviation=float(rel.max())))
    return claims
