"""One analog weight inside a PyTorch model: an algorithm's arrays wrapped as an ``nn.Module``.

An :class:`AnalogTile` owns an :class:`~analogtrain.algorithms.base.AnalogAlgorithm` (the arrays
that store one weight matrix) and connects it to autograd and to the optimizer:

* :meth:`AnalogTile.read` is ``y = W x`` for a batch of row vectors, differentiable through
  :class:`~analogtrain.nn.function.AnalogRead` (forward = analog forward read, backward = analog
  backward read ``z = Wᵀ δ``), or, when both reads are exact (an ideal periphery), through
  ordinary autograd operations (:func:`~analogtrain.nn.function.exact_read`, same values and
  gradients). During backward the pair (x, δ) is kept as a *pending update*;
* :meth:`AnalogTile.apply_update` hands every pending (x, δ) of the step to
  ``algorithm.update(x, δ, lr)`` as ONE batch: the intended change is ``ΔW = −lr·Σ δᵀx``, the
  plain SGD step on the summed gradient (:class:`~analogtrain.nn.optimizer.AnalogSGD` takes the
  same update as steps, :meth:`AnalogTile.update_steps`, and runs all tiles' steps together);
* the tile's only ``nn.Parameter`` is an empty *handle* that puts the read into the autograd graph
  and lets an optimizer find the tile among ``model.parameters()``; the weight itself lives in the
  arrays and is never a tensor that autograd or a digital optimizer could change;
* the state dict carries the whole algorithm state (conductances of every array, per-device
  parameters, counters, generator states) as ``extra_state`` made only of tensors, dicts, lists,
  strings and numbers, so ``torch.load(..., weights_only=True)`` reads it back.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from analogtrain.algorithms.base import AlgorithmConfig, build_algorithm, run_update_steps
from analogtrain.crossbar.array import PulseWrite
from analogtrain.errors import ConfigError
from analogtrain.jsonio import state_copy
from analogtrain.nn.function import AnalogRead, exact_read


def config_differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Key paths where two plain config dicts differ (``a.b: 1 != 2``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{sub}: only in the new config")
            elif key not in new:
                out.append(f"{sub}: only in the old config")
            else:
                out.extend(config_differences(old[key], new[key], sub))
        return out
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out.extend(config_differences(a, b, f"{path}[{i}]"))
        return out
    return [] if old == new else [f"{path or '<root>'}: {old!r} != {new!r}"]


class PendingPairs:
    """The (x, δ) pairs of a tile's backward passes since its last update; ``checked``: all were
    added as already checked (finite, right shape, dtype and device)."""

    __slots__ = ("pairs", "checked")

    def __init__(self) -> None:
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.checked = False


class AnalogTile(nn.Module):
    """The arrays of one (out × in) weight, read and updated as described in the module docstring.

    Args:
        out_features, in_features: weight shape (as torch.nn.Linear's weight).
        config: the algorithm config (which algorithm, devices, I/O, pulse update).
        seed: seeds the algorithm's arrays (device sampling, pulses, read noise).
        torch_device, dtype: where the arrays live (fixed for the tile's life).
    """

    def __init__(
        self,
        out_features: int,
        in_features: int,
        config: AlgorithmConfig,
        *,
        seed: int = 0,
        torch_device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if isinstance(config, dict):
            config = AlgorithmConfig.from_dict_polymorphic(config)
        if not isinstance(config, AlgorithmConfig):
            raise ConfigError(f"algorithm config must be an AlgorithmConfig, got {type(config).__name__}")
        self.config = config
        self.seed = seed
        self.algorithm = build_algorithm(
            config, out_features, in_features, seed=seed, torch_device=torch_device, dtype=dtype
        )
        self.torch_device = self.algorithm.torch_device
        self.dtype = dtype
        self.handle = nn.Parameter(torch.zeros(0, device=self.torch_device, dtype=dtype))
        # A plain object, changed in place: setting attributes of an nn.Module costs more than the
        # arithmetic of a small layer's step.
        self._pending = PendingPairs()
        self.register()

    # -- identity -------------------------------------------------------------------------------
    def register(self) -> None:
        """Mark the handle parameter as belonging to this tile (refreshed on every read)."""
        self.handle._analog_tile = weakref.ref(self)  # type: ignore[attr-defined]

    @property
    def out_features(self) -> int:
        return self.algorithm.out_features

    @property
    def in_features(self) -> int:
        return self.algorithm.in_features

    # -- reads ----------------------------------------------------------------------------------
    def read(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """``y = W x`` (``+ b`` with a digital ``bias`` of shape (out_features,)) for x of shape
        (batch, in_features); differentiable (see module docstring)."""
        self.register()
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ConfigError(f"input must have shape (batch, {self.in_features}), got {tuple(x.shape)}")
        if x.dtype != self.dtype or x.device != self.torch_device:
            x = x.to(self.torch_device, self.dtype)
        if torch.is_grad_enabled() and (
            x.requires_grad or self.handle.requires_grad or (bias is not None and bias.requires_grad)
        ):
            arrays = self.algorithm.exact_read_arrays()
            if arrays is not None and self.handle.requires_grad and (
                x.requires_grad or (bias is not None and bias.requires_grad)
            ):  # y joins the graph through x or b: a hook on y sees δ
                return exact_read(self, x, bias, arrays)
            return AnalogRead.apply(x, self.handle, self, bias)
        y = self.algorithm.forward(x)
        return y if bias is None else y + bias

    @property
    def weight(self) -> torch.Tensor:
        """The exact visible (trained) weight (a detached copy)."""
        return self.algorithm.weight.detach().clone()

    def set_weight(self, weight: torch.Tensor) -> None:
        """Program the arrays so that the visible weight is ``weight``."""
        self.algorithm.set_weight(weight.detach().to(self.torch_device, self.dtype))

    # -- updates --------------------------------------------------------------------------------
    def add_pending(self, x: torch.Tensor, d: torch.Tensor, *, checked: bool = False) -> None:
        """Keep (x, δ) of one backward pass for the next optimizer step. ``checked``: both are
        already known to be finite, of this tile's shape, dtype and device (the update need not
        scan them again)."""
        pending = self._pending
        pending.checked = checked and (pending.checked or not pending.pairs)
        pending.pairs.append((x.detach(), d.detach()))

    @property
    def has_pending(self) -> bool:
        return bool(self._pending.pairs)

    @property
    def pending_checked(self) -> bool:
        """Whether every pending pair was added as checked (see :meth:`add_pending`)."""
        return bool(self._pending.pairs) and self._pending.checked

    def pending_gradient(self) -> torch.Tensor:
        """``Σ δᵀx`` of the pending pairs (out × in), computed digitally (for gradient clipping)."""
        total = torch.zeros(self.out_features, self.in_features, device=self.torch_device, dtype=self.dtype)
        for x, d in self._pending.pairs:
            total.addmm_(d.T, x)
        return total

    def scale_pending(self, factor: float) -> None:
        """Multiply the pending δ by ``factor`` (gradient clipping)."""
        pending = self._pending
        pending.pairs[:] = [(x, d * factor) for x, d in pending.pairs]
        if not math.isfinite(factor):
            pending.checked = False  # the update scans them again

    def clear_pending(self) -> None:
        self._pending.pairs.clear()

    def apply_update(self, lr: float) -> None:
        """One training update with every pending (x, δ) as one batch, then forget them."""
        steps = self.update_steps(lr)
        if steps is not None:
            run_update_steps([steps])

    def update_steps(self, lr: float) -> Iterator[list[PulseWrite]] | None:
        """:meth:`apply_update` as the algorithm's update steps (None: nothing pending); the
        pending pairs are forgotten now. The optimizer runs the steps of all tiles together."""
        pairs = self._pending.pairs
        if not pairs:
            return None
        if len(pairs) == 1:
            x, d = pairs[0]
        else:
            x = torch.cat([p[0] for p in pairs])
            d = torch.cat([p[1] for p in pairs])
        pairs.clear()
        return self.algorithm.update_steps(x, d, float(lr))

    # -- state ----------------------------------------------------------------------------------
    def get_extra_state(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "seed": self.seed,
            "shape": [self.out_features, self.in_features],
            "algorithm": state_copy(self.algorithm.state_dict()),
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or "algorithm" not in state:
            raise ConfigError("analog state dict entry is not an analog tile state")
        if list(state.get("shape", [])) != [self.out_features, self.in_features]:
            raise ConfigError(
                f"analog state has shape {state.get('shape')}, this tile is "
                f"{[self.out_features, self.in_features]}"
            )
        differences = config_differences(state.get("config"), self.config.to_dict())
        if differences:
            raise ConfigError(
                "analog state was saved with a different algorithm config: " + "; ".join(differences[:8])
            )
        self.algorithm.load_state_dict(state["algorithm"])
        self._pending.pairs.clear()

    def _apply(self, fn, recurse=True):
        probe = fn(torch.zeros(1, device=self.torch_device, dtype=self.dtype))
        if probe.device != self.torch_device or probe.dtype != self.dtype:
            raise ConfigError(
                f"analog arrays live on {self.torch_device} as {self.dtype} and cannot be moved to "
                f"{probe.device} as {probe.dtype}; build the layer (or convert the model) with "
                f"torch_device={str(probe.device)!r}"
            )
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        return f"{self.out_features}×{self.in_features}, algorithm={self.algorithm.name}, seed={self.seed}"


def tile_of(parameter: torch.Tensor) -> AnalogTile | None:
    """The tile whose handle is ``parameter`` (None for an ordinary digital parameter)."""
    ref = getattr(parameter, "_analog_tile", None)
    tile = ref() if ref is not None else None
    if tile is None or tile.handle is not parameter:
        return None
    return tile
