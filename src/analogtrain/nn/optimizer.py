"""``AnalogSGD``: the optimizer step that triggers the analog updates.

A ``torch.optim.Optimizer``, so an ordinary training loop (``zero_grad``, ``loss.backward()``,
``step()``) and learning-rate schedulers work unchanged. On :meth:`AnalogSGD.step`:

* every analog tile among the parameters (recognised by its handle parameter) applies its
  pending update — all (x, δ) pairs kept since the last step, as one batch — through
  ``algorithm.update(x, δ, lr)`` with ``lr`` taken from the tile's parameter group at that moment
  (so a scheduler changes the analog learning rate too). The tiles' updates run in lockstep
  (:func:`~analogtrain.algorithms.base.run_update_steps`): the pulses of all layers are drawn
  array by array and applied in one call per device model, with the same result as layer by layer. The intended change is
  ``ΔW = −lr·Σ δᵀx``, the SGD step; what the arrays actually do is the algorithm's business
  (pulses on W for analog SGD; pulses on A and transfers to C for Tiki-Taka and SHD);
* every ordinary (digital) parameter gets plain SGD, ``p ← p − lr·(grad + weight_decay·p)``.

``zero_grad`` also forgets pending analog updates, as it forgets gradients.
:meth:`AnalogSGD.clip_grad_norm_` clips the gradient norm as ``torch.nn.utils.clip_grad_norm_``
does, counting each analog layer's gradient ``Σ δᵀx`` and scaling its pending δ.
"""

from __future__ import annotations

import contextlib
from typing import Iterable

import torch
from torch import nn

from analogtrain.algorithms.base import check_lr, run_update_steps
from analogtrain.config import check_non_negative
from analogtrain.crossbar.array import checked_inputs
from analogtrain.errors import ConfigError
from analogtrain.nn.tile import AnalogTile, tile_of


def analog_tiles(model: nn.Module) -> list[AnalogTile]:
    """All analog tiles of ``model`` (in module order)."""
    return [m for m in model.modules() if isinstance(m, AnalogTile)]


class AnalogSGD(torch.optim.Optimizer):
    """SGD for models with analog layers (see module docstring).

    Args:
        params_or_model: an ``nn.Module`` (all its parameters), or parameters / parameter groups
            as for any torch optimizer (analog tiles are recognised by their handle parameters).
        lr: learning rate (≥ 0).
        weight_decay: L2 penalty for the digital parameters only (≥ 0; default 0).
    """

    def __init__(self, params_or_model: nn.Module | Iterable, lr: float = 0.01, *, weight_decay: float = 0.0):
        check_lr(lr)
        check_non_negative("weight_decay", weight_decay)
        params = params_or_model.parameters() if isinstance(params_or_model, nn.Module) else params_or_model
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    def _tiles(self) -> list[tuple[AnalogTile, dict]]:
        found = []
        for group in self.param_groups:
            for p in group["params"]:
                tile = tile_of(p)
                if tile is not None:
                    found.append((tile, group))
        return found

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        updates, checked = [], True
        for group in self.param_groups:
            lr = group["lr"]
            check_lr(lr)
            decay = group.get("weight_decay", 0.0)
            for p in group["params"]:
                tile = tile_of(p)
                if tile is not None:
                    checked = checked and (tile.pending_checked or not tile.has_pending)
                    steps = tile.update_steps(lr)
                    if steps is not None:
                        updates.append(steps)
                    continue
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise ConfigError("AnalogSGD does not support sparse gradients")
                if decay:
                    grad = grad.add(p, alpha=decay)
                p.add_(grad, alpha=-lr)
        # All analog layers together: same result as one by one, fewer calls. Pending pairs from
        # the layers' backward passes were checked there and are not scanned for NaN again.
        with checked_inputs() if checked else contextlib.nullcontext():
            run_update_steps(updates)
        return loss

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> float:
        """Scale all gradients so that their joint 2-norm is at most ``max_norm``; return the norm.

        The norm counts every digital gradient and, for each analog tile, its pending gradient
        ``Σ δᵀx`` (computed digitally, for the norm only: a simulation convenience, not an array
        operation). Clipping multiplies the digital gradients and the pending δ of the tiles by
        ``max_norm / norm``, which scales the analog update exactly as it scales an SGD step.
        """
        check_lr(max_norm)
        squares = []
        tiles = []
        for group in self.param_groups:
            for p in group["params"]:
                tile = tile_of(p)
                if tile is not None:
                    if tile.has_pending:
                        tiles.append(tile)
                        squares.append(tile.pending_gradient().square().sum())
                elif p.grad is not None:
                    squares.append(p.grad.detach().square().sum())
        if not squares:
            return 0.0
        norm = float(torch.stack([s.to(squares[0].device) for s in squares]).sum().sqrt())
        scale = max_norm / (norm + 1e-6)
        if scale < 1.0:
            for group in self.param_groups:
                for p in group["params"]:
                    if tile_of(p) is None and p.grad is not None:
                        p.grad.mul_(scale)
            for tile in tiles:
                tile.scale_pending(scale)
        return norm

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none=set_to_none)
        for tile, _ in self._tiles():
            tile.clear_pending()
