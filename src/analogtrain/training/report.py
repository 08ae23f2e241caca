"""Outputs of a training run: metrics.csv, learning_curve.png, summary.json."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import torch

from analogtrain.jsonio import plain, write_json
from analogtrain.nn.optimizer import analog_tiles
from analogtrain.nn.tile import AnalogTile

METRIC_COLUMNS = ("epoch", "split", "loss", "accuracy", "lr", "wall_time_s")
SPLITS = ("train", "val", "test")


def write_metrics(out: Path, rows: list[dict[str, Any]]) -> Path:
    """metrics.csv: one row per (epoch, split); accuracy empty where it does not apply."""
    path = out / "metrics.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return path


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """metrics.csv back as rows (numbers parsed; empty accuracy as NaN)."""
    rows = []
    with Path(path).open() as handle:
        for row in csv.DictReader(handle):
            rows.append({
                "epoch": int(row["epoch"]), "split": row["split"], "loss": float(row["loss"]),
                "accuracy": float(row["accuracy"]) if row["accuracy"] else math.nan,
                "lr": float(row["lr"]), "wall_time_s": float(row["wall_time_s"]),
            })
    return rows


def plot_learning_curve(out: Path, rows: list[dict[str, Any]], config) -> Path | None:
    """learning_curve.png: loss (and accuracy for classification) against epoch per split."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classification = any(not math.isnan(r["accuracy"]) for r in rows)
    panels = 2 if classification else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    algorithm = config.algorithm.algorithm if config.algorithm is not None else "floating point"
    for split in SPLITS:
        points = [(r["epoch"], r["loss"], r["accuracy"]) for r in rows if r["split"] == split]
        if not points:
            continue
        epochs = [p[0] for p in points]
        axes[0][0].plot(epochs, [p[1] for p in points], marker="o", ms=3, label=split)
        if classification:
            axes[0][1].plot(epochs, [100 * p[2] for p in points], marker="o", ms=3, label=split)
    loss_name = "cross-entropy (nats)" if classification else "mean squared error"
    axes[0][0].set(xlabel="epoch", ylabel=f"loss: {loss_name}", title=f"{config.model.kind} on "
                   f"{config.dataset.kind}, {algorithm}")
    axes[0][0].legend()
    if classification:
        axes[0][1].set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
        axes[0][1].legend()
    fig.tight_layout()
    path = out / "learning_curve.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _layer_account(model: torch.nn.Module) -> dict[str, Any]:
    layers = {}
    for name, module in model.named_modules():
        if isinstance(module, AnalogTile):
            ops = module.algorithm.operations()
            layers[name.removesuffix(".tile")] = {
                "algorithm": module.algorithm.name,
                "shape": [module.out_features, module.in_features],
                "arrays_per_weight": module.algorithm.arrays_per_weight,
                "operations": ops["totals"],
                # How each array's pulse updates were counted (UpdateConfig.strategy; for "auto"
                # the rule's choice, e.g. {"trains-listed": 916}).
                "update_strategies": {array: counts["strategies"] for array, counts in ops["arrays"].items()},
                **{k: ops[k] for k in ("updates", "transfers") if k in ops},
            }
    return layers


def summarize(trainer, data) -> dict[str, Any]:
    """The run's summary (final and best metrics, timing, analog accounting)."""
    config, rows = trainer.config, trainer.metrics
    last_epoch = max((r["epoch"] for r in rows), default=0)
    final = {r["split"]: {"loss": r["loss"], "accuracy": r["accuracy"]} for r in rows if r["epoch"] == last_epoch}
    val_rows = [r for r in rows if r["split"] == "val" and r["epoch"] > 0]
    best = min(val_rows, key=lambda r: r["loss"]) if val_rows else None
    model = trainer.model
    tiles = analog_tiles(model)
    tile_params = {id(t.handle) for t in tiles}
    digital = sum(p.numel() for p in model.parameters() if id(p) not in tile_params)
    totals: dict[str, float] = {}
    layers = _layer_account(model)
    for layer in layers.values():
        for key, value in layer["operations"].items():
            if isinstance(value, dict):  # counts per strategy
                merged = totals.setdefault(key, {})
                for name, count in value.items():
                    merged[name] = merged.get(name, 0) + count
            else:
                totals[key] = totals.get(key, 0) + value
    return plain({
        "status": "interrupted" if trainer.interrupted else ("finished" if trainer.epoch >= config.epochs
                                                             else "incomplete"),
        "epochs_completed": trainer.epoch,
        "epochs": config.epochs,
        "model": config.model.kind,
        "dataset": config.dataset.kind,
        "algorithm": config.algorithm.algorithm if config.algorithm is not None else "floating-point",
        "device": str(trainer.device),
        "final": final,
        "best_val": {"epoch": best["epoch"], "loss": best["loss"], "accuracy": best["accuracy"]} if best else None,
        "train_examples": len(data.train),
        "wall_time_s": round(trainer.elapsed, 3),
        "digital_parameters": digital,
        "analog_weights": sum(t.out_features * t.in_features for t in tiles),
        "analog_layers": layers,
        "analog_operations": totals,
    })


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    return write_json(out / "summary.json", summary)
