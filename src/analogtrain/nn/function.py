"""Autograd functions whose forward and backward are analog array reads.

:class:`AnalogRead` — one read ``y = W x`` of a batch of row vectors:

* forward: ``algorithm.forward(x)``, the analog forward read of the visible weight;
* backward: ``z = algorithm.backward(δ)`` (only when the input needs a gradient), the analog
  backward read ``Wᵀ δ``; the pair (x, δ) is kept on the tile as a pending update for the
  optimizer. The weight gets no gradient tensor: its update is the pulse update
  ``ΔW = −η δᵀx`` that :class:`~analogtrain.nn.optimizer.AnalogSGD` triggers.

A digital bias b, when given, is added in the same function (``y = W x + b``, gradient
``Σ_batch δ``): one autograd node per layer instead of two.

The handle parameter (an empty tensor) is an input only so that autograd calls backward even
when x needs no gradient (a first layer); it gets no gradient (None).

The LSTM's whole-sequence function lives in :mod:`analogtrain.nn.lstm_function`.
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.array import check_finite_tensor, checked_inputs


class AnalogRead(torch.autograd.Function):
    """``y = W x`` on an :class:`~analogtrain.nn.tile.AnalogTile` (see module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, handle: torch.Tensor, tile, bias: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        ctx.tile = tile
        ctx.save_for_backward(x)
        y = tile.algorithm.forward(x)
        return y if bias is None else y.add_(bias)  # the read's output is a fresh tensor

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        tile = ctx.tile
        grad_output = grad_output.contiguous()
        check_finite_tensor("output gradient", grad_output)  # once, for the read and the update
        with checked_inputs():
            grad_input = tile.algorithm.backward(grad_output) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1]:
            tile.add_pending(x, grad_output, checked=True)  # x was checked by the forward read
        bias_grad = grad_output.sum(dim=0) if ctx.needs_input_grad[3] else None
        return grad_input, None, None, bias_grad  # the handle gets no gradient
