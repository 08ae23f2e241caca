"""A stand-in training function for testing sweeps without training anything.

``runner: sweep_toy:train`` in a sweep file makes every run call :func:`train` here
instead of the real training. It has the real one's signature and writes the same kind of files —
``metrics.csv`` (epoch, split, loss, accuracy, wall_time), a checkpoint per epoch, ``summary.json``
— and resumes from its checkpoint, but its "loss" is a closed-form function of the config, so a
sweep's machinery (scheduling, retries, resumption, collection) can be checked in seconds. The
Dask workers import it as ``sweep_toy``: ``conftest.py`` puts this folder on their PYTHONPATH.
Its config is a plain mapping (checked before any run starts: :func:`check_config`)::

    epochs: 3            # epochs to "train"
    lr: 0.1              # the final loss is (lr - 0.1)**2 + 1/(1 + epochs·lr) ...
    seed: 0
    sleep: 0.0           # seconds per epoch (to look like work)
    fail: false          # raise RuntimeError at the start of every attempt
    fail_attempts: 0     # raise on the first n attempts only (then succeed)
    die_at_epoch: null   # on the first attempt, SIGKILL the own process after writing this
                         # epoch's metrics and before its checkpoint (a worker killed mid-run)
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from analogtrain.errors import ConfigError

_KEYS = {"epochs", "lr", "seed", "sleep", "fail", "fail_attempts", "die_at_epoch"}
CHECKPOINT = "checkpoint.json"
FIELDS = ("epoch", "split", "loss", "accuracy", "wall_time")


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ConfigError(f"toy config: expected a mapping, got {type(config).__name__}")
    unknown = set(config) - _KEYS
    if unknown:
        raise ConfigError(f"toy config: unknown key(s) {sorted(unknown)}; valid: {sorted(_KEYS)}")
    out = {"epochs": 3, "lr": 0.1, "seed": 0, "sleep": 0.0, "fail": False, "fail_attempts": 0,
           "die_at_epoch": None}
    out.update(config)
    if not isinstance(out["epochs"], int) or not 1 <= out["epochs"] <= 10_000:
        raise ConfigError(f"epochs must be an integer in [1, 10000], got {out['epochs']!r}")
    if not isinstance(out["lr"], (int, float)) or not 0 < out["lr"] <= 10:
        raise ConfigError(f"lr must be in (0, 10], got {out['lr']!r}")
    if not isinstance(out["sleep"], (int, float)) or not 0 <= out["sleep"] <= 3600:
        raise ConfigError(f"sleep must be in [0, 3600] seconds, got {out['sleep']!r}")
    return out


def loss_at(config: dict[str, Any], epoch: int, split: str) -> float:
    """The toy's loss after ``epoch`` epochs (deterministic; 'val'/'test' a little higher)."""
    lr = float(config["lr"])
    offset = {"train": 0.0, "val": 0.01, "test": 0.02}[split]
    return (lr - 0.1) ** 2 + 1.0 / (1.0 + epoch * lr) + offset + 1e-3 * (int(config.get("seed", 0)) % 7)


def _attempt(out: Path) -> int:
    marker = out.parent / f".{out.name}.toy-attempts"  # outside the run directory: survives overwrite
    count = int(marker.read_text()) + 1 if marker.is_file() else 1
    marker.write_text(str(count))
    return count


def train(config: dict[str, Any], out_dir, *, resume: bool = False, overwrite: bool = False,
          device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """Pretend to train (see the module docstring); return the summary it writes.

    Directory rules as the real training: ``resume`` needs a checkpoint; an existing directory is
    refused unless ``resume`` or ``overwrite`` (which replaces it).
    """
    config = check_config(dict(config))
    out = Path(out_dir)
    checkpoint = out / CHECKPOINT
    if resume:
        if overwrite:
            raise ConfigError("resume and overwrite cannot be combined")
        if not checkpoint.is_file():
            raise ConfigError(f"resume: no checkpoint '{checkpoint}' to resume from")
    elif out.exists():
        if not overwrite:
            raise ConfigError(f"out_dir: '{out}' already exists; pass overwrite=True or resume=True")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    attempt = _attempt(out)
    if config["fail"] or attempt <= int(config["fail_attempts"]):
        raise RuntimeError(f"toy run failed on purpose (attempt {attempt})")

    start_epoch, rows = 0, []
    if resume:
        start_epoch = int(json.loads(checkpoint.read_text())["epoch"])
        with (out / "metrics.csv").open() as handle:  # drop rows of an epoch that was not saved
            rows = [r for r in csv.DictReader(handle) if int(r["epoch"]) <= start_epoch]
    else:
        (out / "config.json").write_text(json.dumps(config, indent=2))
    t0 = time.perf_counter()
    for epoch in range(start_epoch + 1, config["epochs"] + 1):
        if config["sleep"]:
            time.sleep(float(config["sleep"]))
        for split in ("train", "val", "test"):
            loss = loss_at(config, epoch, split)
            rows.append({"epoch": epoch, "split": split, "loss": loss, "accuracy": math.exp(-loss),
                         "wall_time": time.perf_counter() - t0})
        with (out / "metrics.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        if config["die_at_epoch"] == epoch and attempt == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        checkpoint.write_text(json.dumps({"epoch": epoch}))
    final = {split: {"loss": loss_at(config, config["epochs"], split)} for split in ("train", "val", "test")}
    summary = {"status": "finished", "epochs_completed": config["epochs"], "epochs": config["epochs"],
               "final": final, "attempts": attempt, "device": device}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


#: The sweep validates every run's config with this before anything runs (see analogtrain.sweep.task).
train.check_config = check_config
