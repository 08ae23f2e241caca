"""Compiling elementwise physics for CPU loops (numba), from the one source the tensor code runs.

A formula of this package (e.g. the closed-form response of an affine device,
:mod:`analogtrain.devices.affine`) is written once as a plain Python function of its operands,
with arithmetic operators and the few functions of :mod:`analogtrain.elementwise` (``exp``,
``expm1``, ``sqrt``, ``maximum``, ``where``, ``clip``). Called on tensors it is the reference:
readable, on any torch device. :func:`scalar_twin` compiles *the same code object* with those names
bound to scalar functions instead, so a CPU loop can evaluate it per element without temporaries —
the equation exists once, and the loop is tested equal to the tensor code.

Which code runs is chosen per array by ``UpdateConfig.kernel`` (``"auto"``: the compiled loops on
CPU tensors of float32/float64, the tensor code elsewhere; ``"torch"``: always the tensor code),
never by a global flag. numba is a dependency (a pip wheel with its own LLVM; no system compiler);
the first call compiles (a few seconds) and the result is cached on disk beside the package.
"""

from __future__ import annotations

import math
import types

import torch

try:  # numba is a dependency; without it the tensor code runs everywhere
    from numba import njit as _njit
except ImportError:  # pragma: no cover - exercised only where numba cannot be installed
    _njit = None

#: Whether numba is importable (it is a dependency; False only on a broken install).
AVAILABLE = _njit is not None


def njit(function=None, *, inline: bool = False):
    """``numba.njit`` with an on-disk cache (the plain function where numba is missing);
    ``inline=True``: inlined into its callers (small scalar functions called per element).
    Divisions follow IEEE (x/0 is ±inf or NaN, as in torch), with no zero checks in the loops."""
    if function is None:
        return lambda f: njit(f, inline=inline)
    if _njit is None:  # pragma: no cover
        return function
    return _njit(cache=True, error_model="numpy", inline="always" if inline else "never")(function)


def applies(kernel: str, *tensors: torch.Tensor) -> bool:
    """Whether the compiled loops take these tensors under the choice ``kernel``: ``"auto"``,
    numba present, every tensor on CPU and float32 or float64."""
    return kernel == "auto" and AVAILABLE and all(
        t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors
    )


def as_numpy(tensor: torch.Tensor):
    """A contiguous NumPy view (no copy when the tensor is already contiguous)."""
    if tensor.requires_grad:
        tensor = tensor.detach()
    return (tensor if tensor.is_contiguous() else tensor.contiguous()).numpy()


@njit(inline=True)
def _expm1(z):
    """eᶻ − 1: its Taylor series through z⁹ for |z| < 1/32 (truncation below 10⁻¹⁸ relative,
    under double rounding), else the library's. The small arguments are the common case (a few
    pulses of a device with thousands of states) and the series is several times faster."""
    if abs(z) < 0.03125:
        return z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z * (
            1.0 / 720.0 + z * (1.0 / 5040.0 + z * (1.0 / 40320.0 + z * (1.0 / 362880.0)))))))))
    return math.expm1(z)


@njit(inline=True)
def _exp(z):
    """eᶻ (1 + :func:`_expm1` for small |z|)."""
    if abs(z) < 0.03125:
        return 1.0 + _expm1(z)
    return math.exp(z)


@njit(inline=True)
def _maximum(a, b):
    return a if a > b else b


@njit(inline=True)
def _minimum(a, b):
    return a if a < b else b


@njit(inline=True)
def _where(condition, a, b):
    return a if condition else b


@njit(inline=True)
def _clip(value, low, high):
    return min(max(value, low), high)


#: The scalar meaning of the names of :mod:`analogtrain.elementwise` inside a compiled loop.
SCALAR_FUNCTIONS = {
    "exp": _exp,
    "expm1": _expm1,
    "log1p": math.log1p,
    "sqrt": math.sqrt,
    "maximum": _maximum,
    "minimum": _minimum,
    "where": _where,
    "clip": _clip,
}


def scalar_twin(function, **names):
    """``function``'s own code compiled with the elementwise names bound to scalar functions
    (:data:`SCALAR_FUNCTIONS`) and any other global it calls bound to ``names`` (e.g. the scalar
    twins of the formulas it is built from). The source — hence the equation — is not copied."""
    namespace = dict(function.__globals__)
    namespace.update(SCALAR_FUNCTIONS)
    namespace.update(names)
    twin = types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__,
                              function.__closure__)
    twin.__qualname__ = f"{function.__qualname__}__scalar"
    twin.__module__ = function.__module__
    return njit(twin, inline=True)
