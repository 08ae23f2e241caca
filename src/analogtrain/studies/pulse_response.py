"""Pulse-response study of one device model: how the weight of many sampled devices moves per pulse.

Two experiments on ``n_devices`` devices drawn with their device-to-device variation
(:meth:`~analogtrain.devices.base.PulsedDevice.sample`), each pulse with its cycle-to-cycle noise
(:meth:`~analogtrain.devices.base.PulsedDevice.pulse`):

* **up/down sweep** — every device starts at the bottom of its own range (w_min,ij), receives
  ``pulses`` up pulses, then ``pulses`` down pulses (the classic potentiation/depression curve);
* **random sequence** — every device starts at its own symmetry point (0 where it has none) and
  receives ``pulses`` up and ``pulses`` down pulses in an independent random order. Random equal
  numbers of up and down pulses hold an asymmetric device near its symmetry point w*; the time
  average over the second half of this sequence is a *measured* w*, to compare with the model's.

Only per-step statistics over the devices are kept (mean, std, min, max), so memory does not grow
with the number of devices. :func:`plot_pulse_response` draws both experiments.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import torch

from analogtrain.config import check_int
from analogtrain.devices.base import PulsedDevice
from analogtrain.errors import ConfigError
from analogtrain.training.progress import progress_bar

#: Default pulses per direction: twice the number of device states (a soft-bounds device then gets
#: within e⁻⁴ of its bound), within these limits.
MAX_DEFAULT_PULSES = 10_000
MIN_DEFAULT_PULSES = 10
MAX_PULSES = 1_000_000
MAX_DEVICES = 10_000_000

#: Column order of :meth:`PulseResponse.rows` (and of the CLI's pulse_response.csv).
CSV_COLUMNS = ("pulse", "phase", "mean", "std", "min", "max")
_STATS = ("mean", "std", "min", "max")


def default_pulses(device: PulsedDevice) -> int:
    """Pulses per direction that span the range: ⌈2·(w_max − w_min)/dw_min⌉, within [10, 10 000]."""
    return int(min(MAX_DEFAULT_PULSES, max(MIN_DEFAULT_PULSES, math.ceil(2.0 * device.states))))


def _nan_to_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclasses.dataclass
class PulseResponse:
    """Result of :func:`pulse_response`.

    ``sweep`` and ``random`` are (2·pulses + 1, 4) tensors of (mean, std, min, max) over the
    devices of the weight after k = 0 … 2·pulses pulses (row 0 is the starting state). In
    ``sweep``, pulses 1 … ``pulses`` are up and the rest down.
    """

    name: str
    device: PulsedDevice
    n_devices: int
    pulses: int
    seed: int
    sweep: torch.Tensor
    random: torch.Tensor
    #: Model symmetry point of each device (NaN where it has none unique), shape (n_devices,).
    symmetry_points: torch.Tensor
    #: Per-device average weight over the second half of the random sequence, shape (n_devices,).
    measured_symmetry_points: torch.Tensor

    def phase(self, pulse: int) -> str:
        """Phase of the sweep at ``pulse`` (the starting state counts as "up")."""
        return "up" if pulse <= self.pulses else "down"

    def rows(self) -> list[dict[str, Any]]:
        """One row per pulse and phase ("up", "down" for the sweep, "random"), columns CSV_COLUMNS."""
        rows: list[dict[str, Any]] = []
        for values, label in ((self.sweep, None), (self.random, "random")):
            table = values.detach().cpu().double().tolist()
            for pulse, stats in enumerate(table):
                row = {"pulse": pulse, "phase": label or self.phase(pulse)}
                row.update(dict(zip(_STATS, stats)))
                rows.append(row)
        return rows

    def symmetry_point_stats(self) -> dict[str, Any]:
        """Mean and std (over devices with a unique point) of the model symmetry point; None if none."""
        points = self.symmetry_points.detach().double().cpu()
        unique = points[~torch.isnan(points)]
        if unique.numel() == 0:
            return {"mean": None, "std": None, "devices_with_unique_point": 0}
        return {
            "mean": float(unique.mean()),
            "std": float(unique.std(correction=0)),
            "devices_with_unique_point": int(unique.numel()),
        }

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (NaN already replaced by None)."""
        measured = self.measured_symmetry_points.detach().double().cpu()
        sweep = self.sweep.detach().double().cpu()
        return {
            "device": self.name,
            "model": self.device.model,
            "parameters": self.device.to_dict(),
            "states": self.device.states,
            "devices": self.n_devices,
            "pulses": self.pulses,
            "seed": self.seed,
            "symmetry_point": self.symmetry_point_stats(),
            "measured_symmetry_point": {
                "mean": _nan_to_none(float(measured.mean())),
                "std": _nan_to_none(float(measured.std(correction=0))),
                "method": "per-device average over the second half of the random up/down sequence",
            },
            "sweep": {
                "start_mean": float(sweep[0, 0]),
                "after_up_mean": float(sweep[self.pulses, 0]),
                "after_up_max": float(sweep[self.pulses, 3]),
                "end_mean": float(sweep[-1, 0]),
                "end_min": float(sweep[-1, 2]),
            },
        }


class _Recorder:
    """Per-step (mean, std, min, max) over devices, computed in blocks of steps (fewer kernels)."""

    def __init__(self, n_devices: int, like: torch.Tensor, block_elements: int = 2**22) -> None:
        self.block = torch.empty((max(1, min(1024, block_elements // n_devices)), n_devices),
                                 dtype=like.dtype, device=like.device)
        self.filled = 0
        self.stats: list[torch.Tensor] = []

    def add(self, w: torch.Tensor) -> None:
        self.block[self.filled].copy_(w)
        self.filled += 1
        if self.filled == self.block.shape[0]:
            self.flush()

    def flush(self) -> None:
        if self.filled:
            rows = self.block[: self.filled]
            std, mean = torch.std_mean(rows, dim=1, correction=0)
            self.stats.append(torch.stack((mean, std, rows.amin(dim=1), rows.amax(dim=1)), dim=1))
            self.filled = 0

    def result(self) -> torch.Tensor:
        self.flush()
        return torch.cat(self.stats).cpu()


def pulse_response(
    device: PulsedDevice,
    n_devices: int = 100,
    pulses: int | None = None,
    seed: int = 0,
    name: str | None = None,
    torch_device: torch.device | str | None = None,
    progress: bool = False,
) -> PulseResponse:
    """Run the up/down sweep and the random up/down sequence (see module docstring).

    ``progress``: show a tqdm progress bar on stderr (only when it is a terminal).
    """
    if not isinstance(device, PulsedDevice):
        raise ConfigError(f"device must be a PulsedDevice model, got {type(device).__name__}")
    check_int("devices", n_devices, 1, MAX_DEVICES)
    if pulses is None:
        pulses = default_pulses(device)
    check_int("pulses", pulses, 1, MAX_PULSES)
    check_int("seed", seed, 0, 2**63 - 1)
    torch_device = torch.device(torch_device) if torch_device is not None else torch.device("cpu")

    generator = torch.Generator(device=torch_device)
    generator.manual_seed(seed)
    shape = (n_devices,)
    bar = progress_bar(4 * pulses, f"pulsing {n_devices} devices", enabled=progress, unit="pulse", leave=False)
    params = device.sample(shape, generator, torch_device, torch.float32)

    # Up/down sweep, from the bottom of each device's own range.
    w = params["w_min"].clone()
    up = torch.ones(shape, device=torch_device)
    sweep = _Recorder(n_devices, w)
    sweep.add(w)
    for k in range(2 * pulses):
        w = device.pulse(w, params, up if k < pulses else -up, generator)
        sweep.add(w)
        bar.update()

    # Random sequence: per device, `pulses` up and `pulses` down pulses in random order,
    # starting at its own symmetry point (0 where it has none unique).
    symmetry = device.symmetry_point(params)
    w = device.clip(torch.nan_to_num(symmetry, nan=0.0), params)
    order = torch.rand((2 * pulses, n_devices), generator=generator, device=torch_device).argsort(dim=0)
    directions = torch.where(order < pulses, 1.0, -1.0)
    random = _Recorder(n_devices, w)
    random.add(w)
    average = torch.zeros_like(w)
    second_half = 0
    for k in range(2 * pulses):
        w = device.pulse(w, params, directions[k], generator)
        random.add(w)
        bar.update()
        if k + 1 >= pulses:
            average += w
            second_half += 1
    average /= second_half
    bar.close()

    return PulseResponse(
        name=name or device.model,
        device=device,
        n_devices=n_devices,
        pulses=pulses,
        seed=seed,
        sweep=sweep.result(),
        random=random.result(),
        symmetry_points=symmetry.cpu(),
        measured_symmetry_points=average.cpu(),
    )


def plot_pulse_response(result: PulseResponse, path: str | Path) -> Path:
    """Two panels — the up/down sweep and the random sequence — mean ± std band, min/max, w*."""
    from matplotlib.figure import Figure  # no pyplot: no global state, renders with Agg

    figure = Figure(figsize=(12, 4.8), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    sym = result.symmetry_point_stats()
    panels = (
        (axes[0], result.sweep, f"{result.pulses} up, then {result.pulses} down pulses (from w_min)"),
        (axes[1], result.random, f"random order of {result.pulses} up + {result.pulses} down (from w*)"),
    )
    for ax, values, subtitle in panels:
        values = values.detach().double().cpu()
        x = torch.arange(values.shape[0]).numpy()
        mean, std, low, high = (values[:, i].numpy() for i in range(4))
        ax.fill_between(x, mean - std, mean + std, color="tab:blue", alpha=0.3, linewidth=0, label="mean ± std")
        ax.plot(x, mean, color="tab:blue", linewidth=1.5, label="mean over devices")
        ax.plot(x, low, color="tab:gray", linewidth=0.6, linestyle=":", label="min / max")
        ax.plot(x, high, color="tab:gray", linewidth=0.6, linestyle=":")
        if sym["mean"] is not None:
            ax.axhline(sym["mean"], color="tab:red", linestyle="--", linewidth=1.2,
                       label=f"symmetry point w* = {sym['mean']:.3g} (mean)")
        ax.set_xlabel("pulse number")
        ax.set_title(subtitle, fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].axvline(result.pulses, color="black", linewidth=0.8, linestyle="-.", label="up → down")
    axes[0].set_ylabel("weight (normalised conductance)")
    for ax in axes:
        ax.legend(loc="best", fontsize=8)
    figure.suptitle(f"Pulse response of {result.name} ({result.n_devices} devices, {result.device.model} model)")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
