"""Plain data and JSON files: the one place that turns values into JSON and writes or reads them.

* :func:`plain`: a JSON-ready copy of a value — mappings (keys made strings) and sequences
  become dicts and lists; tensors, numpy arrays and scalars become (lists of) numbers; paths
  become strings; objects with a ``to_dict()`` method (every :class:`~analogtrain.config.Config`)
  become their dict; non-finite floats become ``None`` (JSON ``null``), or with
  ``nonfinite="string"`` the strings ``"inf"``/``"-inf"`` (NaN kept) as configs write them.
* :func:`state_copy`: a copy made of tensors, dicts, lists and scalars only (for state dicts
  that ``torch.load(weights_only=True)`` must read back).
* :func:`write_json` (indented, UTF-8, atomic: a reader sees the old or the new file, never half
  of one), :func:`read_json` (None when absent or unreadable), :func:`atomic_write_text`.

It sits below every layer (it imports nothing of the package), so configs, analog tiles,
training runs, sweeps, studies and the command line all share it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Literal


def _walk(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """Copy nested mappings (string keys) and lists/tuples (as lists); ``leaf`` maps the rest."""
    if isinstance(value, dict):
        return {str(k): _walk(v, leaf) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, leaf) for v in value]
    return leaf(value)


def plain(value: Any, *, nonfinite: Literal["null", "string"] = "null") -> Any:
    """A JSON-ready copy of ``value`` (see the module docstring)."""

    def leaf(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            if nonfinite == "string":
                return item if math.isnan(item) else ("inf" if item > 0 else "-inf")
            return None
        if item is None or isinstance(item, (str, int, float, bool)):
            return item
        if isinstance(item, Path):
            return str(item)
        if callable(getattr(item, "to_dict", None)):  # a Config
            return plain(item.to_dict(), nonfinite=nonfinite)
        if callable(getattr(item, "tolist", None)):  # torch.Tensor, numpy array or scalar
            return plain(item.tolist(), nonfinite=nonfinite)
        return item

    return _walk(value, leaf)


def state_copy(value: Any) -> Any:
    """A copy of ``value`` made of (detached, cloned) tensors, dicts, lists, str, int, float, bool
    and None only; a TypeError names anything else."""
    import torch

    def leaf(item: Any) -> Any:
        if isinstance(item, torch.Tensor):
            return item.detach().clone()
        if item is None or isinstance(item, (str, int, float, bool)):
            return item
        raise TypeError(f"cannot store {type(item).__name__} in an analog state dict")

    return _walk(value, leaf)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a file so that a reader sees the old or the new content, never half of it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory's entries (a rename into it) to disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def dumps(data: Any) -> str:
    """``data`` as indented JSON text (via :func:`plain`: NaN and inf as ``null``)."""
    return json.dumps(plain(data), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (via :func:`plain`; atomic); return the path."""
    return atomic_write_text(path, dumps(data))


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file's content, or None if it is absent or unreadable (e.g. half written)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
