"""C's asymmetry matters little (Onen, Gokmen et al. 2022, S3.7 / Fig. S2): why C_ref can go.

C is written only by transfers of A, a filtered signal that is ≈ 0 once C is at C₀, so C's devices
receive few pulses at the optimum and their drift toward their own symmetry point,
``−η_C κ_C |A| (C_main − C_sym)`` (paper Eq. 4), is weak. At fixed asymmetry of A (soft bounds ±1,
κ_A = 1) SHD's result therefore depends only weakly on the asymmetry κ_C of C, whereas SGD's
residual on a device of the same asymmetry grows in proportion to it (paper Eq. 2).

C is a linear-step device on ±1 with γ_up = γ_down = γ (κ_C = γ; γ = 0 is a constant-step device,
γ = 1 soft bounds); rows of one array carry γ ∈ {0, 0.25, 0.5, 1} (``reps`` rows each, per-device
parameters set by hand). For comparison SGD runs on the same devices. 3-array SHD (C read against
A_ref, so C_main sits at C₀ + A_ref, away from C's own symmetry point 0), C₀ = 0.4, started at
C = −0.1, σ = 0.1, η_A = 0.02, η_C = 0.01, SGD η = 0.02; 6000 steps × 64 repetitions (quick: 3000 × 32);
results are time averages over the last third.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from analogtrain.devices.linear_step import LinearStepDevice
from analogtrain.studies.single_parameter.common import (
    STUDY_DW_MIN,
    SingleParameterSettings,
    StudyResult,
    asymmetric_device,
    check_g0,
    claim,
    mean_and_error,
    set_row_parameters,
    window_mean,
)
from analogtrain.studies.single_parameter.runs import run_sgd, run_shd, spiral_metrics

GAMMAS = (0.0, 0.25, 0.5, 1.0)


def core_device() -> LinearStepDevice:
    """Linear-step device on ±1 whose slopes γ are set per row (the nominal γ is the largest)."""
    return LinearStepDevice(dw_min=STUDY_DW_MIN, w_max=1.0, w_min=-1.0, gamma_up=max(GAMMAS), gamma_down=max(GAMMAS))


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    g0 = settings.pick("g0", 0.4)
    sigma = settings.pick("sigma", 0.1)
    lr = settings.pick("lr", 0.02)
    eta_a = settings.pick("fast_lr", 0.02)
    eta_c = settings.pick("transfer_lr", 0.01)
    tau = settings.pick("transfer_every", 1)
    steps = settings.pick("steps", 6000, 3000)
    reps = settings.pick("reps", 64, 32)
    device_a, device_c = asymmetric_device(), core_device()
    c_init = g0 - 0.5 if g0 >= 0 else g0 + 0.5
    for device in (device_a, device_c):
        check_g0(g0, device)
        check_g0(c_init, device, name="initial C (g0 ∓ 0.5)")
    gamma_rows = torch.as_tensor(np.repeat(np.asarray(GAMMAS), reps), dtype=torch.float32).reshape(-1, 1)
    targets = np.full(gamma_rows.shape[0], g0)

    def per_row_gamma(array):
        set_row_parameters(array, gamma_up=gamma_rows, gamma_down=gamma_rows)

    trace, _ = run_shd(device_a, device_c, targets, sigma, eta_a=eta_a, eta_c=eta_c, transfer_every=tau,
                       steps=steps, seed=settings.seed, c_init=c_init,
                       prepare=lambda algorithm: per_row_gamma(algorithm.c_main),
                       progress=progress, description="core-asymmetry SHD")
    sgd_trace, _ = run_sgd(device_c, targets, sigma, lr=lr, steps=steps // 2, seed=settings.seed + 20, init=targets,
                           prepare=lambda algorithm: per_row_gamma(algorithm.main), progress=progress,
                           description="core-asymmetry SGD")

    shape = (len(GAMMAS), reps)
    shd_bias, shd_error = mean_and_error(window_mean(trace.w, 1 / 3).reshape(shape) - g0, axis=1)
    metrics = spiral_metrics(trace, g0, eta_a, eta_c, tau)
    final_distance = metrics["final_distance"].reshape(shape).mean(axis=1)
    sgd_bias, sgd_error = mean_and_error(window_mean(sgd_trace.w, 1 / 3).reshape(shape) - g0, axis=1)
    shd_spread = float(np.max(np.abs(shd_bias)) - np.min(np.abs(shd_bias)))
    sgd_spread = float(np.max(np.abs(sgd_bias)) - np.min(np.abs(sgd_bias)))
    initial = abs(g0 - c_init)
    claims = [
        claim("S3.7: at fixed A asymmetry, SHD's result depends only weakly on C's asymmetry "
              "(change over κ_C < 25 % of SGD's change over the same κ)",
              f"|C_final − C₀| over κ_C = {', '.join(f'{g:g}' for g in GAMMAS)}: "
              + ", ".join(f"{abs(b):.4f}" for b in shd_bias)
              + f" (spread {shd_spread:.4f}); SGD residual: " + ", ".join(f"{abs(b):.4f}" for b in sgd_bias)
              + f" (spread {sgd_spread:.4f})",
              shd_spread < 0.25 * sgd_spread, shd_spread=shd_spread, sgd_spread=sgd_spread),
        claim("SHD converges for every asymmetry of C (final |C − C₀| < 10 % of the initial distance)",
              "final_distance " + ", ".join(f"{d:.4f}" for d in final_distance) + f" (initial {initial:.2f})",
              bool(np.all(final_distance < 0.1 * initial)), final_distance=final_distance),
    ]
    tables = {"results": {"kappa_c": np.asarray(GAMMAS), "shd_bias": shd_bias, "shd_error": shd_error,
                          "shd_final_distance": final_distance, "sgd_bias": sgd_bias, "sgd_error": sgd_error},
              "traces": {"step": np.arange(steps),
                         **{f"C_kappa_{g:g}": trace.w[:, i * reps] for i, g in enumerate(GAMMAS)},
                         **{f"A_kappa_{g:g}": trace.a[:, i * reps] for i, g in enumerate(GAMMAS)}}}
    summary = {
        "g0": g0, "kappa_a": 1.0, "kappa_c": list(GAMMAS),
        "shd_bias": shd_bias.tolist(), "sgd_bias": sgd_bias.tolist(),
        "shd_final_distance": final_distance.tolist(),
        "claims": claims,
    }
    used = dict(g0=g0, sigma=sigma, lr=lr, eta_a=eta_a, eta_c=eta_c, transfer_every=tau, steps=steps, reps=reps,
                c_init=c_init, gammas=list(GAMMAS), seed=settings.seed, quick=settings.quick,
                device_a=device_a.to_dict(), device_c=device_c.to_dict())
    from analogtrain.studies.single_parameter.plots import plot_core_asymmetry

    return StudyResult("core-asymmetry", "S3.7: SHD against the asymmetry of C", used, tables, summary,
                       plot_core_asymmetry, time.perf_counter() - start)
