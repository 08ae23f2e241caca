"""The optimizers that trigger the analog updates: :class:`AnalogOptimizer` and :class:`AnalogSGD`.

Both are ``torch.optim.Optimizer`` s, so an ordinary training loop (``zero_grad``,
``loss.backward()``, ``step()``), learning-rate schedulers (``torch.optim.lr_scheduler.*``) and
``state_dict`` / ``load_state_dict`` work unchanged. On :meth:`AnalogOptimizer.step`:

* every analog tile among the parameters (recognised by its handle parameter) applies its
  pending update — all (x, δ) pairs kept since the last step, as one batch — through
  ``algorithm.update(x, δ, lr)`` with ``lr`` taken from the tile's parameter group at that moment
  (so a scheduler changes the analog learning rate too). The tiles' updates run in lockstep
  (:func:`~analogtrain.algorithms.base.run_update_steps`): the pulses of all layers are drawn
  array by array and applied in one call per device model, with the same result as layer by layer. The intended change is
  ``ΔW = −lr·Σ δᵀx``, the SGD step; what the arrays actually do is the algorithm's business
  (pulses on W for analog SGD; pulses on A and transfers to C for Tiki-Taka and SHD);
* every ordinary (digital) parameter — biases, norms, embeddings — is stepped by a torch
  optimizer of the user's choice (``digital=torch.optim.Adam``, ...), built over the digital
  parameters of the same groups and given the groups' current hyper-parameters (``lr`` and
  the digital optimizer's own, e.g. ``betas``) before each step. :class:`AnalogSGD` is the common
  case: ``torch.optim.SGD``, ``p ← p − lr·(grad + weight_decay·p)``.

``zero_grad`` also forgets pending analog updates, as it forgets gradients.
:meth:`AnalogOptimizer.clip_grad_norm_` clips the gradient norm as ``torch.nn.utils.clip_grad_norm_``
does, counting each analog layer's gradient ``Σ δᵀx`` and scaling its pending δ.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterable

import torch
from torch import nn

from analogtrain.algorithms.base import check_lr, run_update_steps
from analogtrain.config import check_non_negative
from analogtrain.crossbar.checks import checked_inputs
from analogtrain.errors import ConfigError
from analogtrain.nn.tile import AnalogTile, tile_of


def analog_tiles(model: nn.Module) -> list[AnalogTile]:
    """All analog tiles of ``model`` (in module order)."""
    return [m for m in model.modules() if isinstance(m, AnalogTile)]


class AnalogOptimizer(torch.optim.Optimizer):
    """Analog updates for the analog layers, any torch optimizer for the digital parameters.

    Per :meth:`step` (see the module docstring)::

        for each analog tile t in a group g:    t.update(Σ x, δ since the last step, lr = g["lr"])
        digital.step()                          # the digital parameters, with g's hyper-parameters

    Args:
        params_or_model: an ``nn.Module`` (all its parameters), or parameters / parameter groups
            as for any torch optimizer (analog tiles are recognised by their handle parameters).
        digital: the ``torch.optim.Optimizer`` class for the digital parameters (default
            ``torch.optim.SGD``), e.g. ``AnalogOptimizer(model, digital=torch.optim.Adam, lr=1e-3)``.
        lr: learning rate of the analog updates and of the digital optimizer (≥ 0).
        **digital_kwargs: the digital optimizer's other hyper-parameters (``betas``,
            ``weight_decay``, ``momentum``, ...); like ``lr`` they may differ per group.

    ``state_dict()`` holds the groups (as any optimizer's) and, under ``"digital"``, the digital
    optimizer's own state; a state dict without it (written by an earlier version, whose digital
    step was plain SGD without state) loads with the digital state left empty.
    """

    def __init__(self, params_or_model: nn.Module | Iterable, digital: type[torch.optim.Optimizer] = torch.optim.SGD,
                 lr: float = 0.01, **digital_kwargs):
        check_lr(lr)
        if not (isinstance(digital, type) and issubclass(digital, torch.optim.Optimizer)):
            raise ConfigError(f"digital must be a torch.optim.Optimizer class, got {digital!r}")
        params = params_or_model.parameters() if isinstance(params_or_model, nn.Module) else params_or_model
        super().__init__(params, {"lr": lr, **digital_kwargs})
        self.digital = digital([self._digital_group(g) for g in self.param_groups], lr=lr, **digital_kwargs)

    @staticmethod
    def _digital_group(group: dict) -> dict:
        """The group's digital parameters with its hyper-parameters."""
        return {**{k: v for k, v in group.items() if k != "params"},
                "params": [p for p in group["params"] if tile_of(p) is None]}

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        if hasattr(self, "digital"):  # after __init__: the digital optimizer gets the group too
            self.digital.add_param_group(self._digital_group(self.param_groups[-1]))

    def _sync_hyperparameters(self) -> None:
        """Give the digital optimizer the groups' current values (a scheduler changes ours)."""
        for group, digital_group in zip(self.param_groups, self.digital.param_groups):
            for key, value in group.items():
                if key != "params":
                    digital_group[key] = value

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["digital"] = self.digital.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        digital = state_dict.pop("digital", None)
        super().load_state_dict(state_dict)
        if digital is not None:
            self.digital.load_state_dict(digital)
        self._sync_hyperparameters()

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
            for p in group["params"]:
                tile = tile_of(p)
                if tile is not None:
                    checked = checked and (tile.pending_checked or not tile.has_pending)
                    steps = tile.update_steps(lr)
                    if steps is not None:
                        updates.append(steps)
        self._sync_hyperparameters()
        self.digital.step()
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
        if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not math.isfinite(max_norm) \
                or max_norm <= 0:
            raise ConfigError(f"max_norm (grad_clip in a training config) must be a finite number > 0, got {max_norm!r}")
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


class AnalogSGD(AnalogOptimizer):
    """SGD for models with analog layers: :class:`AnalogOptimizer` with ``digital=torch.optim.SGD``.

    Args:
        params_or_model: an ``nn.Module`` (all its parameters), or parameters / parameter groups.
        lr: learning rate (≥ 0).
        weight_decay: L2 penalty for the digital parameters only (≥ 0; default 0).
    """

    def __init__(self, params_or_model: nn.Module | Iterable, lr: float = 0.01, *, weight_decay: float = 0.0):
        check_non_negative("weight_decay", weight_decay)
        super().__init__(params_or_model, digital=torch.optim.SGD, lr=lr, weight_decay=weight_decay)
