"""Fig. 2E–F of Onen, Gokmen et al. (2022) and the ECRAM variant (paper S3.1): SHD as an oscillator.

One weight, E = ½(C − d)², d ~ N(C₀, σ²), trained by 3-array SHD from A = 0 (A_main at its symmetry
point, A_ref a copy of it) and C = C₀ ∓ 0.5:

* **fig2, symmetric devices** (constant steps): no drag, so (C, A) keeps circling C₀ on a closed,
  elliptical orbit (2E) and the energy E_kin ∝ A², E_pot ∝ (C − C₀)² does not decay;
* **fig2, asymmetric devices** (soft bounds ±1, κ_A = κ_C = 1): the asymmetry of A is a drag,
  ``−η_A κ_A |g + ε| A``, and the orbit spirals in to (C₀, 0) (2F); the energy decays to the noise
  floor;
* **ecram**: the same with both arrays made of the metal-oxide ECRAM preset (``ecram-mo``, a
  linear-step fit to Kim et al., IEDM 2019, with device-to-device variation and strong
  cycle-to-cycle noise), A_ref found by zero-shifting pulses: it still spirals in.

Measured per repetition (mean over ``reps`` rows): final_distance = |C − C₀| averaged over the last
tenth of the run; energy_ratio = mean energy of the last tenth over the first tenth; the oscillation
period from upward crossings of C₀, compared with 2π/√(η_A η_C/τ) (:mod:`analogtrain.theory.shd`).

Defaults: η_A = 0.02, η_C = 0.01, τ = 1, σ = 0.1, C₀ = 0.25, 8000 steps × 64 repetitions (quick:
4000 × 32; ECRAM 10000 / 5000 steps). The period is then 2π/√(η_A η_C) ≈ 444 updates, A swings up to
|C − C₀|·√(η_A/η_C) ≈ 0.7 (inside the devices' range), and the late damping is
c = η_A κ_A σ√(2/π) ≈ 1.6e-3 per update (energy e-folding in ~600 updates). The noise floor of C,
var(C − C₀) ≈ η_C σ²/(2κ_A E|g + ε|), scales with η_C, hence η_C < η_A. ECRAM (its cycle-to-cycle
noise of 200 % per pulse and weaker asymmetry, κ ≈ 0.62, raise that floor): A_ref by zero
shifting with 2 × (quick: 1 ×) its ~7100 states of up/down pulse pairs.
"""

from __future__ import annotations

import math
import time

import numpy as np

from analogtrain.devices.presets import get_device
from analogtrain.studies.single_parameter.common import (
    SingleParameterSettings,
    StudyResult,
    asymmetric_device,
    check_g0,
    claim,
    symmetric_device,
)
from analogtrain.studies.single_parameter.runs import run_shd, spiral_metrics
from analogtrain.theory import nominal_response
from analogtrain.theory import shd as shd_theory

START_OFFSET = 0.5


def spiral_settings(settings: SingleParameterSettings, steps_full: int, steps_quick: int) -> dict:
    """Resolved SHD parameters of a spiral run."""
    g0 = settings.pick("g0", 0.25)
    return dict(
        eta_a=settings.pick("fast_lr", 0.02),
        eta_c=settings.pick("transfer_lr", 0.01),
        transfer_every=settings.pick("transfer_every", 1),
        sigma=settings.pick("sigma", 0.1),
        g0=g0,
        c_init=g0 - START_OFFSET if g0 >= 0 else g0 + START_OFFSET,
        steps=settings.pick("steps", steps_full, steps_quick),
        reps=settings.pick("reps", 64, 32),
        seed=settings.seed,
        quick=settings.quick,
    )


def run_spiral(name, device_a, device_c, p, *, progress=False, calibration="ideal", calibration_pairs=None, seed_offset=0):
    """One SHD run of ``p['reps']`` rows from (C = c_init, A = 0); returns the trace and metrics."""
    for device in (device_a, device_c):
        check_g0(p["g0"], device)
        check_g0(p["c_init"], device, name="initial C (g0 ∓ 0.5)")
    trace, algorithm = run_shd(
        device_a, device_c, np.full(p["reps"], p["g0"]), p["sigma"],
        eta_a=p["eta_a"], eta_c=p["eta_c"], transfer_every=p["transfer_every"], steps=p["steps"],
        seed=p["seed"] + seed_offset, c_init=p["c_init"], calibration=calibration,
        calibration_pairs=calibration_pairs, progress=progress, description=name,
    )
    metrics = spiral_metrics(trace, p["g0"], p["eta_a"], p["eta_c"], p["transfer_every"])
    hysteresis = 0.2 * START_OFFSET
    periods = np.array([
        shd_theory.crossing_period(np.arange(trace.steps), trace.w[:, r] - p["g0"], hysteresis)
        for r in range(trace.w.shape[1])
    ])
    metrics["period"] = periods
    return trace, metrics, algorithm


def summarize(metrics: dict) -> dict:
    """Means over repetitions of the scalar metrics (and the energy traces)."""
    out = {}
    for key in ("initial_distance", "final_distance", "final_bias", "energy_ratio", "kinetic_ratio",
                "potential_ratio"):
        out[key] = float(np.mean(metrics[key]))
    finite = metrics["period"][np.isfinite(metrics["period"])]
    out["period"] = float(np.median(finite)) if finite.size else math.nan
    return out


def trace_table(traces: dict, metrics: dict) -> dict:
    """Columns: step, and per case C and A of repetition 0 and the mean energies over repetitions."""
    first = next(iter(traces.values()))
    table = {"step": np.arange(first.steps)}
    for name, trace in traces.items():
        table[f"{name}_C"] = trace.w[:, 0]
        table[f"{name}_A"] = trace.a[:, 0]
        table[f"{name}_E_kin"] = metrics[name]["kinetic"].mean(axis=1)
        table[f"{name}_E_pot"] = metrics[name]["potential"].mean(axis=1)
    return table


def converged_claims(label: str, s: dict, reps: int) -> list[dict]:
    limit = 0.1 * s["initial_distance"]
    return [
        claim(f"{label}: SHD with asymmetric devices spirals in to (C₀, A = 0): |C − C₀| falls below "
              f"10 % of its initial value",
              f"final_distance {s['final_distance']:.4f} vs initial {s['initial_distance']:.3f} "
              f"({s['final_distance'] / s['initial_distance']:.1%}; mean of {reps} runs)",
              s["final_distance"] < limit, final_distance=s["final_distance"], initial=s["initial_distance"]),
        claim(f"{label}: the energy E_kin + E_pot decays to the noise floor (last/first tenth < 0.05)",
              f"energy_ratio {s['energy_ratio']:.4f} (E_kin {s['kinetic_ratio']:.3f}, E_pot {s['potential_ratio']:.4f})",
              s["energy_ratio"] < 0.05, energy_ratio=s["energy_ratio"]),
    ]


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    p = spiral_settings(settings, 8000, 4000)
    devices = {"symmetric": symmetric_device(), "asymmetric": asymmetric_device()}
    traces, metrics, summary = {}, {}, {}
    for k, (name, device) in enumerate(devices.items()):
        traces[name], metrics[name], _ = run_spiral(f"fig2 {name}", device, device, p, progress=progress,
                                                    seed_offset=10 * k)
        summary[name] = summarize(metrics[name])
    omega = shd_theory.natural_frequency(p["eta_a"], p["eta_c"], p["transfer_every"])
    kappa = nominal_response(devices["asymmetric"]).kappa()
    summary["theory"] = {
        "natural_frequency": omega,
        "period": 2 * math.pi / omega,
        "damping": shd_theory.damping(p["eta_a"], kappa, p["sigma"] * math.sqrt(2 / math.pi)),
    }
    sym, asym = summary["symmetric"], summary["asymmetric"]
    claims = [
        claim("2E: with symmetric devices SHD does not converge: the orbit stays closed and the energy "
              "does not decay (energy_ratio > 0.3)",
              f"energy_ratio {sym['energy_ratio']:.3f}, final_distance {sym['final_distance']:.3f} "
              f"(initial {sym['initial_distance']:.2f})",
              sym["energy_ratio"] > 0.3 and sym["final_distance"] > 0.1 * sym["initial_distance"],
              energy_ratio=sym["energy_ratio"]),
        *converged_claims("2F", asym, p["reps"]),
        claim("2E: C oscillates with the period 2π/√(η_A η_C/τ) of the oscillator picture (within 20 %)",
              f"measured {sym['period']:.0f} updates, predicted {2 * math.pi / omega:.0f}",
              abs(sym["period"] * omega / (2 * math.pi) - 1) < 0.2, period=sym["period"]),
    ]
    summary["claims"] = claims
    settings_used = {**p, "devices": {k: v.to_dict() for k, v in devices.items()}, "algorithm": "shd"}
    from analogtrain.studies.single_parameter.plots import plot_fig2

    return StudyResult("fig2", "Fig. 2E–F: SHD with symmetric and asymmetric devices", settings_used,
                       {"traces": trace_table(traces, metrics)}, summary, plot_fig2, time.perf_counter() - start)


def run_ecram(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    p = spiral_settings(settings, 10000, 5000)
    device = get_device("ecram-mo")
    pairs = int(2 * device.states) if not settings.quick else int(device.states)
    trace, metrics, algorithm = run_spiral("ecram", device, device, p, progress=progress, calibration="pulses",
                                           calibration_pairs=pairs)
    s = summarize(metrics)
    offset = (algorithm.a_ref.conductance - algorithm.a_main.symmetry_point()).abs()
    s["calibration_error_mean"] = float(offset.mean())
    response = nominal_response(device)
    s["kappa"] = response.kappa()
    claims = converged_claims("S3.1 (metal-oxide ECRAM)", s, p["reps"])
    summary = {"ecram": s, "claims": claims}
    settings_used = {**p, "device": device.to_dict(), "calibration": "pulses", "calibration_pairs": pairs}
    from analogtrain.studies.single_parameter.plots import plot_ecram

    return StudyResult("ecram", "S3.1: SHD with metal-oxide ECRAM devices", settings_used,
                       {"traces": trace_table({"ecram": trace}, {"ecram": metrics})}, summary, plot_ecram,
                       time.perf_counter() - start)
