"""Why A_ref must sit at A_main's symmetry point (Onen, Gokmen et al. 2022, §"conditions").

SHD with A_ref programmed to ``A_sym + δ_r`` instead of A_sym. The stationary state needs A = 0,
i.e. A_main = A_sym + δ_r, away from its symmetry point; there every update drifts A_main back by
``η_A κ_A |g + ε| δ_r`` on average, which only a non-zero mean gradient can cancel:

    C − C₀ = −κ_A E|g + ε| δ_r        (:func:`analogtrain.theory.shd.reference_bias`)

a static bias of C proportional to the reference error (zero only for δ_r = 0), the sensitivity
later removed by chopped Tiki-Taka / AGAD.

Rows of one SHD array carry the offsets δ_r ∈ {−0.3, −0.2, −0.1, −0.05, 0, 0.05, 0.1, 0.2, 0.3}
(``reps`` rows each): A_main is calibrated to its symmetry point, then A_ref is programmed to the
offset point and C set to C₀ (so A starts at −δ_r). Asymmetric soft-bounds devices (±1, κ = 1),
C₀ = 0.25, σ = 0.1, η_A = 0.02, η_C = 0.01, 6000 steps × 32 repetitions (quick: 3000 × 16); the bias is
the time average of C − C₀ over the last half; E|g + ε| in the prediction is the folded-normal mean
averaged over the C values of that window (slightly above σ√(2/π), since C itself fluctuates).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from analogtrain.studies.single_parameter.common import (
    SingleParameterSettings,
    StudyResult,
    asymmetric_device,
    check_g0,
    claim,
    mean_and_error,
    window_mean,
)
from analogtrain.studies.single_parameter.runs import run_shd
from analogtrain.theory import folded_normal_mean, nominal_response
from analogtrain.theory import shd as shd_theory

OFFSETS = (-0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3)


def run(settings: SingleParameterSettings, progress: bool = False) -> StudyResult:
    start = time.perf_counter()
    g0 = settings.pick("g0", 0.25)
    sigma = settings.pick("sigma", 0.1)
    eta_a = settings.pick("fast_lr", 0.02)
    eta_c = settings.pick("transfer_lr", 0.01)
    tau = settings.pick("transfer_every", 1)
    steps = settings.pick("steps", 6000, 3000)
    reps = settings.pick("reps", 32, 16)
    device = asymmetric_device()
    check_g0(g0, device)
    offsets = np.repeat(np.asarray(OFFSETS), reps)

    def offset_reference(algorithm):
        point = algorithm.a_main.symmetry_point()
        algorithm.a_ref.program(point + torch.as_tensor(offsets, dtype=point.dtype).reshape(-1, 1))

    trace, _ = run_shd(device, device, np.full(offsets.size, g0), sigma, eta_a=eta_a, eta_c=eta_c,
                       transfer_every=tau, steps=steps, seed=settings.seed, c_init=g0, prepare=offset_reference,
                       progress=progress, description="reference")
    finals = window_mean(trace.w, 0.5).reshape(len(OFFSETS), reps) - g0
    bias, error = mean_and_error(finals, axis=1)
    kappa = nominal_response(device).kappa()
    # E|g + ε| of the run: the folded-normal mean at every recorded C of the averaging window
    window = trace.w[trace.steps // 2:].astype(np.float64) - g0
    mean_abs_g = float(np.mean(folded_normal_mean(window, sigma)))
    predicted = np.array([shd_theory.reference_bias(kappa, mean_abs_g, d) for d in OFFSETS])
    offsets_arr = np.asarray(OFFSETS)
    slope, intercept = np.polyfit(offsets_arr, bias, 1)
    predicted_slope = -kappa * mean_abs_g

    monotone = True
    for side in (offsets_arr > 0, offsets_arr < 0):
        order = np.argsort(np.abs(offsets_arr[side]))
        monotone &= bool(np.all(np.diff(np.abs(bias[side][order])) > 0))
    zero = int(np.flatnonzero(offsets_arr == 0)[0])
    claims = [
        claim("A reference offset δ_r from A's symmetry point biases SHD's C; the bias grows with |δ_r|",
              f"|bias| rises monotonically with |δ_r| on both sides: {monotone}; "
              f"bias {bias[0]:+.4f} at δ_r = {OFFSETS[0]:+g}, {bias[-1]:+.4f} at δ_r = {OFFSETS[-1]:+g}",
              monotone, biases=bias),
        claim("With A_ref at the symmetry point (δ_r = 0) C converges to C₀ without bias",
              f"bias {bias[zero]:+.4f} ± {error[zero]:.4f} vs {abs(bias[-1]):.4f} at |δ_r| = {OFFSETS[-1]:g}",
              abs(bias[zero]) < 0.2 * abs(bias[-1]), bias=bias[zero]),
        claim("The bias follows C − C₀ = −κ_A E|g + ε| δ_r (slope within 25 %)",
              f"fitted slope {slope:+.4f}, predicted {predicted_slope:+.4f} ({abs(slope / predicted_slope - 1):.0%} off; "
              f"E|g + ε| = {mean_abs_g:.4f} in this run, σ√(2/π) = {float(folded_normal_mean(0.0, sigma)):.4f})",
              abs(slope / predicted_slope - 1) < 0.25, slope=slope, predicted_slope=predicted_slope),
    ]
    tables = {
        "bias": {"offset": offsets_arr, "bias": bias, "error": error, "predicted": predicted},
        "traces": {"step": np.arange(steps),
                   **{f"C_offset_{d:+g}": trace.w[:, i * reps:(i + 1) * reps].mean(axis=1)
                      for i, d in enumerate(OFFSETS)}},
    }
    summary = {
        "g0": g0, "kappa_a": kappa, "mean_abs_gradient": mean_abs_g,
        "mean_abs_gradient_at_optimum": float(folded_normal_mean(0.0, sigma)),
        "bias_vs_offset": [[d, float(b)] for d, b in zip(OFFSETS, bias)],
        "slope": float(slope), "predicted_slope": predicted_slope, "intercept": float(intercept),
        "claims": claims,
    }
    used = dict(g0=g0, sigma=sigma, eta_a=eta_a, eta_c=eta_c, transfer_every=tau, steps=steps, reps=reps,
                offsets=list(OFFSETS), seed=settings.seed, quick=settings.quick, device=device.to_dict())
    from analogtrain.studies.single_parameter.plots import plot_reference

    return StudyResult("reference", "Reference offset: SHD needs A_ref at the symmetry point", used, tables,
                       summary, plot_reference, time.perf_counter() - start)


__all__ = ["run", "OFFSETS"]
