"""The stochastic pulse update of a whole array (Gokmen & Vlasov, Front. Neurosci. 10:333, 2016).

To apply ``ΔW = −η δ xᵀ`` for one input vector x and error vector δ, column j fires a random
train of ``BL`` slots with per-slot probability ``p_j = C_x|x_j|`` and row i one with
``q_i = C_δ|δ_i|``; where a row and a column pulse coincide, device (i, j) receives one pulse in
the direction ``−sign(δ_i x_j)``. The expected number of pulses at (i, j) is
``BL·C_x·C_δ·|x_j δ_i| = η|δ_i x_j|/Δw_min`` when ``C_x C_δ = η/(BL·Δw_min)``.

Update management (Gokmen, Onen & Haensch 2017; prior-art §1.5), per vector:

* bit-length management: ``k = η·max|x|·max|δ|/Δw_min``, ``BL = min(⌈k⌉, bl)``;
* update management: ``C_x = √(η/(BL Δw_min))·√(max|δ|/max|x|)`` and
  ``C_δ = √(η/(BL Δw_min))·√(max|x|/max|δ|)``, so both largest probabilities equal √(k/BL);
  probabilities above 1 saturate (the update is then capped at BL pulses per device).

Modes (:class:`UpdateConfig.mode`):

``exact``
    The reference: sample by sample through the batch, slot by slot through the pulse train, each
    coincidence one device pulse with its own cycle-to-cycle noise and clipping.
``per-sample``
    Same pulse trains, but each sample's coincidence counts are one matrix product
    ``counts = Dbitsᵀ·Xbits`` and the device applies all of a sample's (same-signed) pulses in
    closed form (exact for constant, linear and soft-bounds steps without noise; the noise of n
    pulses is summed as one Gaussian).
``aggregate`` (default)
    Per device, the numbers of up and down pulses of the whole batch are found at once and
    applied in closed form as a random-order mix. The counts come from whichever of two
    generators is cheaper for the batch (both give each device the count distribution of the
    reference process): (a) *batch pulse trains* — the trains of all samples stacked into one
    (Σ BL) × n bit matrix per side, so the counts ``Dbitsᵀ·Xbits`` (split by sign) are exactly
    those of the reference, including correlations between devices; or (b) *moment matching* —
    counts drawn per device from the exact mean and variance of its coincidence count (see
    :mod:`analogtrain.crossbar.counts`), used for long trains (dense pulses), where (a) would
    need a very large matrix. Approximation common to both: the order of a device's pulses
    within the batch is treated as random (exact to first order in the step size); (b) also
    drops correlations between devices. The per-device mean and variance of ΔW agree with
    ``exact`` (tested statistically).
``none``
    Floating-point update ``W ← W − η δ xᵀ`` with no device physics and no clipping (for
    checking gradients).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

from analogtrain.config import Config, check_choice, check_int
from analogtrain.crossbar.counts import sample_counts
from analogtrain.devices.base import DeviceParameters, PulsedDevice

UPDATE_MODES = ("aggregate", "per-sample", "exact", "none")


@dataclasses.dataclass(frozen=True)
class UpdateConfig(Config):
    """Pulse-update settings: bit length, update and bit-length management, mode."""

    bl: int = 31
    update_management: bool = True
    bl_management: bool = True
    mode: Literal["aggregate", "per-sample", "exact", "none"] = "aggregate"

    def validate(self) -> None:
        check_int("bl", self.bl, 1, 4096)
        check_choice("mode", self.mode, UPDATE_MODES)


@dataclasses.dataclass
class PulseProbabilities:
    """Per-sample pulse-train settings: probabilities per slot, bit lengths and signs."""

    column: torch.Tensor  # (batch, in) probabilities of the column (x) trains
    row: torch.Tensor  # (batch, out) probabilities of the row (δ) trains
    bit_length: torch.Tensor  # (batch,) train length of each sample (0: no pulses)
    column_sign: torch.Tensor  # (batch, in)
    row_sign: torch.Tensor  # (batch, out)


def pulse_probabilities(
    x: torch.Tensor, d: torch.Tensor, lr: float, granularity: float, config: UpdateConfig
) -> PulseProbabilities:
    """Per-slot probabilities and bit lengths for each sample (see module docstring)."""
    x_max = x.abs().amax(dim=1)
    d_max = d.abs().amax(dim=1)
    k = lr * x_max * d_max / granularity
    if config.bl_management:
        bit_length = torch.ceil(k).clamp(max=config.bl)
    else:
        bit_length = torch.full_like(k, float(config.bl))
    bit_length = torch.where(k > 0, bit_length, torch.zeros_like(k))
    scale = torch.sqrt(lr / (granularity * bit_length.clamp(min=1.0)))
    if config.update_management:
        ratio = torch.sqrt(d_max / x_max.clamp(min=1e-30)).clamp(min=1e-15)
        ratio = torch.where(k > 0, ratio, torch.ones_like(ratio))
        column_scale, row_scale = scale * ratio, scale / ratio
    else:
        column_scale = row_scale = scale
    column = (x.abs() * column_scale[:, None]).clamp(max=1.0)
    row = (d.abs() * row_scale[:, None]).clamp(max=1.0)
    return PulseProbabilities(column, row, bit_length, torch.sign(x), torch.sign(d))


def expected_pulse_counts(prob: PulseProbabilities) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Means and sums of squared probabilities of the up and down counts over the batch.

    Up pulses come where δ_i x_j < 0. With sign-split row probabilities weighted by each sample's
    bit length, each quantity is a single matrix product over the batch.
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


def pulse_update(
    weights: torch.Tensor,
    params: DeviceParameters,
    device: PulsedDevice,
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """Apply ``ΔW = −lr·dᵀx`` to ``weights`` (out, in) by pulses; returns (new weights, pulses).

    ``x`` is (batch, in) and ``d`` (batch, out).
    """
    if config.mode == "none":
        return weights - lr * d.T @ x, 0.0
    prob = pulse_probabilities(x, d, lr, device.granularity, config)
    if config.mode == "aggregate":
        slots = int(prob.bit_length.sum())
        if _batch_trains_cheaper(slots, x.shape[0], d.shape[1], x.shape[1]):
            n_up, n_down = batch_train_counts(prob, generator)
        else:
            mean_up, squares_up, mean_down, squares_down = expected_pulse_counts(prob)
            n_up = sample_counts(mean_up, squares_up, generator)
            n_down = sample_counts(mean_down, squares_down, generator)
        pulses = float(n_up.sum() + n_down.sum())
        if pulses == 0.0:
            return weights, 0.0
        return device.apply_pulses(weights, params, n_up, n_down, generator), pulses
    pulses = 0.0
    for b in range(x.shape[0]):
        bit_length = int(prob.bit_length[b])
        if bit_length == 0:
            continue
        rows = _bits(prob.row[b], bit_length, generator)  # (BL, out)
        columns = _bits(prob.column[b], bit_length, generator)  # (BL, in)
        direction = -(prob.row_sign[b][:, None] * prob.column_sign[b][None, :])  # (out, in)
        if config.mode == "per-sample":
            counts = rows.T @ columns
            n_up = counts * (direction > 0)
            n_down = counts * (direction < 0)
            pulses += float(counts.sum())
            weights = device.apply_pulses(weights, params, n_up, n_down, generator)
        else:  # exact: slot by slot, one pulse per coincidence
            for slot in range(bit_length):
                coincide = rows[slot][:, None] * columns[slot][None, :]
                if not bool(coincide.any()):
                    continue
                pulses += float(coincide.sum())
                weights = device.pulse(weights, params, direction * coincide, generator)
    return weights, pulses


def _batch_trains_cheaper(slots: int, batch: int, rows: int, columns: int) -> bool:
    """Rough CPU cost model (ns) of the two aggregate count generators; speed only.

    Batch trains: two matrix products of depth Σ BL plus (rows + columns)·Σ BL random draws.
    Moment matching: four matrix products of depth batch plus ~90 ns of sampling per device.
    """
    cells = rows * columns
    trains = slots * (2 * cells * 0.04 + (rows + columns) * 6.0)
    moments = 4 * batch * cells * 0.04 + cells * 90.0
    return trains <= moments


def batch_train_counts(prob: PulseProbabilities, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact up/down coincidence counts of a batch from its stacked pulse trains.

    Sample b contributes BL_b slots; all slots of all samples form one (Σ BL) × n bit matrix per
    side. ``total = |D|ᵀ|X|`` and ``net = −(sign·D)ᵀ(sign·X)`` give n_up = (total + net)/2 and
    n_down = (total − net)/2.
    """
    lengths = prob.bit_length.to(torch.long)
    row_probs = prob.row.repeat_interleave(lengths, dim=0)
    column_probs = prob.column.repeat_interleave(lengths, dim=0)
    rows = (torch.rand(row_probs.shape, generator=generator, device=row_probs.device,
                       dtype=row_probs.dtype) < row_probs).to(row_probs.dtype)
    columns = (torch.rand(column_probs.shape, generator=generator, device=column_probs.device,
                          dtype=column_probs.dtype) < column_probs).to(column_probs.dtype)
    total = rows.T @ columns
    net = -((rows * prob.row_sign.repeat_interleave(lengths, dim=0)).T
            @ (columns * prob.column_sign.repeat_interleave(lengths, dim=0)))
    return (total + net).mul_(0.5).round_(), (total - net).mul_(0.5).round_()


def _bits(probabilities: torch.Tensor, length: int, generator) -> torch.Tensor:
    """A (length, n) 0/1 float tensor: independent Bernoulli trains, one per line."""
    draws = torch.rand((length, probabilities.numel()), generator=generator, device=probabilities.device,
                       dtype=probabilities.dtype)
    return (draws < probabilities[None, :]).to(probabilities.dtype)


def expected_update(x: torch.Tensor, d: torch.Tensor, lr: float) -> torch.Tensor:
    """The update the pulses approximate: ``−lr·dᵀx`` (out, in)."""
    return -lr * d.T @ x


__all__ = [
    "UPDATE_MODES",
    "UpdateConfig",
    "PulseProbabilities",
    "pulse_probabilities",
    "expected_pulse_counts",
    "pulse_update",
    "expected_update",
]
