"""Autograd functions whose forward and backward are analog array reads.

:class:`AnalogRead` — one read ``y = W x`` of a batch of row vectors:

* forward: ``algorithm.forward(x)``, the analog forward read of the visible weight;
* backward: ``z = algorithm.backward(δ)`` (only when the input needs a gradient), the analog
  backward read ``Wᵀ δ``; the pair (x, δ) is kept on the tile as a pending update for the
  optimizer. The weight gets no gradient tensor: its update is the pulse update
  ``ΔW = −η δᵀx`` that :class:`~analogtrain.nn.optimizer.AnalogSGD` triggers.

The handle parameter (an empty tensor) is an input only so that autograd calls backward even
when x needs no gradient (a first layer); its "gradient" is an empty tensor.

The LSTM's whole-sequence function lives in :mod:`analogtrain.nn.lstm_function`.
"""

from __future__ import annotations

import torch


class AnalogRead(torch.autograd.Function):
    """``y = W x`` on an :class:`~analogtrain.nn.tile.AnalogTile` (see module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, handle: torch.Tensor, tile) -> torch.Tensor:  # type: ignore[override]
        ctx.tile = tile
        ctx.save_for_backward(x)
        return tile.algorithm.forward(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        tile = ctx.tile
        grad_output = grad_output.contiguous()
        grad_input = tile.algorithm.backward(grad_output) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1]:
            tile.add_pending(x, grad_output)
        handle_grad = torch.zeros(0, device=grad_output.device, dtype=grad_output.dtype)
        return grad_input, handle_grad, None
