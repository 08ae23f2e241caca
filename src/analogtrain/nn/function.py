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

When every read of the tile is exact (an ideal periphery), :func:`exact_read` gives the same
values, gradients and pending update with ordinary autograd operations instead.

The LSTM's whole-sequence function lives in :mod:`analogtrain.nn.lstm_function`.
"""

from __future__ import annotations

import functools

import torch

from analogtrain.crossbar.checks import check_finite_tensor, checked_inputs, inputs_checked


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


def exact_read(tile, x: torch.Tensor, bias: torch.Tensor | None, arrays) -> torch.Tensor:
    """``y = x·Wᵀ + b`` with ordinary autograd operations, for a tile whose reads are exact
    (``arrays``: :meth:`~analogtrain.algorithms.base.AnalogAlgorithm.exact_read_arrays`).

    The values and gradients are those of :class:`AnalogRead`: an exact forward read is the
    product with the visible weight W, and an exact backward read ``δ·W`` is the product's own
    input gradient. A hook on y does the rest of AnalogRead's backward: it checks δ, counts the
    backward reads and keeps (x, δ) as the pending update. No custom autograd node: its Python
    calls cost more than the arithmetic of a small layer.

    As for a ``torch.nn.Linear`` weight, W must not change between a forward pass and its
    backward pass (autograd then refuses the backward pass).
    """
    if not inputs_checked():
        check_finite_tensor("x", x)
    y = torch.nn.functional.linear(x, tile.algorithm.weight, bias)
    batch = x.shape[0]
    for array in arrays:
        array.operations.forward_reads += batch
    y.register_hook(functools.partial(_exact_read_backward, tile, x.detach(), arrays, x.requires_grad))
    return y


def _exact_read_backward(tile, x: torch.Tensor, arrays, reads_back: bool, grad_output: torch.Tensor) -> None:
    """The hook of :func:`exact_read` on y (it leaves the gradient as it is)."""
    grad_output = grad_output.detach().contiguous()
    check_finite_tensor("output gradient", grad_output)  # once, for the read and the update
    if reads_back:  # autograd computes δ·W: the backward read
        for array in arrays:
            array.operations.backward_reads += grad_output.shape[0]
    tile.add_pending(x, grad_output, checked=True)  # x was checked by the forward read
