"""The ``trains`` strategy: the batch's pulse trains, and their coincidences counted per device.

Sample b contributes BL_b slots; in each, column j fires with probability p_bj and row i with q_bi,
independently (:func:`bernoulli_train`: rows first, then columns, from the array's generator). Stacking the slots of the whole batch gives 0/1 matrices D (S × out) and
X (S × in), S = Σ_b BL_b, and device (i, j) receives one pulse per slot where both fire, in the
direction −sign(δ_bi x_bj) (up where δ and x have opposite signs). Its counts are therefore exactly
two products of the trains::

    total = Dᵀ X,   net = (sign(δ)·D)ᵀ (sign(x)·X),   n_down = (total + net)/2,   n_up = total − n_down

— the counts of the reference process, including the correlations between devices that share a
row or a column train. Two ways to compute the same counts (identical results, so the choice is
speed only, see :func:`~analogtrain.crossbar.update.strategies.choose_counting`):

* :func:`train_products` — the two matrix products (dense trains: cost 2·S·out·in multiply-adds);
* :func:`listed_coincidences` — every coincidence listed and counted per device, only the pulsed
  devices kept (sparse trains: cost proportional to the expected pulses E). The tensor listing
  runs anywhere; on CPU the compiled loop :func:`~analogtrain.crossbar.update.listing.list_coincidences`
  gives the same list.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from analogtrain import compiled
from analogtrain.crossbar.update.counts import PulseCounts
from analogtrain.crossbar.update.listing import list_coincidences
from analogtrain.crossbar.update.probabilities import PulseProbabilities


class Train:
    """Which lines (rows or columns) fire in which slots: a (slots × lines) 0/1 matrix, held as a
    boolean mask (dense draws) or as the ascending flat positions ``slot·lines + line`` of the
    firing entries (sparse draws); the other form is made when first asked for."""

    def __init__(self, slots: int, lines: int, mask: torch.Tensor | None = None,
                 positions: torch.Tensor | None = None) -> None:
        self.slots, self.lines = slots, lines
        self._mask, self._positions = mask, positions

    @property
    def mask(self) -> torch.Tensor:
        """(slots, lines) bool."""
        if self._mask is None:
            mask = torch.zeros(self.slots * self.lines, dtype=torch.bool, device=self._positions.device)
            mask[self._positions] = True
            self._mask = mask.view(self.slots, self.lines)
        return self._mask

    @property
    def positions(self) -> torch.Tensor:
        """Flat positions of the firing entries, ascending (slot-major)."""
        if self._positions is None:
            self._positions = self._mask.reshape(-1).nonzero().squeeze(1)
        return self._positions

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
class Trains:
    """The pulse trains of a whole batch, stacked: slot t belongs to sample ``sample[t]``."""

    rows: Train  # (S, out): row i fires in slot t
    columns: Train  # (S, in): column j fires in slot t
    sample: torch.Tensor | None  # (S,) long; None: slot t is sample t (every BL at most 1)

    def of_slots(self, values: torch.Tensor) -> torch.Tensor:
        """Per-sample ``values`` (batch, n) as per-slot rows (S, n)."""
        return values if self.sample is None else values.index_select(0, self.sample)

    def coincidences(self) -> int:
        """Total number of device pulses: Σ_t (rows firing in t)·(columns firing in t)."""
        return int(torch.dot(self.rows.per_slot().double(), self.columns.per_slot().double()))

    def negative(self, train: Train, values: torch.Tensor) -> torch.Tensor:
        """Whether the x or δ entry behind each firing entry of ``train`` is negative (that entry is
        (sample of its slot, line) of ``values``, (batch, lines)); a firing entry is never ±0."""
        positions = train.positions
        if self.sample is not None:  # slot t belongs to sample[t]
            slot = torch.div(positions, train.lines, rounding_mode="floor")
            positions = positions + (self.sample.index_select(0, slot) - slot) * train.lines
        return torch.signbit(values.reshape(-1).index_select(0, positions))


def draw_trains(prob: PulseProbabilities, generator: torch.Generator | None) -> Trains:
    """Draw the row and column trains of every sample (BL_b slots each): rows, then columns."""
    if prob.unit:  # every sample one slot (or none: its probabilities are 0 on one side)
        sample, row_probs, column_probs = None, prob.row, prob.column
    else:
        lengths = prob.bit_length.to(torch.long)
        sample = torch.repeat_interleave(torch.arange(lengths.numel(), device=lengths.device), lengths,
                                         output_size=prob.slots)
        row_probs, column_probs = prob.row.index_select(0, sample), prob.column.index_select(0, sample)
    return Trains(bernoulli_train(row_probs, generator), bernoulli_train(column_probs, generator), sample)


#: Above this largest probability, :func:`bernoulli_train` draws one uniform per entry.
DENSE_RATE = 0.125
#: Below this many entries, :func:`bernoulli_train` draws one uniform per entry.
SPARSE_DRAW_MIN_SIZE = 16384


def dense_draw(rate: float, size: int) -> bool:
    """One uniform per entry (rather than geometric gaps) for these largest probability and size:
    a fixed rule of the train, so the same update draws the same way on every machine."""
    return rate > DENSE_RATE or size < SPARSE_DRAW_MIN_SIZE


def bernoulli_train(probabilities: torch.Tensor, generator) -> Train:
    """An independent Bernoulli draw of each (slot, line) probability.

    With r = max p ≤ :data:`DENSE_RATE` on a large train, candidates are drawn as a Bernoulli(r)
    process along the flattened matrix by geometric gaps, G ~ Geometric(r) on {1, 2, …}
    (P(G > g) = (1 − r)^g), and each is kept with probability p/r (U·r < p) — exactly Bernoulli(p)
    per entry, with work proportional to r·size instead of size. Otherwise one uniform per entry.
    """
    slots, lines = probabilities.shape
    flat = probabilities.reshape(-1)
    rate = float(flat.max()) if flat.numel() else 0.0
    if dense_draw(rate, flat.numel()):
        uniform = torch.rand(probabilities.shape, generator=generator, device=flat.device, dtype=flat.dtype)
        return Train(slots, lines, mask=uniform < probabilities)
    if rate <= 0.0:
        return Train(slots, lines, positions=torch.zeros(0, dtype=torch.long, device=flat.device))
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
        0.0, rate, generator=generator) < flat.index_select(0, candidates)
    return Train(slots, lines, positions=candidates.masked_select(keep))


def train_products(trains: Trains, prob: PulseProbabilities) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_up, n_down) of every device (out, in) by the two products of the module docstring."""
    dtype = prob.row.dtype
    rows, columns = trains.rows.mask.to(dtype), trains.columns.mask.to(dtype)
    total = rows.T @ columns
    net = (rows * trains.of_slots(prob.row_sign)).T @ (columns * trains.of_slots(prob.column_sign))
    n_down = total.add(net).mul_(0.5)  # sums of ±1: exact integers
    return total.sub_(n_down), n_down


def listed_coincidences(trains: Trains, prob: PulseProbabilities, kernel: str = "auto") -> PulseCounts:
    """The counts of the devices that receive pulses, listed by ascending flat index i·in + j.

    Every coincidence (slot t, row i, column j) is listed — for each firing row entry, all firing
    column entries of the same slot — and counted per device, up where δ and x of the slot's
    sample have opposite signs. ``kernel="auto"`` pairs and counts them in the compiled loop on
    CPU (same list), else by tensor operations.
    """
    rows, columns = trains.rows, trains.columns
    row_slot, row_line = rows.entries()
    column_slot, column_line = columns.entries()
    row_negative = trains.negative(rows, prob.d)
    column_negative = trains.negative(columns, prob.x)
    dtype = prob.row.dtype
    if compiled.applies(kernel, prob.row, prob.column):
        return list_coincidences(row_slot, row_line, row_negative, column_slot, column_line, column_negative,
                                 rows.slots, columns.lines, rows.lines * columns.lines, dtype)
    per_slot = torch.bincount(column_slot, minlength=columns.slots)  # firing columns per slot
    first = per_slot.cumsum(0).sub_(per_slot)  # the first column entry of each slot
    repeats = per_slot.index_select(0, row_slot)  # coincidences of each firing row entry
    ends = repeats.cumsum(0)
    total = int(ends[-1]) if ends.numel() else 0
    where = row_slot.device
    if total == 0:
        empty = torch.zeros(0, dtype=dtype, device=where)
        return PulseCounts(empty, empty, torch.zeros(0, dtype=torch.long, device=where), 0.0)
    # Coincidence e belongs to row entry r = owner[e] and pairs it with column entry
    # first[slot of r] + e − (ends[r] − repeats[r]).
    owner = torch.repeat_interleave(repeats, output_size=total)
    shift = first.index_select(0, row_slot).add_(repeats).sub_(ends)
    column_entry = shift.index_select(0, owner).add_(torch.arange(total, device=where))
    key = row_line.mul_(columns.lines).index_select(0, owner).add_(column_line.index_select(0, column_entry))
    up = row_negative.index_select(0, owner).ne_(column_negative.index_select(0, column_entry))
    index, inverse, count = torch.unique(key, return_inverse=True, return_counts=True)
    n_up = torch.zeros(index.numel(), dtype=dtype, device=where).index_add_(0, inverse, up.to(dtype))
    return PulseCounts(n_up, count.to(dtype).sub_(n_up), index, float(total))
