"""Study ``tt-fails``: Tiki-Taka and residual learning need A's reference at A's symmetry point.

Wu, Xiao, Gokmen, Fagbohungbe, Chen, NeurIPS 2025 (arXiv 2502.06309), synthetic check "TT fails
when SP ≠ 0": linear regression with d = 50 features and n = 100 samples, soft-bounds devices on
±3.5 with dw_min = 10⁻⁴ and an up/down imbalance ``up_down`` ∈ {0, 0.1, 0.2, 0.3} (it moves every
device's symmetry point to u·b/(2 − u), up to 0.62), lr 0.8, BL 8, γ = 0.4, 1000 full-batch steps.

Why it fails: A's asymmetric drift pulls A_main toward its symmetry point A*. With A_ref = A*
(zero shifting) that point is A = 0 and the transfers stop at the optimum. With A_ref at the
weight zero instead, A settles near A* − 0 ≠ 0 wherever the gradient is small, and every
transfer pushes C by η_C·A*: C is driven away from the optimum in proportion to A*.

Settings here (this package's conventions): Tiki-Taka (γ = 0) and residual learning (γ = 0.4)
with fast_lr = transfer_lr = 1 and all 50 columns transferred after every step (the reference
transfers a column per *vector*, 100 per batch of this size), analog SGD for comparison with its
reference at the symmetry point or at zero. "calibrated": references at the symmetry points;
"uncalibrated": A_ref (SGD: the reference) programmed to the weight zero after construction.
Metric: the final loss relative to the initial one, f(W_T)/f(W_0), f = mean ½(w·x − y)².
"""

from __future__ import annotations

import torch

from analogtrain.algorithms import AnalogSGDConfig, ResidualLearningConfig, TikiTakaConfig, build_algorithm
from analogtrain.crossbar import UpdateConfig
from analogtrain.devices import SoftBoundsDevice
from analogtrain.studies.algorithms_common import AlgorithmStudy

ALGORITHMS = ("sgd", "tiki-taka", "residual-learning")


def regression_run(algorithm: str, up_down: float, calibrated: bool, *, steps: int = 1000, seed: int = 0,
                   lr: float = 0.8, gamma: float = 0.4, features: int = 50, samples: int = 100) -> float:
    """One run; returns f(W_T)/f(W_0)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, features, generator=generator)
    w_star = 0.5 * torch.randn(1, features, generator=generator)
    y = x @ w_star.T
    device = SoftBoundsDevice(dw_min=1e-4, w_max=3.5, w_min=-3.5, up_down=up_down)
    update = UpdateConfig(bl=8)
    transfer = dict(device_a=device, device_c=device, update=update, transfer_update=update,
                    columns_per_transfer=features)
    if algorithm == "sgd":
        config = AnalogSGDConfig(device=device, update=update, reference="symmetry-point" if calibrated else "zero")
    elif algorithm == "tiki-taka":
        config = TikiTakaConfig(**transfer)
    elif algorithm == "residual-learning":
        config = ResidualLearningConfig(gamma=gamma, **transfer)
    else:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    weight = build_algorithm(config, 1, features, seed=seed)
    if algorithm != "sgd" and not calibrated:
        weight.a_ref.program(torch.zeros(1, features))  # A_ref at the weight zero, not at A's symmetry point

    def loss() -> float:
        return float(((x @ weight.weight.T - y) ** 2).mean() / 2)

    start = loss()
    for _ in range(steps):
        d = (weight.forward(x) - y) / samples  # gradient of the mean loss, per sample
        weight.update(x, d, lr)
    return loss() / start


def tt_fails(up_downs=(0.0, 0.1, 0.2, 0.3), algorithms=ALGORITHMS, *, steps: int = 1000, seed: int = 0) -> AlgorithmStudy:
    """Run every (algorithm, up_down, calibrated) case; claims about the transfer algorithms."""
    rows = []
    for algorithm in algorithms:
        for calibrated in (True, False):
            for u in up_downs:
                rows.append({"algorithm": algorithm, "up_down": float(u), "calibrated": calibrated,
                             "symmetry_point": float(u) * 3.5 / (2 - float(u)),
                             "relative_loss": regression_run(algorithm, u, calibrated, steps=steps, seed=seed)})

    def value(algorithm, calibrated, u):
        return next(r["relative_loss"] for r in rows
                    if r["algorithm"] == algorithm and r["calibrated"] == calibrated and r["up_down"] == u)

    claims = []
    largest = float(max(up_downs))
    for algorithm in [a for a in algorithms if a != "sgd"]:
        calibrated = [value(algorithm, True, float(u)) for u in up_downs]
        uncalibrated = [value(algorithm, False, float(u)) for u in up_downs]
        claims.append({
            "claim": f"{algorithm}: with A_ref at the weight zero the final loss grows with the symmetry-point "
                     f"offset and is ≥ 10× the calibrated one at up_down = {largest}",
            "holds": bool(all(b >= a for a, b in zip(uncalibrated, uncalibrated[1:]))
                          and uncalibrated[-1] >= 10 * calibrated[-1]),
            "uncalibrated": uncalibrated, "calibrated": calibrated,
        })
    if "residual-learning" in algorithms:
        calibrated = [value("residual-learning", True, float(u)) for u in up_downs]
        claims.append({
            "claim": "residual-learning with calibrated references fits the regression (loss ≤ 10⁻³ of the start) "
                     "whatever the device imbalance",
            "holds": bool(max(calibrated) <= 1e-3), "calibrated": calibrated,
        })
    settings = {"up_downs": [float(u) for u in up_downs], "algorithms": list(algorithms), "steps": steps,
                "seed": seed, "lr": 0.8, "gamma": 0.4, "bl": 8, "dw_min": 1e-4, "bound": 3.5,
                "features": 50, "samples": 100}
    return AlgorithmStudy("tt-fails", rows, claims, settings)
