"""Chopped TTv2 (c-TTv2): TTv2 with input choppers that cancel A's reference offset (4 arrays).

Rasch, Carta, Fagbohungbe, Gokmen, "Fast and robust analog in-memory deep neural network
training", Nat. Commun. 15:7133 (2024). As :mod:`~analogtrain.algorithms.ttv2`, plus one chopper
sign ``c_j ∈ {+1, −1}`` per input (column) j:

    III. A_main ← A_main − η_A δ (c ⊙ x)ᵀ     the gradient is written to A with column j's sign c_j
    every τ updates, for the next k columns u (cycling):
    IV.  v = A u;  H[:, u] += c_u·η_C·v        the read is multiplied by the same sign
    V.   n = clamp(trunc(H/Δw_C), ±BL) pulses to C, H −= n·Δw_C   (as TTv2)
         then each read column's chopper flips: with probability ``in_chop_prob``
         (``in_chop_random``), or regularly, every round(1/in_chop_prob) reads of that column

Why it works: let the reads of A carry a constant offset o (A_ref missed A's symmetry point by o,
or A's devices drift). A's gradient signal is written with sign c and read back with sign c, so it
reaches H with sign c² = +1; the offset is read with sign c only, so over chopper periods it
enters H as +o, −o, +o, … and cancels on average: C no longer integrates the reference error,
which TTv2 turns into a steady drift η_C·o per transfer.

γ must be 0 here: A holds the chopped (sign-modulated) gradient, so γA is no part of a weight.
The chopper signs, their read counters and the chopper generator are saved with the state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from analogtrain.algorithms.base import derive_seeds, register_algorithm
from analogtrain.algorithms.ttv2 import BufferedTransferAlgorithm, TTv2Config
from analogtrain.config import check_range
from analogtrain.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ChoppedTTv2Config(TTv2Config):
    """c-TTv2: TTv2's fields plus the input choppers.

    in_chop_prob: chopper switching probability per read of a column, in (0, 1] (the paper's
    0.1); with ``in_chop_random=False`` the chopper of a column flips regularly, every
    round(1/in_chop_prob) reads of it. gamma must be 0 (A holds a chopped signal).
    """

    algorithm = "c-ttv2"

    in_chop_prob: float = 0.1
    in_chop_random: bool = True

    def validate(self) -> None:
        super().validate()
        check_range("in_chop_prob", self.in_chop_prob, 0.0, 1.0, low_inclusive=False)
        if not isinstance(self.in_chop_random, bool):
            raise ConfigError(f"in_chop_random must be true or false, got {self.in_chop_random!r}")
        if self.gamma != 0:
            raise ConfigError(f"gamma must be 0 for {self.algorithm} (A holds a chopped signal), got {self.gamma!r}")

    @property
    def chop_period(self) -> int:
        """Reads of a column between regular chopper flips."""
        return max(1, round(1.0 / self.in_chop_prob))


class ChoppedAlgorithm(BufferedTransferAlgorithm):
    """Buffered transfer with input choppers (module docstring); AGAD builds on it."""

    config: ChoppedTTv2Config

    def __init__(self, out_features, in_features, config, *, seed=0, torch_device=None, dtype=torch.float32):
        super().__init__(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)
        chop_seed = derive_seeds(seed, 5)[4]  # a fifth seed beside the four arrays'
        self.chop_generator = torch.Generator(device=self.torch_device)
        if chop_seed is None:
            self.chop_generator.seed()
        else:
            self.chop_generator.manual_seed(chop_seed)
        #: The input chopper signs c (in,), ±1.
        self.chopper = torch.ones(in_features, device=self.torch_device, dtype=dtype)
        #: Reads of each column since its chopper last flipped.
        self.period_reads = torch.zeros(in_features, device=self.torch_device, dtype=torch.long)
        #: Chopper flips so far (all columns).
        self.chopper_flips = 0

    def _chopped_x(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.chopper  # c ⊙ x for every sample of the batch

    def _buffer_increment(self, columns, v, lr_c):
        return (lr_c * self.chopper[columns]) * v

    def _after_read(self, columns: torch.Tensor, v: torch.Tensor) -> None:
        self.period_reads[columns] += 1
        if self.config.in_chop_random:
            u = torch.rand(columns.numel(), generator=self.chop_generator, device=self.torch_device)
            flip = u < self.config.in_chop_prob
        else:
            flip = self.period_reads[columns] >= self.config.chop_period
        if bool(flip.any()):
            flipped = columns[flip]
            self._on_flip(flipped)
            self.chopper[flipped] = -self.chopper[flipped]
            self.period_reads[flipped] = 0
            self.chopper_flips += int(flipped.numel())

    def _on_flip(self, columns: torch.Tensor) -> None:
        """Called just before the choppers of ``columns`` flip (AGAD stores its reference)."""

    # -- accounting and state ---------------------------------------------------------------------
    def _extra_operations(self) -> dict[str, Any]:
        ops = super()._extra_operations()
        ops["chopper_flips"] = self.chopper_flips
        return ops

    def _extra_state(self) -> dict[str, Any]:
        state = super()._extra_state()
        state.update(chopper=self.chopper.clone(), period_reads=self.period_reads.clone(),
                     chopper_flips=self.chopper_flips, chop_generator=self.chop_generator.get_state())
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.chopper = state["chopper"].to(self.torch_device, self.dtype).clone()
        self.period_reads = state["period_reads"].to(self.torch_device).clone()
        self.chopper_flips = int(state["chopper_flips"])
        self.chop_generator.set_state(state["chop_generator"])


@register_algorithm(ChoppedTTv2Config)
class ChoppedTTv2(ChoppedAlgorithm):
    """c-TTv2, 4 arrays + buffer H + input choppers (module docstring)."""

    name = "c-ttv2"
