"""The two kinds of run every single-parameter study is made of: SGD and SHD on R independent weights.

Both build an algorithm from :mod:`analogtrain.algorithms` with one row per independent weight
(see :mod:`.common` for why that is exact) and train it with
:func:`~analogtrain.studies.single_parameter.common.train_single_parameter`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from analogtrain.algorithms import AnalogSGDConfig, SHDConfig, TikiTakaConfig, build_algorithm
from analogtrain.studies.single_parameter.common import (
    Trace,
    single_threaded,
    study_update,
    train_single_parameter,
)
from analogtrain.theory.shd import energy


@single_threaded
def run_sgd(
    device,
    targets,
    sigmas,
    *,
    lr: float,
    steps: int,
    seed: int,
    init=0.0,
    prepare: Callable | None = None,
    progress: bool = False,
    description: str = "",
) -> tuple[Trace, object]:
    """Analog SGD (reference at 0) on ``len(targets)`` independent weights starting at ``init``.

    ``targets``, ``sigmas`` and ``init`` are per row (scalars broadcast); ``prepare(algorithm)`` may
    change the arrays before the weights are set.
    """
    targets = np.asarray(targets, dtype=float).reshape(-1)
    rows = targets.size
    sigmas = np.broadcast_to(np.asarray(sigmas, dtype=float), (rows,)).copy()
    init = np.broadcast_to(np.asarray(init, dtype=float), (rows,)).copy()
    max_delta = float(np.max(np.abs(targets - init)) + 5.0 * np.max(sigmas) + 0.05)
    config = AnalogSGDConfig(device=device, update=study_update(lr, device.dw_min, max_delta))
    algorithm = build_algorithm(config, rows, 1, seed=seed)
    if prepare is not None:
        prepare(algorithm)
    if np.any(init != 0.0):
        algorithm.set_weight(torch.as_tensor(init, dtype=torch.float32).reshape(rows, 1))
    trace = train_single_parameter(
        algorithm, torch.as_tensor(targets), torch.as_tensor(sigmas), steps, lr,
        seed=seed + 1, progress=progress, description=description,
    )
    return trace, algorithm


@single_threaded
def run_shd(
    device_a,
    device_c,
    targets,
    sigmas,
    *,
    eta_a: float,
    eta_c: float,
    transfer_every: int,
    steps: int,
    seed: int,
    c_init=0.0,
    calibration: str = "ideal",
    calibration_pairs: int | None = None,
    four_arrays: bool = False,
    prepare: Callable | None = None,
    progress: bool = False,
    description: str = "",
) -> tuple[Trace, object]:
    """SHD (3 arrays; Tiki-Taka with ``four_arrays``) on independent weights starting at C = ``c_init``.

    The learning rate passed per update is 1, so η_A = ``eta_a`` and η_C = ``eta_c``. A_ref is
    calibrated to A_main's symmetry point (``calibration``); ``prepare(algorithm)`` may change the
    arrays before C is set (e.g. offset the reference). The trace holds C and A per step.
    """
    targets = np.asarray(targets, dtype=float).reshape(-1)
    rows = targets.size
    sigmas = np.broadcast_to(np.asarray(sigmas, dtype=float), (rows,)).copy()
    c_init = np.broadcast_to(np.asarray(c_init, dtype=float), (rows,)).copy()
    max_gradient = float(np.max(np.abs(targets - c_init)) + 5.0 * np.max(sigmas) + 0.05)
    max_auxiliary = float(max(device_a.w_max, -device_a.w_min) * 1.2)
    config_class = TikiTakaConfig if four_arrays else SHDConfig
    config = config_class(
        device_a=device_a,
        device_c=device_c,
        update=study_update(eta_a, device_a.dw_min, max_gradient),
        transfer_update=study_update(eta_c, device_c.dw_min, max_auxiliary),
        fast_lr=eta_a,
        transfer_lr=eta_c,
        transfer_every=transfer_every,
        calibration=calibration,
        calibration_pairs=calibration_pairs,
    )
    algorithm = build_algorithm(config, rows, 1, seed=seed)
    if prepare is not None:
        prepare(algorithm)
    algorithm.set_weight(torch.as_tensor(c_init, dtype=torch.float32).reshape(rows, 1))
    trace = train_single_parameter(
        algorithm, torch.as_tensor(targets), torch.as_tensor(sigmas), steps, 1.0,
        seed=seed + 1, progress=progress, description=description, record_auxiliary=True,
    )
    return trace, algorithm


def spiral_metrics(trace: Trace, c0, eta_a: float, eta_c: float, transfer_every: int = 1) -> dict[str, np.ndarray]:
    """Per row: initial |C − C₀|, final distance, energy ratios (issue 3 definitions).

    final_distance: |C − C₀| averaged over the last tenth of the run. energy_ratio: mean total
    energy E_kin + E_pot (:func:`analogtrain.theory.shd.energy`) over the last tenth divided by
    that over the first tenth; likewise for each part.
    """
    c0 = np.broadcast_to(np.asarray(c0, dtype=float), (trace.w.shape[1],))
    kinetic, potential = energy(trace.a, trace.w, c0[None, :], eta_a, eta_c / transfer_every)
    total = kinetic + potential
    tenth = max(1, trace.steps // 10)
    first, last = slice(0, tenth), slice(trace.steps - tenth, trace.steps)
    return {
        "initial_distance": np.abs(trace.w[0] - c0),
        "final_distance": np.abs(trace.w[last] - c0[None, :]).mean(axis=0),
        "final_bias": trace.w[last].mean(axis=0) - c0,
        "energy_ratio": total[last].mean(axis=0) / total[first].mean(axis=0),
        "kinetic_ratio": kinetic[last].mean(axis=0) / kinetic[first].mean(axis=0),
        "potential_ratio": potential[last].mean(axis=0) / potential[first].mean(axis=0),
        "kinetic": kinetic,
        "potential": potential,
    }
