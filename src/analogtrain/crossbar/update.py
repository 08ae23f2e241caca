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
    those of the reference, including correlations between devices. When pulses are sparse
    (small probabilities, the usual training regime) the firing entries are drawn directly
    (:func:`bernoulli_entries`), the coincidences listed per device and only the pulsed devices
    updated (:func:`apply_at`), so the cost follows the number of pulses, not the array size;
    or (b) *moment matching* —
    counts drawn per device from the exact mean and variance of its coincidence count (see
    :mod:`analogtrain.crossbar.counts`), used for long trains (dense pulses), where (a) would
    need a very large matrix. Approximation common to both: the order of a device's pulses
    within the batch is treated as random (exact to first order in the step size); (b) also
    drops correlations between devices. The per-device mean and variance of ΔW agree with
    ``exact`` (tested statistically).
``none``
    Floating-point update ``W ← W − η δ xᵀ`` with no device physics and no clipping (for
    checking gradients).

On CPU, an update whose trains are all one slot long is drawn by a compiled loop
(:func:`compiled_unit_counts`: one uniform per train entry, then the coincidences listed and
counted; the same counts as the tensor code from the same uniforms).

In the aggregate mode an update is drawn (:func:`draw_pulse_counts`, or
:func:`column_pulse_counts` for the one-hot inputs of a transfer) and then applied
(:func:`apply_pulse_counts`); :func:`apply_pulse_counts_jointly` applies the drawn counts of
several arrays in one device-response call (one training step of a whole network, see
:func:`analogtrain.crossbar.array.pulse_update_arrays`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Literal

import torch

from analogtrain import compiled
from analogtrain.compiled import as_numpy
from analogtrain.config import Config, check_choice, check_int
from analogtrain.crossbar.counts import LARGE_MEAN, sample_counts
from analogtrain.devices.base import DeviceParameters, NoiseSegments, PulsedDevice, scalar_constant

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
    x: torch.Tensor  # (batch, in) the inputs (their signs are the column trains' polarities)
    d: torch.Tensor  # (batch, out) the errors (their signs are the row trains' polarities)
    #: Whether every sample's trains are at most one slot long (the usual case of small updates),
    #: when known from the bit lengths' construction (None: found from ``bit_length`` when asked).
    unit: bool | None = None
    #: An upper bound, at most 1, of every probability when known (None: found when asked).
    bound: float | None = None

    @functools.cached_property
    def column_sign(self) -> torch.Tensor:
        """(batch, in) sign of x (computed when first needed: the sparse path needs only a few)."""
        return torch.sign(self.x)

    @functools.cached_property
    def row_sign(self) -> torch.Tensor:
        """(batch, out) sign of δ."""
        return torch.sign(self.d)

    @functools.cached_property
    def expected_coincidences(self) -> float:
        """Expected device pulses of the whole batch, ``Σ_b BL_b·(Σ_i q_bi)(Σ_j p_bj)``."""
        row_sums, column_sums = self.row.sum(dim=1), self.column.sum(dim=1)
        if self.unit_bit_lengths:  # BL_b = 1, or 0 where the probabilities are 0 anyway
            return float(torch.dot(row_sums, column_sums))
        return float(torch.dot(row_sums.mul_(column_sums), self.bit_length))

    @functools.cached_property
    def unit_bit_lengths(self) -> bool:
        """Whether every sample's trains are at most one slot long."""
        if self.unit is not None:
            return self.unit
        return bool((self.bit_length <= 1).all())

    @functools.cached_property
    def column_max(self) -> float:
        """An upper bound, at most 1, of the column probabilities (their largest unless
        :attr:`bound` is known; 0 for an empty batch)."""
        if self.bound is not None:
            return self.bound
        return float(self.column.max()) if self.column.numel() else 0.0

    @functools.cached_property
    def row_max(self) -> float:
        """An upper bound, at most 1, of the row probabilities (see :attr:`column_max`)."""
        if self.bound is not None:
            return self.bound
        return float(self.row.max()) if self.row.numel() else 0.0


def pulse_probabilities(
    x: torch.Tensor, d: torch.Tensor, lr: float, granularity: float, config: UpdateConfig
) -> PulseProbabilities:
    """Per-slot probabilities and bit lengths for each sample (see module docstring).

    A sample with no input or no error (k = 0) gets bit length 0 (no slots); its probabilities
    are finite and unused.
    """
    x_abs, d_abs = x.abs(), d.abs()
    x_max, d_max = x_abs.amax(dim=1, keepdim=True), d_abs.amax(dim=1, keepdim=True)
    scale = lr / granularity
    if config.update_management and config.bl_management:
        product = torch.mul(x_max, d_max)  # k/scale
        k_max = float(product.max()) * scale if product.numel() else 0.0
        if k_max <= 1.0:
            # The usual case of small updates: BL = ⌈k⌉ is 0 or 1, the peak √(k/BL) is √k, and no
            # probability exceeds √k_max ≤ 1 (no clamping). p_j = |x_j|·√k/max|x| and
            # q_i = |δ_i|·√k/max|δ| (each scale one operation: √scale enters as a multiplier).
            root = product.sqrt_()  # √(k/scale)
            tiny, zero = scalar_constant(_TINY_MAX, x), scalar_constant(0.0, x)
            column = x_abs.mul_(torch.addcdiv(zero, root, x_max.add_(tiny), value=math.sqrt(scale)))
            row = d_abs.mul_(torch.addcdiv(zero, root, d_max.add_(tiny), value=math.sqrt(scale)))
            # The bound allows for the rounding of the products (p ≤ √k up to a few ulps).
            bound = min(1.0, math.sqrt(k_max) * (1.0 + 1e-6))
            return PulseProbabilities(column, row, root.sign_().view(-1), x, d, unit=True, bound=bound)
    k = (x_max * d_max).mul_(scale)  # (batch, 1)
    if config.bl_management:
        bit_length = k.ceil().clamp_(max=config.bl)  # ⌈k⌉ ≤ bl, and 0 where k = 0
    else:
        bit_length = (k > 0).to(x.dtype).mul_(config.bl)
    if config.update_management:
        # Both largest probabilities are √(k/BL): p_j = |x_j|/max|x|·√(k/BL), q_i = |δ_i|/max|δ|·√(k/BL).
        peak = k.div(bit_length.clamp(min=1.0)).sqrt_()
        column_scale, row_scale = peak.div(x_max.add_(_TINY_MAX)), peak.div_(d_max.add_(_TINY_MAX))
    else:  # C_x = C_δ = √(lr/(granularity·BL))
        column_scale = row_scale = bit_length.clamp(min=1.0).reciprocal_().mul_(lr / granularity).sqrt_()
    column = x_abs.mul_(column_scale).clamp_(max=1.0)
    row = d_abs.mul_(row_scale).clamp_(max=1.0)
    unit = True if config.bl == 1 else None
    return PulseProbabilities(column, row, bit_length.view(-1), x, d, unit=unit)


#: Added to the maxima under update management so that an all-zero x or δ gives probabilities 0.
_TINY_MAX = 1e-20


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
    stacked: torch.Tensor | None = None,
) -> tuple[torch.Tensor, float]:
    """Apply ``ΔW = −lr·dᵀx`` to ``weights`` (out, in) by pulses; returns (new weights, pulses).

    ``weights`` may be modified in place; use the returned tensor.

    ``x`` is (batch, in) and ``d`` (batch, out). ``stacked``: the parameters as one tensor (see
    :func:`apply_at`), for speed.
    """
    if config.mode == "none":
        return weights - lr * d.T @ x, 0.0
    if config.mode == "aggregate":
        counts = draw_pulse_counts(weights.shape, device, x, d, lr, config, generator)
        if counts is None:
            return weights, 0.0
        return apply_pulse_counts(device, weights, params, counts, generator, stacked), counts.pulses
    prob = pulse_probabilities(x, d, lr, device.granularity, config)
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
            weights = apply_counts(device, weights, params, n_up, n_down, generator, stacked)
        else:  # exact: slot by slot, one pulse per coincidence
            for slot in range(bit_length):
                coincide = rows[slot][:, None] * columns[slot][None, :]
                if not bool(coincide.any()):
                    continue
                pulses += float(coincide.sum())
                weights = device.pulse(weights, params, direction * coincide, generator)
    return weights, pulses


@dataclasses.dataclass
class PulseCounts:
    """The pulses of one aggregate update of one array, drawn but not yet applied."""

    n_up: torch.Tensor  # (m,) up pulses of each listed device
    n_down: torch.Tensor  # (m,) down pulses
    index: torch.Tensor | None  # (m,) flat (row-major) positions of the listed devices; None: all, in order
    pulses: float  # total device pulses


def draw_pulse_counts(
    shape: tuple[int, int],
    device: PulsedDevice,
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
) -> PulseCounts | None:
    """The per-device up/down counts of an ``aggregate`` update of an array of ``shape`` (None: no
    pulse), from the cheaper of the two count generators (module docstring). Where fewer than
    :data:`SPARSE_FRACTION` of the devices get pulses, only those are listed."""
    prob = pulse_probabilities(x, d, lr, device.granularity, config)
    rows, columns = shape
    # Unit bit lengths: at most one slot per sample (the batch size serves the cost estimate).
    slots = x.shape[0] if prob.unit_bit_lengths else int(prob.bit_length.sum())
    compiled_draw = _compiled_unit_draw(prob)
    surely_cheaper = compiled_draw and x.shape[0] * prob.row_max * prob.column_max <= _COMPILED_BATCH_PULSES
    if surely_cheaper or _batch_trains_cheaper(prob, slots, x.shape[0], rows, columns):
        if compiled_draw:
            counts = compiled_unit_counts(prob, generator)
            return counts if counts.pulses > 0 else None
        trains = draw_batch_trains(prob, generator)
        if prob.expected_coincidences <= SPARSE_FRACTION * rows * columns:  # list them
            counts = trains.sparse_counts(prob)
            return counts if counts.pulses > 0 else None
        n_up, n_down = trains.dense_counts(prob)
    else:
        mean_up, squares_up, mean_down, squares_down = expected_pulse_counts(prob)
        n_up = sample_counts(mean_up, squares_up, generator)
        n_down = sample_counts(mean_down, squares_down, generator)
    pulses = float(n_up.sum() + n_down.sum())
    return listed_counts(n_up, n_down, pulses) if pulses > 0 else None


def _compiled_unit_draw(prob: PulseProbabilities) -> bool:
    """Whether :func:`compiled_unit_counts` draws this update: one-slot trains on CPU, each train
    small enough, or dense enough, that one uniform per entry is the cheaper draw."""
    if not (prob.unit_bit_lengths and compiled.applies(prob.row, prob.column)):
        return False
    return all(size <= _COMPILED_ENTRIES or _dense_draw(rate, size)
               for size, rate in ((prob.row.numel(), prob.row_max), (prob.column.numel(), prob.column_max)))


#: Up to this many entries per train the compiled draw takes one uniform per entry.
_COMPILED_ENTRIES = 1 << 16
#: The compiled draw lists each pulse (~10 ns); moment matching costs at least ~400 ns per device.
#: With one-slot trains a device gets at most batch·max q·max p pulses on average, so below this
#: bound the compiled draw is the cheaper without working out the cost model.
_COMPILED_BATCH_PULSES = 40.0


def compiled_unit_counts(prob: PulseProbabilities, generator) -> PulseCounts:
    """The listed counts of a one-slot update by the compiled loop
    (:func:`analogtrain.crossbar.compiled.unit_coincidences`), CPU only.

    It draws one uniform per train entry, rows first, then columns, from ``generator``, as the
    dense draw of :func:`bernoulli_train`; with those uniforms the counts equal those of
    :func:`draw_batch_trains` and :meth:`BatchTrains.sparse_counts`.
    """
    from analogtrain.crossbar.compiled import unit_coincidences

    row_uniform = torch.rand(prob.row.shape, generator=generator, dtype=prob.row.dtype)
    column_uniform = torch.rand(prob.column.shape, generator=generator, dtype=prob.column.dtype)
    index, n_up, n_down, total = unit_coincidences(
        as_numpy(prob.row), as_numpy(prob.column), as_numpy(row_uniform), as_numpy(column_uniform),
        as_numpy(prob.d), as_numpy(prob.x))
    return PulseCounts(torch.from_numpy(n_up), torch.from_numpy(n_down), torch.from_numpy(index), float(total))


def listed_counts(n_up: torch.Tensor, n_down: torch.Tensor, pulses: float) -> PulseCounts:
    """:class:`PulseCounts` of whole-array counts: only the pulsed devices when they are few in a
    large array (a small array is listed whole: a device without pulses stays exactly as it is,
    and for small arrays finding the pulsed ones costs more operations than it saves)."""
    n_up, n_down = n_up.reshape(-1), n_down.reshape(-1)
    if n_up.numel() <= _SMALL_WRITE:
        return PulseCounts(n_up, n_down, None, pulses)
    active = torch.add(n_up, n_down).nonzero().squeeze(1)
    if active.numel() > SPARSE_FRACTION * n_up.numel():
        return PulseCounts(n_up, n_down, None, pulses)
    return PulseCounts(n_up.index_select(0, active), n_down.index_select(0, active), active, pulses)


def column_pulse_update(
    weights: torch.Tensor,
    params: DeviceParameters,
    device: PulsedDevice,
    columns: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
    stacked: torch.Tensor | None = None,
) -> tuple[torch.Tensor, float]:
    """:func:`pulse_update` for one-hot inputs: sample s has ``x_s = e_{c_s}`` (``columns`` holds
    the distinct c_s), so ``ΔW[:, c_s] = −lr·δ_s``. This is the write of a transfer (Tiki-Taka,
    SHD: ``C += η_C·v·uᵀ`` with u one-hot).

    In the aggregate mode the counts are drawn from the reference process directly: with
    ``|x_s| = 1`` the column's train fires ``S_s ~ Binomial(BL_s, p_s)`` times, and row i fires
    in each of those slots independently with probability ``q_si``, so device (i, c_s) gets
    ``Binomial(S_s, q_si)`` coincidences, all in the direction ``−sign(δ_si)`` (Gokmen & Vlasov
    2016's coincidence process, conditioned on the column train). A device is hit by one sample
    only (distinct columns), so the closed form is exact in the order of its pulses. Other modes
    build the one-hot x and call :func:`pulse_update`.
    """
    k, n = columns.numel(), weights.shape[1]
    if config.mode != "aggregate":
        x = torch.zeros((k, n), device=d.device, dtype=d.dtype)
        x[torch.arange(k, device=d.device), columns] = 1.0
        return pulse_update(weights, params, device, x, d, lr, config, generator, stacked)
    counts = column_pulse_counts(weights.shape, device, columns, d, lr, config, generator)
    if counts is None:
        return weights, 0.0
    return apply_pulse_counts(device, weights, params, counts, generator, stacked), counts.pulses


def column_pulse_counts(
    shape: tuple[int, int],
    device: PulsedDevice,
    columns: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
) -> PulseCounts | None:
    """The counts of :func:`column_pulse_update` in the aggregate mode (None: no pulse)."""
    if columns.numel() == 1:
        counts = _one_column_counts(d, lr, device.granularity, config, generator)
    else:
        # The probabilities depend on x only through max|x_s| = |x_s[c_s]| = 1: a column of ones.
        prob = pulse_probabilities(torch.ones((columns.numel(), 1), device=d.device, dtype=d.dtype), d, lr,
                                   device.granularity, config)
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
    if counts.numel() > _SMALL_WRITE and pulses < SPARSE_FRACTION * counts.numel():
        # Most of these devices got no pulse: skip them (a device without pulses stays as it
        # is, so listing it only costs its share of the device response; for small writes the
        # listing's own operations cost more).
        active = counts.nonzero().squeeze(1)
        index, counts, signs = index.index_select(0, active), counts.index_select(0, active), signs.index_select(0, active)
    n_up = counts * torch.signbit(signs)  # up where −sign(δ) > 0 (a device with pulses has δ ≠ 0)
    return PulseCounts(n_up, counts - n_up, index, pulses)


#: A write to at most this many devices (a column, a small array) lists them all, pulsed or not.
_SMALL_WRITE = 4096


def _one_column_counts(d: torch.Tensor, lr: float, granularity: float, config: UpdateConfig,
                       generator) -> torch.Tensor | None:
    """Coincidence counts (1, out) of a one-column write (the usual transfer), None if the column
    never fires: :func:`pulse_probabilities` of x = e_c worked out in scalars (max|x| = 1, so
    k = lr·max|δ|/Δw_min; the column's probability is the peak √(k/BL) under update management),
    S ~ Binomial(BL, p) by inversion of one uniform, then Binomial(S, q_i) per row."""
    d_abs = d.abs()
    d_max = float(d_abs.max())
    k = d_max * lr / granularity
    if config.bl_management:
        bit_length = min(math.ceil(k), config.bl)
    else:
        bit_length = config.bl if k > 0 else 0
    if bit_length == 0:
        return None
    if config.update_management:
        peak = math.sqrt(k / bit_length)
        column, row_scale = min(peak, 1.0), peak / (d_max + _TINY_MAX)
    else:
        row_scale = math.sqrt(lr / (granularity * bit_length))
        column = min(row_scale, 1.0)
    fires = _binomial_by_inversion(bit_length, column, float(torch.rand((), generator=generator, device=d.device)))
    if fires == 0:
        return None
    row = d_abs.mul_(row_scale).clamp_(max=1.0)
    if fires == 1:  # Binomial(1, q) is one Bernoulli draw per row: a uniform and a comparison
        uniform = torch.rand(row.shape, generator=generator, device=row.device, dtype=row.dtype)
        return (uniform < row).to(row.dtype)
    return torch.binomial(torch.full_like(row, float(fires)), row, generator=generator)


def _binomial_by_inversion(trials: int, probability: float, uniform: float) -> int:
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


#: Below this fraction of devices receiving pulses, only those devices are computed.
SPARSE_FRACTION = 0.3


def apply_counts(
    device: PulsedDevice,
    weights: torch.Tensor,
    params: DeviceParameters,
    n_up: torch.Tensor,
    n_down: torch.Tensor,
    generator: torch.Generator | None = None,
    stacked: torch.Tensor | None = None,
) -> torch.Tensor:
    """``device.apply_pulses`` of whole-array counts (out, in); returns new weights.

    In training most devices of a large array receive no pulse in a given update (mean-reduced
    errors and update management give per-device pulse counts well below one). Where fewer than
    :data:`SPARSE_FRACTION` of the devices have pulses, their weights, parameters and counts are
    gathered into flat vectors, updated there and scattered back: the physics is the same (a
    device without pulses does not change), the cost scales with the pulsed devices.
    """
    pulses = float(n_up.sum() + n_down.sum())
    if pulses == 0.0:
        return weights
    return apply_pulse_counts(device, weights, params, listed_counts(n_up, n_down, pulses), generator, stacked)


def apply_pulse_counts(
    device: PulsedDevice,
    weights: torch.Tensor,
    params: DeviceParameters,
    counts: PulseCounts,
    generator: torch.Generator | None = None,
    stacked: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weights (out, in) after the pulses of ``counts``; ``weights`` may be changed in place."""
    if counts.index is None:
        shape = weights.shape
        return device.apply_pulses(weights, params, counts.n_up.view(shape), counts.n_down.view(shape), generator)
    return apply_at(device, weights, params, counts.index, counts.n_up, counts.n_down, generator, stacked)


def apply_pulse_counts_jointly(
    device: PulsedDevice,
    jobs: list[tuple[torch.Tensor, DeviceParameters, PulseCounts, torch.Generator | None, torch.Tensor | None]],
) -> list[torch.Tensor]:
    """:func:`apply_pulse_counts` for several arrays of equal device models in one call.

    ``jobs``: (weights, params, counts, generator, stacked params) per array. The listed devices of
    every array are gathered into one vector, ``device.apply_pulses`` runs once on it, and the
    results are written back (in place where the weights are contiguous). For models whose
    response is elementwise with one normal draw per device (:meth:`PulsedDevice.applies_jointly`),
    each array's draws come from its own generator (:class:`~analogtrain.devices.base.NoiseSegments`),
    so the result equals applying the arrays one by one, bit for bit; otherwise they are applied
    one by one. Returns the new weights of every job, in order.
    """
    if device.apply_pulses_in_place([(w, p, c.index, c.n_up, c.n_down, g, s) for w, p, c, g, s in jobs]):
        return [w for w, *_ in jobs]  # the model's own faster way, same result (e.g. compiled, CPU)
    if len(jobs) == 1 or not device.applies_jointly():
        return [apply_pulse_counts(device, w, p, c, g, s) for w, p, c, g, s in jobs]
    flat_weights, flat_params, sizes = [], [], []
    for weights, params, counts, _, stacked in jobs:
        if stacked is None:
            stacked = torch.stack([value.reshape(-1) for value in params.values()])
        if counts.index is None:
            flat_weights.append(weights.reshape(-1))
            flat_params.append(stacked)
        else:
            flat_weights.append(weights.reshape(-1).index_select(0, counts.index))
            flat_params.append(stacked.index_select(1, counts.index))
        sizes.append(counts.n_up.numel())
    names = jobs[0][1].keys()
    updated = device.apply_pulses(
        torch.cat(flat_weights), dict(zip(names, torch.cat(flat_params, dim=1))),
        torch.cat([job[2].n_up for job in jobs]), torch.cat([job[2].n_down for job in jobs]),
        NoiseSegments([(job[3], size) for job, size in zip(jobs, sizes)]),
    )
    results = []
    for (weights, _, counts, _, _), part in zip(jobs, updated.split(sizes)):
        result = weights if weights.is_contiguous() else weights.contiguous()
        if counts.index is None:
            result.view(-1).copy_(part)
        else:
            result.view(-1).index_copy_(0, counts.index, part)
        results.append(result)
    return results


def apply_at(
    device: PulsedDevice,
    weights: torch.Tensor,
    params: DeviceParameters,
    index: torch.Tensor,
    n_up: torch.Tensor,
    n_down: torch.Tensor,
    generator: torch.Generator | None = None,
    stacked: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weights after ``n_up``/``n_down`` pulses at the flat positions ``index`` (1-D each).

    ``weights`` is updated in place (when contiguous) and returned.

    ``stacked``: optionally the parameters as one (len(params), numel) tensor, rows in the order
    of ``params`` (one gather instead of one per parameter).
    """
    if stacked is None:
        flat = {name: value.reshape(-1).index_select(0, index) for name, value in params.items()}
    else:
        flat = dict(zip(params, stacked.index_select(1, index)))
    updated = device.apply_pulses(weights.reshape(-1).index_select(0, index), flat, n_up, n_down, generator)
    result = weights if weights.is_contiguous() else weights.contiguous()
    result.view(-1).index_copy_(0, index, updated)  # in place: the untouched devices stay as they are
    return result


#: Cost-model constants (ns, one CPU thread; measured on the development machine): a
#: multiply-add inside a matrix product, one elementwise pass per entry, a uniform and compare per
#: train entry, a candidate of the geometric-gap draw, a listed coincidence, one moment-matched
#: count by the normal branch, one pass of the binomial branch (see :mod:`~analogtrain.crossbar.counts`).
_NS_MAC, _NS_PASS, _NS_UNIFORM, _NS_CANDIDATE, _NS_COINCIDENCE = 0.07, 1.0, 13.0, 110.0, 250.0
_NS_NORMAL_COUNT, _NS_BINOMIAL_PASS = 30.0, 40.0


def _batch_trains_cheaper(prob: PulseProbabilities, slots: int, batch: int, rows: int, columns: int) -> bool:
    """Rough CPU cost model (ns) of the two aggregate count generators; speed only.

    Batch trains: drawing the trains (per entry, or per candidate of the geometric-gap draw when
    the probabilities are small, see :func:`bernoulli_entries`), then either listing the expected
    coincidences E (sparse) or two matrix products of depth Σ BL (dense). Moment matching: four
    matrix products of depth batch, their operands, and one count draw per device and direction.
    """
    cells = rows * columns

    def draw_cost(rate: float, width: int) -> float:
        size = slots * width
        if rate <= DENSE_RATE and size >= SPARSE_DRAW_MIN_SIZE:
            return size * rate * _NS_CANDIDATE + 150e3
        return size * _NS_UNIFORM

    expected = prob.expected_coincidences
    if expected <= SPARSE_FRACTION * cells:
        counting = expected * _NS_COINCIDENCE + 300e3
    else:
        counting = 2 * slots * cells * _NS_MAC + slots * (rows + columns) * 4 * _NS_PASS + cells * 20 * _NS_PASS
    trains = draw_cost(prob.row_max, rows) + draw_cost(prob.column_max, columns) + counting
    mean = expected / (2 * cells)  # typical count per device and direction
    if mean >= LARGE_MEAN:
        count = _NS_NORMAL_COUNT
    else:  # inverse-CDF passes over the whole array, plus its set-up
        count = _NS_BINOMIAL_PASS * (5 + min(13.0, mean + 2 * math.sqrt(mean) + 2))
    moments = 4 * batch * cells * _NS_MAC + batch * (rows + columns) * 8 * _NS_PASS + 2 * cells * count
    return trains <= moments


class Train:
    """Which lines (rows or columns) fire in which slots: a (slots × lines) 0/1 matrix, held as a
    boolean mask (dense draws) or as the row-major flat positions of the firing entries (sparse
    draws), the other forms made when first asked for."""

    def __init__(self, slots: int, lines: int, mask: torch.Tensor | None = None,
                 positions: torch.Tensor | None = None, dtype: torch.dtype = torch.float32) -> None:
        self.slots, self.lines, self.dtype = slots, lines, dtype
        self._mask, self._positions = mask, positions

    @property
    def bits(self) -> torch.Tensor:
        """(slots × lines) 0/1 matrix of ``dtype``."""
        if self._mask is None:
            mask = torch.zeros(self.slots * self.lines, dtype=torch.bool, device=self._positions.device)
            mask[self._positions] = True
            self._mask = mask.view(self.slots, self.lines)
        return self._mask.to(self.dtype)

    @property
    def positions(self) -> torch.Tensor:
        """Flat positions ``slot·lines + line`` of the firing entries, ascending."""
        if self._positions is None:
            self._positions = self._mask.reshape(-1).nonzero().squeeze(1)
        return self._positions

    @property
    def entries(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(slot, line) of every firing entry, slot-major."""
        slot = torch.div(self.positions, self.lines, rounding_mode="floor")
        return slot, self.positions - slot * self.lines

    def per_slot(self) -> torch.Tensor:
        """Number of firing lines in each slot."""
        if self._mask is not None:
            return self._mask.sum(dim=1)
        return torch.bincount(torch.div(self._positions, self.lines, rounding_mode="floor"), minlength=self.slots)


@dataclasses.dataclass
class BatchTrains:
    """The pulse trains of a whole batch, stacked (sample b contributes BL_b slots)."""

    sample: torch.Tensor | None  # (Σ BL,) long: the sample of each slot (None: slot t = sample t)
    rows: Train
    columns: Train

    def _signs(self, signs: torch.Tensor) -> torch.Tensor:
        return signs if self.sample is None else signs[self.sample]

    def coincidences(self) -> int:
        """Total number of device pulses: Σ_t (rows firing in t)·(columns firing in t)."""
        return int((self.rows.per_slot() * self.columns.per_slot()).sum())

    def dense_counts(self, prob: PulseProbabilities) -> tuple[torch.Tensor, torch.Tensor]:
        """(n_up, n_down) of every device (out, in) by two matrix products over the slots.

        With the bit matrices D (slots × out) and X (slots × in), ``total = Dᵀ X`` and
        ``net = (sign·D)ᵀ(sign·X)`` give n_down = (total + net)/2 and n_up = total − n_down.
        """
        rows, columns = self.rows.bits, self.columns.bits
        total = rows.T @ columns
        # Σ_t sign(δ_i x_j) over the coincidences; down pulses where the sign is +.
        net = (rows * self._signs(prob.row_sign)).T @ (columns * self._signs(prob.column_sign))
        n_down = torch.add(total, net).mul_(scalar_constant(0.5, net))  # sums of ±1: exact integers
        return total.sub_(n_down), n_down

    def _negative(self, train: Train, slot: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Whether the x or δ entry behind each firing entry of ``train`` is negative (that entry
        is (sample of its slot, line) of ``values``, (batch, lines))."""
        positions = train.positions
        if self.sample is not None:  # slot t belongs to sample[t]
            positions = positions + (self.sample.index_select(0, slot) - slot) * train.lines
        return torch.signbit(values.reshape(-1).index_select(0, positions))  # a firing entry is never ±0

    def sparse_counts(self, prob: PulseProbabilities) -> PulseCounts:
        """The counts of the devices that receive pulses (listed by flat index).

        Every coincidence (slot t, row i, column j) is listed — for each firing row entry (t, i),
        all firing column entries of the same slot — and counted per device, in the direction
        −sign(δ_i x_j) of its sample (up where δ_i and x_j have opposite signs). The cost scales
        with the number of coincidences, not with the size of the array.
        """
        rows, columns = self.rows, self.columns
        row_slot = torch.div(rows.positions, rows.lines, rounding_mode="floor")
        column_slot = torch.div(columns.positions, columns.lines, rounding_mode="floor")
        row_negative = self._negative(rows, row_slot, prob.d)
        column_negative = self._negative(columns, column_slot, prob.x)
        per_slot = torch.bincount(column_slot, minlength=columns.slots)  # firing columns per slot
        first = per_slot.cumsum(0).sub_(per_slot)  # the first column entry of each slot
        repeats = per_slot.index_select(0, row_slot)  # coincidences of each firing row entry
        ends = repeats.cumsum(0)  # one past the last coincidence of each row entry
        total = int(ends[-1]) if ends.numel() else 0
        dtype = prob.row.dtype
        if total == 0:
            empty = torch.zeros(0, dtype=dtype, device=row_slot.device)
            return PulseCounts(empty, empty, torch.zeros(0, dtype=torch.long, device=row_slot.device), 0.0)
        # Coincidence e (0 ≤ e < total) belongs to row entry r = owner[e] and pairs it with column
        # entry first[slot of r] + e − (ends[r] − repeats[r]); gathers cost less than repeats.
        owner = torch.repeat_interleave(repeats, output_size=total)
        shift = first.index_select(0, row_slot).add_(repeats).sub_(ends)
        column_entry = shift.index_select(0, owner).add_(torch.arange(total, device=shift.device))
        row_line = torch.remainder(rows.positions, rows.lines)
        column_line = torch.remainder(columns.positions, columns.lines)
        key = row_line.mul_(columns.lines).index_select(0, owner).add_(
            column_line.index_select(0, column_entry))  # flat index i·in + j of the device
        up = row_negative.index_select(0, owner).ne_(column_negative.index_select(0, column_entry))
        index, inverse, count = torch.unique(key, return_inverse=True, return_counts=True)
        n_up = torch.zeros(index.numel(), dtype=dtype, device=index.device).index_add_(0, inverse, up.to(dtype))
        return PulseCounts(n_up, count.to(dtype).sub_(n_up), index, float(total))


def draw_batch_trains(prob: PulseProbabilities, generator) -> BatchTrains:
    """Draw the row and column trains of every sample (BL_b slots each) in one go."""
    if prob.unit_bit_lengths:  # every sample one slot (small updates): no copies
        sample = None
        row_probs, column_probs = prob.row, prob.column
    else:
        lengths = prob.bit_length.to(torch.long)
        sample = torch.repeat_interleave(torch.arange(lengths.numel(), device=lengths.device), lengths)
        row_probs, column_probs = prob.row.index_select(0, sample), prob.column.index_select(0, sample)
    return BatchTrains(sample, bernoulli_train(row_probs, generator, prob.row_max),
                       bernoulli_train(column_probs, generator, prob.column_max))


#: Above this largest probability, :func:`bernoulli_entries` draws one uniform per entry (the
#: geometric-gap draw costs ~8× more per candidate than a uniform per entry).
DENSE_RATE = 0.125
#: Below this many entries, :func:`bernoulli_entries` draws one uniform per entry (fewer operations).
SPARSE_DRAW_MIN_SIZE = 16384


def bernoulli_train(probabilities: torch.Tensor, generator, rate: float | None = None) -> Train:
    """An independent Bernoulli draw of each (slot, line) probability, as a :class:`Train`.

    ``rate``: an upper bound of the probabilities, at most 1 (default: their largest).
    """
    slots, lines = probabilities.shape
    if rate is None:
        rate = float(probabilities.max()) if probabilities.numel() else 0.0
    if _dense_draw(rate, probabilities.numel()):
        uniform = torch.rand(probabilities.shape, generator=generator, device=probabilities.device,
                             dtype=probabilities.dtype)
        return Train(slots, lines, mask=uniform < probabilities, dtype=probabilities.dtype)
    return Train(slots, lines, positions=bernoulli_positions(probabilities, generator, rate),
                 dtype=probabilities.dtype)


def _dense_draw(rate: float, size: int) -> bool:
    """One uniform per entry (rather than geometric gaps) for these largest probability and size."""
    return rate > DENSE_RATE or rate >= 1.0 or size < SPARSE_DRAW_MIN_SIZE


def bernoulli_entries(probabilities: torch.Tensor, generator, rate: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, column) of the entries of an independent Bernoulli draw of each probability, row-major
    (:func:`bernoulli_positions` split into rows and columns)."""
    columns = probabilities.shape[1]
    positions = bernoulli_positions(probabilities, generator, rate)
    row = torch.div(positions, columns, rounding_mode="floor")
    return row, positions - row * columns


def bernoulli_positions(probabilities: torch.Tensor, generator, rate: float | None = None) -> torch.Tensor:
    """Row-major flat positions of the entries of an independent Bernoulli draw of each probability.

    When every probability is at most r = max p ≤ :data:`DENSE_RATE`, candidates are drawn as a
    Bernoulli(r) process along the flattened matrix by geometric gaps, G ~ Geometric(r) on
    {1, 2, …} (P(G > g) = (1 − r)^g; ``Tensor.geometric_``), and each candidate is kept with
    probability p/r — exactly Bernoulli(p) per entry, with work proportional to r·size instead of
    size (pulse probabilities are mostly small). Otherwise one uniform per entry. ``rate``: an
    upper bound of the probabilities, at most 1, used as r (default: their largest).
    """
    flat = probabilities.reshape(-1)
    if rate is None:
        rate = float(flat.max()) if flat.numel() else 0.0
    if rate <= 0.0:
        return torch.zeros(0, dtype=torch.long, device=flat.device)
    if _dense_draw(rate, flat.numel()):
        uniform = torch.rand(flat.shape, generator=generator, device=flat.device, dtype=flat.dtype)
        return (uniform < flat).nonzero().squeeze(1)
    size, last, parts = flat.numel(), -1, []
    while last < size - 1:
        remaining = (size - 1 - last) * rate
        draws = int(remaining + 6.0 * math.sqrt(remaining) + 16.0)
        gaps = torch.empty(draws, dtype=torch.long, device=flat.device).geometric_(rate, generator=generator)
        positions = gaps.cumsum_(0).add_(last)
        last = int(positions[-1])
        if last >= size:  # ascending: keep those before the end
            positions = positions[: int(torch.searchsorted(positions, size))]
        parts.append(positions)
    candidates = parts[0] if len(parts) == 1 else torch.cat(parts)
    keep = torch.empty(candidates.numel(), device=flat.device, dtype=flat.dtype).uniform_(
        0.0, rate, generator=generator) < flat.index_select(0, candidates)  # U·r < p: kept with p/r
    return candidates.masked_select(keep)


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
    "column_pulse_update",
    "apply_counts",
    "apply_at",
    "PulseCounts",
    "draw_pulse_counts",
    "column_pulse_counts",
    "listed_counts",
    "apply_pulse_counts",
    "apply_pulse_counts_jointly",
    "BatchTrains",
    "Train",
    "bernoulli_train",
    "draw_batch_trains",
    "bernoulli_entries",
    "bernoulli_positions",
    "expected_update",
]
