"""Pulse probabilities, bit lengths and update management (Gokmen & Vlasov 2016; Gokmen, Onen &
Haensch 2017; prior-art §1.5).

To apply ``ΔW = −η δ xᵀ`` for one sample, column j fires a train of BL slots with per-slot
probability ``p_j = C_x|x_j|`` and row i one with ``q_i = C_δ|δ_i|``; device (i, j) expects
``BL·p_j·q_i = η|δ_i x_j|/Δw_min`` pulses when ``C_x C_δ = η/(BL·Δw_min)``. Per sample:

* bit-length management: ``k = η·max|x|·max|δ|/Δw_min``, ``BL = min(⌈k⌉, bl)``;
* update management: ``p_j = (|x_j|/max|x|)·√(k/BL)`` and ``q_i = (|δ_i|/max|δ|)·√(k/BL)``, so both
  largest probabilities are √(k/BL); without it ``C_x = C_δ = √(η/(Δw_min·BL))``. Probabilities
  above 1 saturate (the update is then capped at BL pulses per device).

A k that is an integer up to float rounding (e.g. η = 0.1, x = δ = 0.2, Δw_min = 0.001: k = 4 in
exact arithmetic, 4.000000000000001 in floating point) is taken as that integer, so BL = k and the
largest probabilities are exactly 1: k deterministic pulses, as in the field's reference simulator.
"""

from __future__ import annotations

import dataclasses
import functools

import torch

#: Added to the maxima under update management so that an all-zero x or δ gives probabilities 0.
_TINY_MAX = 1e-20
#: k within this many float epsilons (relative) of a whole number is that number.
_INTEGER_ULPS = 8.0


@dataclasses.dataclass
class PulseProbabilities:
    """Per-sample pulse-train settings of a batch."""

    column: torch.Tensor  # (batch, in) per-slot probabilities of the column (x) trains
    row: torch.Tensor  # (batch, out) per-slot probabilities of the row (δ) trains
    bit_length: torch.Tensor  # (batch,) train length of each sample (0: no pulses)
    x: torch.Tensor  # (batch, in) the inputs (their signs are the column trains' polarities)
    d: torch.Tensor  # (batch, out) the errors (their signs are the row trains' polarities)
    slots: int  # Σ BL over the batch
    unit: bool  # every train at most one slot long (the usual small update)

    @functools.cached_property
    def column_sign(self) -> torch.Tensor:
        """(batch, in) sign of x."""
        return torch.sign(self.x)

    @functools.cached_property
    def row_sign(self) -> torch.Tensor:
        """(batch, out) sign of δ."""
        return torch.sign(self.d)

    @functools.cached_property
    def expected_coincidences(self) -> float:
        """Expected device pulses of the whole batch, ``E = Σ_b BL_b·(Σ_i q_bi)(Σ_j p_bj)``."""
        products = self.row.sum(dim=1).mul_(self.column.sum(dim=1))
        return float(products.sum() if self.unit else torch.dot(products, self.bit_length))


def _snap_to_integers(k: torch.Tensor) -> torch.Tensor:
    """``k`` with every entry within a few float epsilons of a whole number set to that number."""
    rounded = torch.round(k)
    close = (k - rounded).abs_() <= rounded * (_INTEGER_ULPS * torch.finfo(k.dtype).eps)
    return torch.where(close, rounded, k)


def snap_integer(k: float, dtype: torch.dtype) -> float:
    """:func:`_snap_to_integers` of one number computed from tensors of ``dtype``."""
    rounded = round(k)
    return float(rounded) if abs(k - rounded) <= rounded * _INTEGER_ULPS * torch.finfo(dtype).eps else k


def pulse_probabilities(x: torch.Tensor, d: torch.Tensor, lr: float, granularity: float, config) -> PulseProbabilities:
    """Per-slot probabilities and bit lengths of each sample (module docstring).

    A sample with no input or no error (k = 0) gets bit length 0 (no slots); its probabilities
    are finite and unused. ``config``: an :class:`~analogtrain.crossbar.update.UpdateConfig`.
    """
    x_abs, d_abs = x.abs(), d.abs()
    x_max, d_max = x_abs.amax(dim=1, keepdim=True), d_abs.amax(dim=1, keepdim=True)
    k = _snap_to_integers(torch.mul(x_max, d_max).mul_(lr / granularity))  # (batch, 1)
    if config.bl_management:
        bit_length = k.ceil().clamp_(max=config.bl)  # ⌈k⌉ ≤ bl, and 0 where k = 0
    else:
        bit_length = (k > 0).to(x.dtype).mul_(config.bl)
    if config.update_management:
        # Both largest probabilities √(k/BL): p_j = (|x_j|/max|x|)·√(k/BL), q_i = (|δ_i|/max|δ|)·√(k/BL).
        # (|x_j|/max|x| is exactly 1 at the largest entry, so an integer k = BL gives p = 1 there.)
        peak = k.div(bit_length.clamp(min=1.0)).sqrt_()
        column = x_abs.div_(x_max.add_(_TINY_MAX)).mul_(peak)
        row = d_abs.div_(d_max.add_(_TINY_MAX)).mul_(peak)
    else:  # C_x = C_δ = √(η/(Δw_min·BL))
        scale = bit_length.clamp(min=1.0).reciprocal_().mul_(lr / granularity).sqrt_()
        column, row = x_abs.mul_(scale), d_abs.mul_(scale)
    column, row = column.clamp_(max=1.0), row.clamp_(max=1.0)
    bit_length = bit_length.view(-1)
    slots = int(bit_length.sum())
    unit = slots <= bit_length.numel() and bool((bit_length <= 1).all())
    return PulseProbabilities(column, row, bit_length, x, d, slots=slots, unit=unit)


def expected_pulse_counts(prob: PulseProbabilities) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Means and sums of squared probabilities of each device's up and down counts over the batch.

    A device's count in one direction is a sum of independent Bernoulli(q_bi·p_bj) trials, one per
    slot of each sample whose sign gives that direction (up where δ_i x_j < 0): with sign-split
    row probabilities weighted by each sample's bit length, each quantity is one matrix product.
    """
    bl = prob.bit_length[:, None]
    row_signed = prob.row * prob.row_sign * bl
    column_signed = prob.column * prob.column_sign
    # total = up + down = Σ BL·q_i p_j, signed = down − up = Σ BL·q_i p_j sign(δ_i x_j)
    total = (prob.row * bl).T @ prob.column
    signed = row_signed.T @ column_signed
    total_sq = (prob.row.square() * bl).T @ prob.column.square()
    signed_sq = (row_signed * prob.row).T @ (column_signed * prob.column)
    mean_down = torch.add(total, signed).mul_(0.5).clamp_(min=0.0)
    mean_up = total.sub_(signed).mul_(0.5).clamp_(min=0.0)
    squares_down = torch.add(total_sq, signed_sq).mul_(0.5).clamp_(min=0.0)
    squares_up = total_sq.sub_(signed_sq).mul_(0.5).clamp_(min=0.0)
    return mean_up, squares_up, mean_down, squares_down
