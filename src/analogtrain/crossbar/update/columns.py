"""Column writes: the pulse update with one-hot inputs (a transfer's write, Tiki-Taka and SHD).

Sample s has ``x_s = e_{c_s}`` (distinct columns c_s), so ``ΔW[:, c_s] = −η·δ_s``. The counts are
drawn from the reference process directly: with |x_s| = 1 the column's train fires
``S_s ~ Binomial(BL_s, p_s)`` times, and row i fires in each of those slots independently with
probability ``q_si``, so device (i, c_s) gets ``Binomial(S_s, q_si)`` coincidences, all in the
direction −sign(δ_si) (Gokmen & Vlasov 2016's coincidence process, conditioned on the column
train). A device is hit by one sample only, so the closed-form response is exact in the order of
its pulses. The ``exact`` and ``none`` strategies build the one-hot inputs and run as any update.
"""

from __future__ import annotations

import math

import torch

from analogtrain.crossbar.update.config import UpdateConfig
from analogtrain.crossbar.update.counts import SMALL_WRITE, SPARSE_FRACTION, PulseCounts
from analogtrain.crossbar.update.probabilities import _TINY_MAX, pulse_probabilities, snap_integer


def one_hot_inputs(columns: torch.Tensor, width: int, like: torch.Tensor) -> torch.Tensor:
    """(k, width) inputs with a 1 at each sample's column."""
    x = torch.zeros((columns.numel(), width), device=like.device, dtype=like.dtype)
    x[torch.arange(columns.numel(), device=like.device), columns] = 1.0
    return x


def column_pulse_counts(
    shape: tuple[int, int],
    granularity: float,
    columns: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
) -> PulseCounts | None:
    """The counts of a column write (module docstring); None: no pulse."""
    if columns.numel() == 1:
        counts = _one_column_counts(d, lr, granularity, config, generator)
    else:
        # The probabilities depend on x only through max|x_s| = |x_s[c_s]| = 1: a column of ones.
        prob = pulse_probabilities(torch.ones((columns.numel(), 1), device=d.device, dtype=d.dtype), d, lr,
                                   granularity, config)
        column_fires = torch.binomial(prob.bit_length, prob.column[:, 0], generator=generator)
        if not bool(column_fires.any()):  # no column slot fired: no coincidence
            return None
        counts = torch.binomial(column_fires[:, None].expand_as(prob.row).contiguous(), prob.row,
                                generator=generator)
    if counts is None:
        return None
    pulses = float(counts.sum())
    if pulses == 0.0:
        return None
    rows, width = d.shape[1], shape[1]
    if columns.numel() == 1:  # devices (i, c): every width-th flat position from c
        column = int(columns)
        index = torch.arange(column, column + rows * width, width, device=d.device)
    else:
        index = (torch.arange(rows, device=d.device)[None, :] * width + columns.to(d.device)[:, None]).reshape(-1)
    counts, signs = counts.reshape(-1), d.reshape(-1)
    if counts.numel() > SMALL_WRITE and pulses < SPARSE_FRACTION * counts.numel():
        # Most of these devices got no pulse: skip them (a device without pulses stays as it is).
        active = counts.nonzero().squeeze(1)
        index, counts, signs = index.index_select(0, active), counts.index_select(0, active), signs.index_select(0, active)
    n_up = counts * torch.signbit(signs)  # up where −sign(δ) > 0 (a device with pulses has δ ≠ 0)
    return PulseCounts(n_up, counts - n_up, index, pulses, "columns")


def _one_column_counts(d: torch.Tensor, lr: float, granularity: float, config: UpdateConfig,
                       generator) -> torch.Tensor | None:
    """Coincidence counts (1, out) of a one-column write (the usual transfer), None if the column
    never fires: the probabilities of x = e_c worked out in scalars (max|x| = 1, so
    k = lr·max|δ|/Δw_min; the column's probability is the peak √(k/BL) under update management),
    S ~ Binomial(BL, p) by inversion of one uniform, then Binomial(S, q_i) per row."""
    d_abs = d.abs()
    d_max = float(d_abs.max())
    k = snap_integer(d_max * lr / granularity, d.dtype)
    if config.bl_management:
        bit_length = min(math.ceil(k), config.bl)
    else:
        bit_length = config.bl if k > 0 else 0
    if bit_length == 0:
        return None
    if config.update_management:  # q_i = (|δ_i|/max|δ|)·√(k/BL): exactly the peak at the largest δ
        peak = math.sqrt(k / bit_length)
        column = min(peak, 1.0)
    else:
        row_scale = math.sqrt(lr / (granularity * bit_length))
        column = min(row_scale, 1.0)
    fires = binomial_by_inversion(bit_length, column, float(torch.rand((), generator=generator, device=d.device)))
    if fires == 0:
        return None
    if config.update_management:
        row = d_abs.div_(d_max + _TINY_MAX).mul_(peak).clamp_(max=1.0)
    else:
        row = d_abs.mul_(row_scale).clamp_(max=1.0)
    if fires == 1:  # Binomial(1, q) is one Bernoulli draw per row: a uniform and a comparison
        uniform = torch.rand(row.shape, generator=generator, device=row.device, dtype=row.dtype)
        return (uniform < row).to(row.dtype)
    return torch.binomial(torch.full_like(row, float(fires)), row, generator=generator)


def binomial_by_inversion(trials: int, probability: float, uniform: float) -> int:
    """The Binomial(trials, probability) value whose CDF interval holds ``uniform`` ∈ [0, 1)."""
    if probability >= 1.0:
        return trials
    if probability <= 0.0:
        return 0
    ratio = probability / (1.0 - probability)
    mass = (1.0 - probability) ** trials  # P(S = 0)
    cumulative, value = mass, 0
    while uniform >= cumulative and value < trials:
        mass *= ratio * (trials - value) / (value + 1)
        value += 1
        cumulative += mass
    return value
