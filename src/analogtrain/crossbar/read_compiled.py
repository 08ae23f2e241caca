"""The periphery of an analog read as two compiled loops (see :mod:`analogtrain.compiled`).

On CPU a read of a small batch through :func:`~analogtrain.crossbar.io.analog_read`'s tensor
pipeline is some twenty tensor operations, each costing a few microseconds whatever its size, next
to the two that do the work (the product and the read-noise draw). An LSTM makes hundreds of such
reads per batch. Here the elementwise stages are written a second time as plain loops:

* :func:`dac` — noise management (α = max|x| per vector, 1 for an all-zero vector) and the DAC
  (``x/α`` quantized and clipped), one pass per vector;
* :func:`adc` — the ADC (quantize, clip) of the noisy product, which vectors clipped (for bound
  management), and the scaling back by α of the vectors that are done.

The product ``x @ Wᵀ`` and the read noise (``torch.randn`` from the array's generator, added with
``Tensor.add_``) stay the very torch calls of the reference pipeline, in the same order and shapes,
and the loops do the same float operations in the same order as the tensor code (IEEE division
and multiplication in the tensor's dtype, round half to even, min/max clipping): the result is the
reference's, bit for bit (tested), NaN included. :func:`read` is the driver, bound management's
re-reads included; :func:`~analogtrain.crossbar.io.analog_read` calls it for CPU float32/float64
tensors when the array's ``UpdateConfig.kernel`` is ``"auto"``, and the tensor code (the reference,
and the code for CUDA) otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from analogtrain import compiled

# Loops written so that LLVM vectorizes them: no Python division checks (error_model numpy: x/0
# is inf or NaN, as in torch), selects instead of branches, the maximum on integer bit patterns.
if compiled._njit is not None:
    from numba import types
    from numba.extending import overload

    def _kernel(function):
        return compiled._njit(cache=True, error_model="numpy")(function)
else:  # pragma: no cover - numba missing: the tensor code runs, these are never called
    types = overload = None

    def _kernel(function):
        return function

#: ``mode`` of :func:`dac`: the divisors are 1 (no noise management), max|x| (abs_max), given.
ONES, ABS_MAX, GIVEN = 0, 1, 2


def _bits(values):  # pragma: no cover - compiled only
    """``values`` viewed as integers of the same size."""


def _magnitude_mask(values):  # pragma: no cover - compiled only
    """The integer (of the size of ``values``' floats) that clears the sign bit: for IEEE floats
    with the sign cleared, the order of the bit patterns is that of the values, NaNs above inf."""


if overload is not None:
    @overload(_bits)
    def _bits_typed(values):
        if values.dtype == types.float32:
            return lambda values: values.view(np.int32)
        return lambda values: values.view(np.int64)

    @overload(_magnitude_mask)
    def _magnitude_mask_typed(values):
        if values.dtype == types.float32:
            return lambda values: np.int32(0x7FFFFFFF)
        return lambda values: np.int64(0x7FFFFFFFFFFFFFFF)


@_kernel
def dac(x, out, divisor, mode, quantize, step, clip, bound):
    """``out = clip(quantize(x / d))`` per row b with ``d = divisor[b]``, first set to 1 (mode
    ONES) or to max|x_b| (ABS_MAX: 1 where that is 0, NaN where the row holds a NaN, as
    torch.amax) unless GIVEN."""
    batch, n = x.shape
    bits, divisor_bits, mask = _bits(x), _bits(divisor), _magnitude_mask(x)
    for b in range(batch):
        if mode == ABS_MAX:
            largest = bits[b, 0] & mask
            for j in range(1, n):
                largest = max(largest, bits[b, j] & mask)
            divisor_bits[b] = largest  # the pattern of max|x_b| (a NaN pattern if one is NaN)
            if largest == 0:
                divisor[b] = 1
        elif mode == ONES:
            divisor[b] = 1
        d = divisor[b]  # in the dtype of x: the divisions below are those of the tensor code
        for j in range(n):
            v = x[b, j] / d
            if quantize:
                v = np.rint(v / step) * step
            if clip:  # as torch.clamp: NaN stays NaN
                v = -bound if v < -bound else (bound if v > bound else v)
            out[b, j] = v


@_kernel
def adc(y, scale, clipped, quantize, step, clip, bound, hold_clipped):
    """In place ``y = clip(quantize(y))`` per row; ``clipped[b]``: whether a value of row b is at
    the bound (|y| ≥ bound after the clip). Each row is then multiplied by ``scale[b]``, except
    (with ``hold_clipped``) a clipped row, which bound management reads again. Returns (the
    number of clipped rows, whether y holds a NaN)."""
    batch, m = y.shape
    count = 0
    nan = 0
    for b in range(batch):
        hit = 0
        for j in range(m):
            v = y[b, j]
            if quantize:
                v = np.rint(v / step) * step
            if clip:  # as torch.clamp, then |v| >= bound: NaN stays NaN and is no clip
                low = v <= -bound
                high = v >= bound
                hit |= low | high
                v = -bound if low else (bound if high else v)
            nan |= v != v
            y[b, j] = v
        clipped[b] = hit
        count += hit
        if not (hit and hold_clipped):
            s = scale[b]
            for j in range(m):
                y[b, j] = y[b, j] * s
    return count, nan != 0


class _Plan:
    """What :func:`read` needs of an IOConfig for one dtype, looked up once."""

    def __init__(self, io, dtype: torch.dtype) -> None:
        kind = np.float32 if dtype == torch.float32 else np.float64

        def stage(resolution, bound):  # (quantize, step, clip, bound) as in io.quantize_ and the clamps
            quantize = resolution > 0
            step = resolution * (2.0 * bound if math.isfinite(bound) else 1.0) if quantize else 1.0
            clip = math.isfinite(bound)
            return quantize, kind(step), clip, kind(bound if clip else 0.0)

        self.io = io
        self.mode = ABS_MAX if io.noise_management == "abs_max" else ONES
        self.dac = stage(io.inp_res, io.inp_bound)
        self.adc = stage(io.out_res, io.out_bound)
        self.out_noise = io.out_noise
        self.managed = io.bound_management == "iterative" and self.adc[2]
        self.max_bm_factor = io.max_bm_factor


_PLANS: dict = {}


def _plan(io, dtype) -> _Plan:
    plan = _PLANS.get((id(io), dtype))
    if plan is None or plan.io is not io:  # the plan holds io: its id is not reused meanwhile
        if len(_PLANS) > 256:
            _PLANS.clear()
        plan = _PLANS[id(io), dtype] = _Plan(io, dtype)
    return plan


def read(matrix: torch.Tensor, inputs: torch.Tensor, io, generator) -> torch.Tensor:
    """:func:`~analogtrain.crossbar.io.analog_read` (a periphery that is not ideal) of CPU float
    tensors, ``inputs`` (batch, in) not modified, with the elementwise stages compiled."""
    plan = _plan(io, inputs.dtype)
    if not inputs.is_contiguous():
        inputs = inputs.contiguous()
    x = inputs.numpy()
    levels = torch.empty_like(inputs)
    alpha = np.empty(x.shape[0], x.dtype)
    dac(x, levels.numpy(), alpha, plan.mode, *plan.dac)
    output = _product(matrix, levels, plan.out_noise, generator)
    y = output.numpy()
    clipped = np.empty(x.shape[0], np.bool_)
    count, nan = adc(y, alpha, clipped, *plan.adc, plan.managed)
    if not (plan.managed and count):
        return output
    rows = np.flatnonzero(clipped)
    if nan:  # the reference's check max|y| >= bound is NaN, i.e. false: no vector is read again
        y[rows] *= alpha[rows][:, None]
        return output
    # Bound management: a vector whose output clipped is read again with its input halved
    # (scale ×2) until none clips or the scale would pass max_bm_factor; adc holds clipped rows
    # unscaled until they are done.
    scale = np.ones(x.shape[0], x.dtype)
    while True:
        again = scale[rows] * 2 <= plan.max_bm_factor
        done = rows[~again]
        if done.size:  # at max_bm_factor: the last read stays, scaled back
            y[done] *= (alpha[done] * scale[done])[:, None]
        rows = rows[again]
        if rows.size == 0:
            return output
        scale[rows] *= 2
        divisor = alpha[rows] * scale[rows]
        sub = x[rows]
        sub_levels = torch.from_numpy(np.empty_like(sub))
        dac(sub, sub_levels.numpy(), divisor, GIVEN, *plan.dac)
        sub_output = _product(matrix, sub_levels, plan.out_noise, generator)
        sub_clipped = np.empty(rows.size, np.bool_)
        adc(sub_output.numpy(), divisor, sub_clipped, *plan.adc, True)
        y[rows] = sub_output.numpy()
        rows = rows[sub_clipped]


def _product(matrix, levels, out_noise, generator) -> torch.Tensor:
    """The product and the read noise, exactly as the reference's one pass."""
    output = levels @ matrix.T
    if out_noise > 0:
        output.add_(torch.randn(output.shape, generator=generator, device=output.device, dtype=output.dtype),
                    alpha=out_noise)
    return output
