"""The few functions an elementwise formula of this package may call besides arithmetic.

On tensors (and Python numbers mixed with them) these are torch's own functions; inside a compiled
CPU loop (:func:`analogtrain.compiled.scalar_twin`) the same names mean their scalar versions. A
formula that uses only operators and these names is therefore one source for both.
"""

from __future__ import annotations

import torch

exp = torch.exp
expm1 = torch.expm1
log1p = torch.log1p
sqrt = torch.sqrt


def maximum(a, b):
    """Elementwise max of a tensor and a tensor or number."""
    return torch.clamp(a, min=b) if not isinstance(b, torch.Tensor) else torch.maximum(a, b)


def minimum(a, b):
    """Elementwise min of a tensor and a tensor or number."""
    return torch.clamp(a, max=b) if not isinstance(b, torch.Tensor) else torch.minimum(a, b)


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``."""
    return torch.where(condition, a, b)


def clip(value, low, high):
    """``value`` clipped to [low, high] (tensors or numbers)."""
    return torch.clamp(value, low, high)
