"""Shared machinery of the single-parameter studies (Onen, Gokmen et al. 2022, Figs. 1–2, S3).

The problem: one weight w, error E = ½(w − d)² with samples d ~ N(w₀, σ²), so the gradient of one
sample is g = w − d. Training uses the algorithm classes of :mod:`analogtrain.algorithms` with batch
1, input x = 1 and error δ = g, exactly as a 1 × 1 layer would.

**Many independent weights in one array.** A 1 × 1 array costs one Python-level update per step
whatever its size, so a study simulates R independent single weights as one (R × 1) array: row i is
weight i with its own target, noise level and sample d_i. The update with x = 1 and δ = (δ_1..δ_R)
is still one whole-array pulse update. The pulse update (see :func:`study_update`) uses:

* a fixed bit length BL and no update management, so the pulse probability of row i depends on its
  own δ_i only: the column (x = 1) fires with p = √(η/(BL Δw_min)) per slot, row i with
  q_i = p|δ_i|, and the expected pulse count is η|δ_i|/Δw_min, as required. BL is chosen so that
  neither probability saturates for |δ| up to a stated cap; for a cap ≤ 1 it is BL = ⌈η/Δw_min⌉,
  i.e. p ≈ 1;
* the ``trains`` strategy: the real pulse trains of the sample (one shared column train, one train
  per row) and the closed-form response of a device to its coincident pulses, all of one sign.

Row i therefore receives exactly the pulse statistics of a 1 × 1 array trained on its own data.
Rows are coupled only through the shared column train; with p = 1 there is none, otherwise the
common number N_c of firing column slots scales every row's expected count by the same factor
N_c/(BL·p), whose effect on averages over rows is of second order (the rows' gradients have
independent signs near their fixed points). (The ``moments`` strategy would decouple the rows
exactly but draws its counts several times slower for arrays this small.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from analogtrain.algorithms import AnalogAlgorithm
from analogtrain.config import Config, check_int, check_non_negative, check_range
from analogtrain.crossbar.array import CrossbarArray
from analogtrain.crossbar.update import UpdateConfig
from analogtrain.devices.base import PulsedDevice
from analogtrain.devices.constant_step import ConstantStepDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.errors import ConfigError
from analogtrain.training.progress import progress_bar


@dataclasses.dataclass(frozen=True)
class SingleParameterSettings(Config):
    """Knobs of the single-parameter studies (None: the study's own default).

    sigma: data noise σ (≥ 0). lr: SGD learning rate η (> 0). fast_lr, transfer_lr: SHD's η_A and
    η_C (> 0). transfer_every: τ (≥ 1). g0: the optimum w₀ = C₀ (inside the device range).
    steps: updates per run. reps: independent repetitions. seed: all randomness. quick: reduced
    sizes (for tests and a first look).
    """

    sigma: float | None = None
    lr: float | None = None
    fast_lr: float | None = None
    transfer_lr: float | None = None
    transfer_every: int | None = None
    g0: float | None = None
    steps: int | None = None
    reps: int | None = None
    seed: int = 0
    quick: bool = False

    #: How each knob is named in error messages (parameter and symbol).
    LABELS: ClassVar[dict[str, str]] = {
        "sigma": "sigma (σ)", "lr": "lr (η)", "fast_lr": "fast_lr (η_A)", "transfer_lr": "transfer_lr (η_C)",
        "transfer_every": "transfer_every (τ)", "g0": "g0 (G₀)", "steps": "steps", "reps": "reps", "seed": "seed",
    }

    def validate(self) -> None:
        label = self.LABELS
        if self.sigma is not None:
            check_non_negative(label["sigma"], self.sigma)
        for name in ("lr", "fast_lr", "transfer_lr"):
            if getattr(self, name) is not None:
                check_range(label[name], getattr(self, name), 0.0, 1.0, low_inclusive=False)
        if self.transfer_every is not None:
            check_int(label["transfer_every"], self.transfer_every, 1, 10**6)
        if self.g0 is not None:
            check_range(label["g0"], self.g0)
        if self.steps is not None:
            check_int("steps", self.steps, 20, 10**8)
        if self.reps is not None:
            check_int("reps", self.reps, 1, 10**6)
        check_int("seed", self.seed, 0, 2**63 - 1)

    def pick(self, name: str, full: Any, quick: Any | None = None) -> Any:
        """The value of ``name`` if set, else the study default (``quick`` in quick mode)."""
        value = getattr(self, name)
        if value is not None:
            return value
        return quick if (self.quick and quick is not None) else full


# -- devices of the studies --------------------------------------------------------------------

#: Nominal step of the idealised study devices (2000 steps across ±1).
STUDY_DW_MIN = 0.001


def symmetric_device() -> ConstantStepDevice:
    """The symmetric device of Figs. 1C–D / 2E: constant steps of 0.001 on [−1, 1]."""
    return ConstantStepDevice(dw_min=STUDY_DW_MIN, w_max=1.0, w_min=-1.0)


def asymmetric_device(bound: float = 1.0) -> SoftBoundsDevice:
    """The asymmetric device of Figs. 1F–G / 2F: soft bounds ±b (κ = 1/b), symmetry point 0."""
    return SoftBoundsDevice(dw_min=STUDY_DW_MIN, w_max=bound, w_min=-bound)


def check_g0(g0: float, device: PulsedDevice, name: str = "g0 (G₀)", margin: float = 0.0) -> None:
    """G₀ must lie inside the device range (shrunk by ``margin`` on each side)."""
    low, high = device.w_min + margin, device.w_max - margin
    if not (isinstance(g0, (int, float)) and math.isfinite(g0) and low <= g0 <= high):
        raise ConfigError(f"{name} must be inside the device range [{low:g}, {high:g}], got {g0!r}")


def study_update(lr: float, granularity: float, max_delta: float, strategy: str = "trains") -> UpdateConfig:
    """Fixed-bit-length pulse update with no update management (module docstring).

    p = √(lr/(BL·Δw_min)) ≤ 1 needs BL ≥ lr/Δw_min; q = p|δ| ≤ 1 for |δ| ≤ max_delta needs
    BL ≥ lr·max_delta²/Δw_min.
    """
    needed = lr / granularity * max(1.0, max_delta * max_delta)
    bl = int(min(4096, max(1, math.ceil(needed - 1e-9))))
    return UpdateConfig(bl=bl, update_management=False, bl_management=False, strategy=strategy)


def set_row_parameters(array: CrossbarArray, **values: torch.Tensor) -> None:
    """Give the devices of ``array`` per-device parameter values (e.g. one γ per row).

    Device-to-device variation set by hand: the values (broadcast to the array's shape) replace
    the sampled ones and the model's derived per-device quantities are recomputed.
    """
    params = dict(array.params)
    for name, value in values.items():
        if name not in params:
            raise ConfigError(f"device model {array.device_model.model!r} has no per-device parameter {name!r}")
        params[name] = torch.as_tensor(value, dtype=array.dtype, device=array.torch_device).expand(array.shape).clone()
    params.update(array.device_model.derived_parameters(params))
    array.params = params


def column(values, rows: int | None = None) -> torch.Tensor:
    """A (R, 1) float32 column from a scalar or sequence."""
    t = torch.as_tensor(values, dtype=torch.float32).reshape(-1, 1)
    if rows is not None and t.shape[0] == 1:
        t = t.expand(rows, 1).clone()
    return t


# -- the training loop ---------------------------------------------------------------------------


@dataclasses.dataclass
class Trace:
    """Recorded trajectories, one row per step (before that step's update), one column per weight.

    w: the visible weight (SGD: W; SHD: C). a: the auxiliary weight A (SHD only).
    """

    w: np.ndarray
    a: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.w.shape[0]


def train_single_parameter(
    algorithm: AnalogAlgorithm,
    targets: torch.Tensor,
    sigmas: torch.Tensor,
    steps: int,
    lr: float,
    *,
    seed: int,
    progress: bool = False,
    description: str = "",
    record_auxiliary: bool = False,
) -> Trace:
    """Train the R independent weights of an (R × 1) ``algorithm`` on E = ½(w − d)².

    Per step: y = forward(x = 1) (the analog read of the visible weight), d_i = w₀,i + σ_i ξ_i,
    δ = y − d, then ``algorithm.update(x, δ, lr)``. Records the visible weight (and A) per step.
    The progress bar (if ``progress``) shows the mean distance |w − w₀| over the weights.
    """
    rows = algorithm.out_features
    if algorithm.in_features != 1:
        raise ConfigError(f"single-parameter training needs one column, got {algorithm.in_features}")
    targets = column(targets, rows)[:, 0]
    sigmas = column(sigmas, rows)[:, 0]
    generator = torch.Generator().manual_seed(int(seed))
    x = torch.ones((1, 1))
    record_w = torch.empty((steps, rows))
    record_a = torch.empty((steps, rows)) if record_auxiliary else None
    block = 1000
    bar = _progress(steps, description, progress)
    with single_thread():
        _loop(algorithm, x, targets, sigmas, steps, lr, generator, record_w, record_a, bar, block, rows)
    bar.update(steps - bar.n)
    bar.close()
    return Trace(record_w.numpy(), record_a.numpy() if record_a is not None else None)


def _loop(algorithm, x, targets, sigmas, steps, lr, generator, record_w, record_a, bar, block, rows):
    noise = None
    for step in range(steps):
        if step % block == 0:
            noise = torch.randn((min(block, steps - step), rows), generator=generator) * sigmas
            if step:
                bar.update(block)
                bar.set_postfix(distance=f"{float((record_w[step - 1] - targets).abs().mean()):.4f}")
        y = algorithm.forward(x)
        record_w[step] = y[0]
        if record_a is not None:
            record_a[step] = algorithm.auxiliary_weight[:, 0]
        delta = y - (targets + noise[step % block])
        algorithm.update(x, delta, lr)


@contextlib.contextmanager
def single_thread():
    """Run torch on one intra-op thread (restored afterwards).

    The arrays of these studies are tiny; a thread pool only adds synchronisation per operation,
    which on a busy machine costs more than the work itself.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_threaded(function):
    """Decorator: run ``function`` inside :func:`single_thread`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_thread():
            return function(*args, **kwargs)

    return wrapper


class _NoBar:
    n = 0

    def update(self, k):
        self.n += k

    def set_postfix(self, **values):
        pass

    def close(self):
        pass


def _progress(total: int, description: str, enabled: bool):
    if not enabled:
        return _NoBar()
    return progress_bar(total, description or "training", unit="step", leave=False)


# -- statistics and claims --------------------------------------------------------------------------


def window_mean(trace: np.ndarray, fraction: float) -> np.ndarray:
    """Per-column time average over the last ``fraction`` of the steps."""
    start = int(round(trace.shape[0] * (1.0 - fraction)))
    return trace[start:].astype(np.float64).mean(axis=0)


def mean_and_error(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean along ``axis`` (one value: error NaN)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    error = values.std(axis=axis, ddof=1) / math.sqrt(n) if n > 1 else np.full_like(mean, math.nan)
    return mean, error


def claim(text: str, measured: str, holds: bool, **numbers: Any) -> dict[str, Any]:
    """One claim of the paper with what this run measured (``numbers`` are kept for tests)."""
    entry: dict[str, Any] = {"claim": text, "measured": measured, "holds": bool(holds)}
    if numbers:
        entry["values"] = {k: _plain_number(v) for k, v in numbers.items()}
    return entry


def _plain_number(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


@dataclasses.dataclass
class StudyResult:
    """What a study returns: its tables, the summary (with ``claims``) and how to draw it."""

    name: str
    title: str
    settings: dict[str, Any]
    tables: dict[str, dict[str, np.ndarray]]
    summary: dict[str, Any]
    plot: Callable[["StudyResult", Any], list[str]] | None = None
    seconds: float = 0.0

    @property
    def claims(self) -> list[dict[str, Any]]:
        return self.summary.get("claims", [])

    @property
    def all_hold(self) -> bool:
        return all(c["holds"] for c in self.claims)
