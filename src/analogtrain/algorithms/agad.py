"""AGAD: chopped TTv2 with an on-the-fly reference instead of a calibrated A_ref (4 arrays).

Rasch, Carta, Fagbohungbe, Gokmen, "Fast and robust analog in-memory deep neural network
training", Nat. Commun. 15:7133 (2024) ("AGAD"). As :mod:`~analogtrain.algorithms.chopped` with
regular chopper periods (every P = round(1/in_chop_prob) reads of a column), but the value
added to H is not the read itself: it is the read minus a reference made from A's own past reads.
Per column j, in digital memory:

    m_j   running mean of the reads of A[:, j] in the current chopper period:
          m ← m + β_n (v − m),  β_n = min(tail_weight/n, 1) for the n-th read of the period
          (tail_weight = 1: the plain mean; > 1 weights the end of the period, after A's transient)
    p_j   the reference: m_j of the previous chopper period (stored when the chopper flips)

    IV.  v = A u;  H[:, u] += c_u·η_C·(v − p_u)     only once column u has a reference, i.e. after
                                                   its first full chopper period; an element adds
                                                   nothing if |v − p| < significance·Δw_A
                                                   (an insignificant difference is skipped)
    V.   n = clamp(trunc(H/Δw_C), ±BL) pulses to C, H −= n·Δw_C     (as TTv2)
         at the end of a period: p_u ← m_u, then c_u flips

A's reference array needs no calibration: any constant offset of A (its reference, its
devices' symmetry points) is in both v and p and drops out of v − p. A_ref is therefore left at
the weight zero (programmed with ``programming_error`` if given); C's reference is calibrated as
in Tiki-Taka. Simplification (documented): the paper gates a transfer by the standard error of
the running mean; here the gate is a fixed threshold in units of A's step (0: no gate).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from analogtrain.algorithms.base import calibrate_reference, register_algorithm
from analogtrain.algorithms.chopped import ChoppedAlgorithm, ChoppedTTv2Config
from analogtrain.config import check_non_negative, check_range


@dataclasses.dataclass(frozen=True)
class AGADConfig(ChoppedTTv2Config):
    """AGAD: c-TTv2's fields (regular choppers by default) plus

    tail_weight: β_n = min(tail_weight/n, 1) for the running mean of a period's reads (≥ 1);
    significance: skip an element whose |v − p| is below significance·device_a.dw_min (≥ 0).
    """

    algorithm = "agad"

    in_chop_random: bool = False
    tail_weight: float = 1.0
    significance: float = 0.0

    def validate(self) -> None:
        super().validate()
        check_range("tail_weight", self.tail_weight, 1.0)
        check_non_negative("significance", self.significance)


@register_algorithm(AGADConfig)
class AGAD(ChoppedAlgorithm):
    """AGAD, 4 arrays + buffer H + choppers + per-column running and past means (module docstring)."""

    name = "agad"
    config: AGADConfig

    def __init__(self, out_features, in_features, config, *, seed=0, torch_device=None, dtype=torch.float32):
        super().__init__(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)
        shape = (out_features, in_features)
        #: m: running mean of this chopper period's reads of A (out × in).
        self.running_mean = torch.zeros(shape, device=self.torch_device, dtype=dtype)
        #: p: the previous period's mean, the reference of the current reads (out × in).
        self.past_mean = torch.zeros(shape, device=self.torch_device, dtype=dtype)
        #: Whether column j has completed a chopper period (has a reference).
        self.has_reference = torch.zeros(in_features, device=self.torch_device, dtype=torch.bool)

    def _calibrate(self) -> None:
        """C_ref ← C_main's symmetry point (C = 0); A_ref stays at the weight zero: A's offset is
        removed by the dynamic reference."""
        cfg = self.config
        if cfg.programming_error > 0:
            self.a_ref.program(torch.zeros_like(self.a_ref.conductance), cfg.programming_error)
        calibrate_reference(self.c_main, self.c_ref, cfg.calibration, cfg.programming_error, cfg.calibration_pairs)

    def _buffer_increment(self, columns, v, lr_c):
        n = (self.period_reads[columns] + 1).to(self.dtype)  # this read is the n-th of its period
        beta = (self.config.tail_weight / n).clamp(max=1.0)
        mean = self.running_mean[:, columns]
        self.running_mean[:, columns] = mean + beta * (v - mean)
        ready = self.has_reference[columns]
        if not bool(ready.any()):
            return None
        difference = v - self.past_mean[:, columns]
        threshold = self.config.significance * self.config.device_a.granularity
        if threshold > 0:
            difference = torch.where(difference.abs() >= threshold, difference, torch.zeros_like(difference))
        return (lr_c * self.chopper[columns] * ready.to(self.dtype)) * difference

    def _on_flip(self, columns: torch.Tensor) -> None:
        self.past_mean[:, columns] = self.running_mean[:, columns]
        self.has_reference[columns] = True

    # -- state ------------------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        state = super()._extra_state()
        state.update(running_mean=self.running_mean.clone(), past_mean=self.past_mean.clone(),
                     has_reference=self.has_reference.clone())
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.running_mean = state["running_mean"].to(self.torch_device, self.dtype).clone()
        self.past_mean = state["past_mean"].to(self.torch_device, self.dtype).clone()
        self.has_reference = state["has_reference"].to(self.torch_device).clone()
