"""Peripheral circuits of an analog matrix-vector product: DAC, read noise, ADC, management.

The pipeline of one analog read ``y = W x`` (forward) or ``z = Wᵀ δ`` (backward), for each
vector of a batch (Gokmen, Onen & Haensch, Front. Neurosci. 11:538 (2017) introduced noise and
bound management; the reference simulator's ``IOParameters``, prior-art §1.7)::

    α = max|x|                         (noise management 'abs_max'; 1 with 'none')
    x' = clip(quantize(x/(α·2^k), inp_res·2·inp_bound), ±inp_bound)        DAC
    y' = W x' + out_noise·ξ                                                  read noise
    y = clip(quantize(y', out_res·2·out_bound), ±out_bound)·α·2^k            ADC
    bound management 'iterative': while a vector's output clips, k += 1 (input halved)

``inp_res`` and ``out_res`` are quantization steps as fractions of the full range (2·bound), as
in the field (e.g. 7-bit DAC: inp_res = 1/(2⁷ − 2), giving 127 levels); 0 switches quantization
off. Bounds of ``inf`` switch clipping off (then a resolution is an absolute step). The default
:class:`IOConfig` is ideal: an exact product.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch

from analogtrain import compiled
from analogtrain.config import Config, check_choice, check_int, check_non_negative, check_range
from analogtrain.crossbar import read_compiled


@dataclasses.dataclass(frozen=True)
class IOConfig(Config):
    """Non-idealities of one direction of analog reads (all off by default: ideal)."""

    inp_res: float = 0.0
    inp_bound: float = math.inf
    out_noise: float = 0.0
    out_res: float = 0.0
    out_bound: float = math.inf
    noise_management: Literal["none", "abs_max"] = "none"
    bound_management: Literal["none", "iterative"] = "none"
    max_bm_factor: int = 1024

    def validate(self) -> None:
        check_range("inp_res", self.inp_res, 0.0, 1.0)
        check_range("out_res", self.out_res, 0.0, 1.0)
        check_range("inp_bound", self.inp_bound, 0.0, math.inf, low_inclusive=False, allow_inf=True)
        check_range("out_bound", self.out_bound, 0.0, math.inf, low_inclusive=False, allow_inf=True)
        check_non_negative("out_noise", self.out_noise)
        check_int("max_bm_factor", self.max_bm_factor, 1, 2**30)
        check_choice("noise_management", self.noise_management, ("none", "abs_max"))
        check_choice("bound_management", self.bound_management, ("none", "iterative"))

    @property
    def is_ideal(self) -> bool:
        return (
            self.inp_res == 0
            and math.isinf(self.inp_bound)
            and self.out_noise == 0
            and self.out_res == 0
            and math.isinf(self.out_bound)
        )

    @classmethod
    def preset(cls) -> "IOConfig":
        """The field's common preset: 7-bit DAC, 9-bit ADC, read noise 0.06, out bound 12,
        noise management abs_max and iterative bound management (prior-art §1.7)."""
        return cls(
            inp_res=1 / (2**7 - 2),
            inp_bound=1.0,
            out_noise=0.06,
            out_res=1 / (2**9 - 2),
            out_bound=12.0,
            noise_management="abs_max",
            bound_management="iterative",
        )


def quantize_(values: torch.Tensor, resolution: float, bound: float) -> torch.Tensor:
    """Round ``values`` in place to the nearest multiple of the step ``resolution·2·bound``
    (absolute if bound = inf); resolution 0 leaves them as they are."""
    if resolution <= 0:
        return values
    step = resolution * (2.0 * bound if math.isfinite(bound) else 1.0)
    return values.div_(step).round_().mul_(step)


def analog_read(
    matrix: torch.Tensor,
    inputs: torch.Tensor,
    io: IOConfig,
    generator: torch.Generator | None = None,
    kernel: str = "auto",
) -> torch.Tensor:
    """``inputs @ matrixᵀ`` through the peripheral pipeline of ``io`` (see module docstring).

    ``matrix`` is (out, in) and ``inputs`` (batch, in); returns (batch, out). For the backward
    read pass ``Wᵀ`` as the matrix.

    The tensor code below is the reference (and the code for CUDA). On CPU, for float32 and
    float64 tensors that need no autograd graph, the elementwise stages run as compiled loops
    (:mod:`analogtrain.crossbar.read_compiled`) with the same result, bit for bit: the same
    operations in the same order, the same product and read-noise draws. ``kernel``: the array's
    ``UpdateConfig.kernel`` (``"torch"``: the tensor code only).
    """
    if io.is_ideal and io.noise_management == "none":
        return inputs @ matrix.T
    if compiled.applies(kernel, inputs, matrix) and matrix.dtype == inputs.dtype:
        if not (inputs.requires_grad or matrix.requires_grad):
            return read_compiled.read(matrix, inputs, io, generator)
        if not torch.is_grad_enabled():
            return read_compiled.read(matrix, inputs.detach(), io, generator)
    return _read_tensors(matrix, inputs, io, generator)


def _read_tensors(matrix, inputs, io: IOConfig, generator) -> torch.Tensor:
    """The read pipeline as tensor operations: the reference (see :func:`analog_read`)."""
    if io.noise_management == "abs_max":
        alpha = inputs.abs().amax(dim=1, keepdim=True)
        alpha.masked_fill_(alpha == 0, 1.0)  # an all-zero vector is read as it is
        output = _one_pass(matrix, inputs / alpha, io, generator)
    else:
        alpha = None
        output = _one_pass(matrix, inputs.clone(), io, generator)
    if io.bound_management == "iterative" and math.isfinite(io.out_bound) and bool(
        (output.abs().amax() >= io.out_bound)
    ):
        # Some vector's output clipped: halve its input (k += 1) until none clips or the factor
        # reaches max_bm_factor; only those vectors are read again.
        scale = torch.ones(inputs.shape[0], 1, dtype=inputs.dtype, device=inputs.device)
        base = alpha if alpha is not None else torch.ones_like(scale)
        rows = torch.arange(inputs.shape[0], device=inputs.device)
        while True:
            clipped = (output[rows].abs() >= io.out_bound).any(dim=1)
            rows = rows[clipped & (scale[rows, 0] * 2 <= io.max_bm_factor)]
            if rows.numel() == 0:
                break
            scale[rows] *= 2.0
            output[rows] = _one_pass(matrix, inputs[rows] / (base[rows] * scale[rows]), io, generator)
        return output.mul_(base * scale)
    return output.mul_(alpha) if alpha is not None else output


def _one_pass(matrix, inputs, io: IOConfig, generator) -> torch.Tensor:
    """DAC, product, read noise, ADC of (batch, in) inputs (modified in place: pass a fresh tensor)."""
    x = quantize_(inputs, io.inp_res, io.inp_bound)
    if math.isfinite(io.inp_bound):
        x = x.clamp_(-io.inp_bound, io.inp_bound)
    y = x @ matrix.T
    if io.out_noise > 0:
        y.add_(torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype), alpha=io.out_noise)
    y = quantize_(y, io.out_res, io.out_bound)
    if math.isfinite(io.out_bound):
        y = y.clamp_(-io.out_bound, io.out_bound)
    return y
