"""Compiled CPU loops (numba) for the two hot spots of the aggregate pulse update.

On CPU the aggregate update of a training step is hundreds of small tensor operations, each
costing a few microseconds whatever its size. Two parts are written a second time as plain loops
and compiled by numba (a pip wheel with its own LLVM; no system compiler):

* :func:`analogtrain.crossbar.compiled.unit_coincidences` — the train comparisons and the
  coincidence list of an update whose trains are one slot long (the usual small update);
* :func:`analogtrain.devices.compiled.affine_response_at` — the closed-form response of the affine
  devices (constant, linear and soft-bounds steps) to n⁺ up and n⁻ down pulses.

Both take their random numbers from the arrays' own ``torch.Generator`` s, and their results are
those of the PyTorch code they replace (tested: the same coincidence counts from the same
uniforms, the same device response up to float rounding). CUDA tensors, other dtypes than
float32/float64, and runs with the environment variable ``ANALOGTRAIN_COMPILED=0`` use the PyTorch
code. The first call compiles (a few seconds); the result is cached on disk beside the package.
"""

from __future__ import annotations

import os

import torch

try:  # numba is a dependency; without it (or with ANALOGTRAIN_COMPILED=0) the PyTorch code runs
    from numba import njit as _njit
except ImportError:  # pragma: no cover - exercised only where numba cannot be installed
    _njit = None

#: Whether the compiled loops are used where they apply (tests switch it off to run the PyTorch code).
enabled = _njit is not None and os.environ.get("ANALOGTRAIN_COMPILED", "1") != "0"


def njit(function):
    """``numba.njit`` with an on-disk cache (the plain function where numba is missing)."""
    if _njit is None:  # pragma: no cover
        return function
    return _njit(cache=True)(function)


def applies(*tensors: torch.Tensor) -> bool:
    """Whether the compiled loops may take these tensors: enabled, on CPU, float32 or float64."""
    return enabled and all(
        t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors
    )


def as_numpy(tensor: torch.Tensor):
    """A contiguous NumPy view (no copy when the tensor is already contiguous)."""
    if tensor.requires_grad:
        tensor = tensor.detach()
    return (tensor if tensor.is_contiguous() else tensor.contiguous()).numpy()
