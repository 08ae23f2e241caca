"""Figures of the Fig. 3 study: learning-curve panels A (SGD) and B (SHD) with pulse-response insets.

Colours follow the paper: black is the perfectly symmetric device (γ = 0); increasing asymmetry
runs through a colour map (blue → red); floating point is dashed. Each panel carries a small
inset with the average pulse response of every device family: the mean weight over sampled
devices (device-to-device variation) under a train of up pulses then down pulses, each pulse with
its cycle-to-cycle noise.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from analogtrain.devices.base import PulsedDevice
from analogtrain.studies.fig3.config import device, gamma_label

#: Devices sampled per family for the insets, and the seed.
INSET_DEVICES = 200
INSET_SEED = 0


def colour(gamma: float, gammas) -> Any:
    """Black for γ = 0, else a colour from blue (least asymmetric) through green to red (most)."""
    from matplotlib import colormaps

    if gamma == 0:
        return "black"
    levels = sorted(g for g in gammas if g > 0)
    position = levels.index(gamma) / max(1, len(levels) - 1)
    return colormaps["turbo"](0.12 + 0.8 * position)


#: Pulses per direction of the insets (None: as many as the nominal range holds steps).
INSET_PULSES: int | None = None


@dataclasses.dataclass
class AverageResponse:
    """Mean and std over sampled devices of the weight after k pulses (k = 0 … 2·pulses)."""

    gamma: float
    pulses: int
    mean: torch.Tensor
    std: torch.Tensor


def average_responses(models: dict[float, Any], pulses: int, n_devices: int, seed: int) -> dict[float, AverageResponse]:
    """γ -> response of ``n_devices`` devices of ``models[γ]``: from each device's w_min, ``pulses``
    up pulses then ``pulses`` down pulses (cycle-to-cycle noise on every pulse).

    The families share one model class and noise level, so all their devices are pulsed together
    as one tensor (their per-device parameters carry the differences).
    """
    generator = torch.Generator().manual_seed(seed)
    gammas = list(models)
    first = models[gammas[0]]
    samples = [models[g].sample((n_devices,), generator, torch.device("cpu"), torch.float32) for g in gammas]
    params = {key: torch.cat([sample[key] for sample in samples]) for key in samples[0]}
    w = params["w_min"].clone()
    up = torch.ones_like(w)
    trace = [w]
    for k in range(2 * pulses):
        w = first.pulse(w, params, up if k < pulses else -up, generator)
        trace.append(w)
    stacked = torch.stack(trace).reshape(2 * pulses + 1, len(gammas), n_devices)
    return {g: AverageResponse(g, pulses, stacked[:, i].mean(dim=1), stacked[:, i].std(dim=1, correction=0))
            for i, g in enumerate(gammas)}


def pulse_responses(config) -> dict[float, AverageResponse]:
    """γ -> average pulse response of that family's device."""

    models = {gamma: PulsedDevice.from_dict_polymorphic(device(config, gamma)) for gamma in config.gammas}
    first = next(iter(models.values()))
    # As many pulses per direction as the nominal range holds steps: a symmetric device just
    # crosses its range, an asymmetric one visibly saturates.
    pulses = INSET_PULSES or max(10, round((first.w_max - first.w_min) / first.dw_min))
    if all(type(m) is type(first) and m.dw_min_std == first.dw_min_std for m in models.values()):
        return average_responses(models, pulses, INSET_DEVICES, INSET_SEED)
    return {g: average_responses({g: m}, pulses, INSET_DEVICES, INSET_SEED)[g] for g, m in models.items()}


def _draw_inset(ax, config, responses) -> None:
    for gamma, result in responses.items():
        mean = result.mean.numpy()
        ax.plot(range(len(mean)), mean, color=colour(gamma, config.gammas), linewidth=1.0)
    ax.set_xlabel("pulses (up, then down)", fontsize=6)
    ax.set_ylabel("mean w", fontsize=6)
    ax.tick_params(labelsize=5)
    ax.set_title("average pulse response", fontsize=6)


def plot_fig3(config, rows: dict[str, list[dict[str, Any]]], responses: dict[float, Any], path: str | Path) -> Path:
    """Panels A (analog SGD) and B (SHD): test cross-entropy against epoch, FP dashed in both."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.8), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    # The initial evaluation (epoch 0, untrained: ≈ ln(vocabulary)) is left out once there are
    # two trained epochs, so that the axis shows the differences between the runs.
    first = 1 if config.epochs >= 2 else 0
    fp = [(r["epoch"], r.get("test_loss")) for r in rows.get("fp", [])
          if r.get("test_loss") is not None and r["epoch"] >= first]
    finite = [v for runs in rows.values() for r in runs for v in [r.get("test_loss")]
              if v is not None and r["epoch"] >= first]
    for ax, algorithm, title in ((axes[0], "sgd", "A  analog SGD"), (axes[1], "shd", "B  SHD (3 arrays)")):
        for gamma in config.gammas:
            points = [(r["epoch"], r.get("test_loss")) for r in rows.get(f"{algorithm}_gamma-{gamma_label(gamma)}", [])
                      if r.get("test_loss") is not None and r["epoch"] >= first]
            if points:
                label = "γ = 0 (symmetric)" if gamma == 0 else f"γ = {gamma:g}"
                ax.plot(*zip(*points), color=colour(gamma, config.gammas), marker="o", markersize=3,
                        linewidth=1.5, label=label)
        if fp:
            ax.plot(*zip(*fp), color="dimgray", linestyle="--", linewidth=1.5, label="floating point")
        ax.set_title(title, loc="left", fontweight="bold")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left", ncol=2)
        if responses:
            _draw_inset(ax.inset_axes([0.62, 0.66, 0.35, 0.28]), config, responses)
    axes[0].set_ylabel("test cross-entropy (nats / character)")
    if finite:
        low, high = min(finite), max(finite)
        span = high - low + 1e-3
        axes[0].set_ylim(low - 0.35 * span, high + 0.75 * span)  # room for the inset above, legend below
    budget = f"first {config.max_chars:,} characters" if config.max_chars else "full text"
    figure.suptitle(f"LSTM2-64WP on War and Peace ({budget}, {config.epochs} epochs, sequences of "
                    f"{config.seq_len}, batch {config.batch_size}): linear-step devices of increasing asymmetry γ")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def plot_pulse_responses(config, responses: dict[float, Any], path: str | Path) -> Path:
    """The device families: mean ± std of the weight over sampled devices, up then down pulses."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.subplots()
    for gamma, result in responses.items():
        mean, std = result.mean.double().numpy(), result.std.double().numpy()
        x = range(len(mean))
        c = colour(gamma, config.gammas)
        ax.fill_between(x, mean - std, mean + std, color=c, alpha=0.12, linewidth=0)
        ax.plot(x, mean, color=c, linewidth=1.5, label=f"γ = {gamma:g}")
    ax.set_xlabel("pulse number (up pulses, then down pulses)")
    ax.set_ylabel("weight (normalised conductance)")
    ax.set_title(f"Average pulse response of each device family ({INSET_DEVICES} devices, mean ± std; "
                 f"dw_min = {config.dw_min:g}, range ±{config.w_max:g})", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
