"""Checkpoints of a training run: ``checkpoint.pt`` in the run directory.

A checkpoint is a dict of tensors and plain containers (the state of :class:`~analogtrain.training.loop.Trainer`:
model, optimizer, LR scheduler, generators, position in the epoch, metrics so far), tagged with
:data:`CHECKPOINT_FORMAT`. It is written atomically (:func:`save_checkpoint`) and read with
``torch.load(weights_only=True)`` (:func:`load_checkpoint`): loading never runs code from the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from analogtrain.errors import ConfigError
from analogtrain.jsonio import fsync_dir

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


def save_checkpoint(out: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``out/checkpoint.pt`` (a reader sees the old or the new file); return the path."""
    path = Path(out) / CHECKPOINT
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_dir(path.parent)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint safely (tensors and plain containers only)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # truncated, empty, foreign or unsafe content (never suggest weights_only=False)
        state = None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(f"{path} is not an analogtrain checkpoint or is corrupt")
    return state
