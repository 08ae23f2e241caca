"""Checks of the tensors handed to an array: types, shapes, and no NaN/inf (before any change)."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator

import torch

from analogtrain.errors import ConfigError

_TRUSTED = threading.local()


@contextlib.contextmanager
def checked_inputs() -> Iterator[None]:
    """Within this block, array reads and updates skip the NaN/inf scan of their inputs.

    For callers that check their data once and then make many reads of values derived from it
    by finite operations (an LSTM layer reads every time step of a checked sequence). Shapes and
    types are still checked.
    """
    depth = getattr(_TRUSTED, "depth", 0)
    _TRUSTED.depth = depth + 1
    try:
        yield
    finally:
        _TRUSTED.depth = depth


def inputs_checked() -> bool:
    """Whether the caller runs inside :func:`checked_inputs` (its data is known to be finite)."""
    return bool(getattr(_TRUSTED, "depth", 0))


def check_finite_tensor(name: str, value: torch.Tensor) -> None:
    """Reject NaN/inf in ``value`` with a message naming the argument."""
    # One reduction decides in the common case: NaN and ±inf always make the sum non-finite; only
    # a non-finite sum (possibly an overflow of large finite values) needs the elementwise check.
    if value.requires_grad:
        value = value.detach()  # a check, not part of any graph
    if value.numel() and not math.isfinite(float(value.sum())) and not bool(torch.isfinite(value).all()):
        raise ConfigError(f"{name} must contain only finite values (no NaN or inf)")


def check_tensor(name: str, value: torch.Tensor, shape_last: int | None = None, ndim: int | None = None) -> None:
    """Reject non-tensors, wrong shapes and NaN/inf with a message naming the argument."""
    if not isinstance(value, torch.Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.dim() != ndim:
        raise ConfigError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}")
    if shape_last is not None and value.shape[-1] != shape_last:
        raise ConfigError(
            f"{name} must have last dimension {shape_last}, got shape {tuple(value.shape)}"
        )
    if not inputs_checked():
        check_finite_tensor(name, value)
