"""Which strategy counts an update's pulses, and the counts it draws.

``strategy="auto"`` (:func:`choose_strategy`) decides between ``trains`` and ``moments`` by a fixed
rule of the update's shape, bit lengths and expected pulses — never by timings or constants measured
on a machine — so the same config and seed give the same physics everywhere. With S = Σ_b BL_b
slots, B samples, an out × in array of N devices and E expected coincidences
(:attr:`~analogtrain.crossbar.update.probabilities.PulseProbabilities.expected_coincidences`), the
work of each, in multiply-add equivalents, is::

    trains  = draws + min(2·S·N, LIST_WEIGHT·E)         train draws; their products or a listing
    moments = 4·B·N + 2·COUNT_WEIGHT·N                  four moment products; two count draws a device

where ``draws`` counts, for the row and the column trains, S·lines entries when they are drawn one
uniform each, or GAP_WEIGHT·r·S·lines for the geometric-gap draw of a large sparse train
(:func:`~analogtrain.crossbar.update.trains.dense_draw`; r the largest probability)
and ``auto`` takes ``trains`` when ``trains ≤ moments`` (ties: ``trains``, the exact process),
else ``moments``. In practice: short trains (every BL ≲ 2 and sparse updates) → ``trains``; long
saturated trains over a large batch → ``moments``. Within ``trains`` the counts are listed per
coincidence when ``LIST_WEIGHT·E ≤ 2·S·N`` and taken from the train products otherwise
(:func:`choose_counting`); both give identical counts from the same trains, so that choice only
changes speed. The weights are the rule's, fixed here: LIST_WEIGHT for listing one coincidence
(compare, list, count), COUNT_WEIGHT for one moment-matched count draw and GAP_WEIGHT for one
candidate of a geometric-gap draw.

The strategy that ran is recorded on the :class:`~analogtrain.crossbar.update.counts.PulseCounts`
(``trains-listed``, ``trains-products``, ``moments``, ``columns``) and counted in the array's
operation account.
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.update.config import UpdateConfig
from analogtrain.crossbar.update.counts import PulseCounts, listed_counts
from analogtrain.crossbar.update.moments import moment_counts
from analogtrain.crossbar.update.probabilities import PulseProbabilities, pulse_probabilities
from analogtrain.crossbar.update.trains import dense_draw, draw_trains, listed_coincidences, train_products
from analogtrain.devices.base import PulsedDevice

#: Multiply-add equivalents of listing one coincidence.
LIST_WEIGHT = 512
#: Multiply-add equivalents of one moment-matched count draw (one device, one direction).
COUNT_WEIGHT = 2048
#: Train entries' worth of one candidate of the geometric-gap draw.
GAP_WEIGHT = 8


def strategy_work(prob: PulseProbabilities, shape: tuple[int, int]) -> dict[str, float]:
    """The rule's work of ``trains`` and ``moments`` for this update (module docstring)."""
    rows, columns = shape
    cells = rows * columns
    slots, batch = prob.slots, prob.row.shape[0]
    draws = 0.0
    for probabilities in (prob.row, prob.column):
        entries = slots * probabilities.shape[1]
        rate = float(probabilities.max())
        draws += entries if dense_draw(rate, entries) else GAP_WEIGHT * rate * entries
    counting = min(2.0 * slots * cells, LIST_WEIGHT * prob.expected_coincidences)
    return {"trains": draws + counting,
            "moments": 4.0 * batch * cells + 2.0 * COUNT_WEIGHT * cells}


def choose_strategy(prob: PulseProbabilities, shape: tuple[int, int]) -> str:
    """``auto``'s choice: ``trains`` or ``moments`` (module docstring)."""
    work = strategy_work(prob, shape)
    return "trains" if work["trains"] <= work["moments"] else "moments"


def choose_counting(prob: PulseProbabilities, shape: tuple[int, int]) -> str:
    """``listed`` or ``products``: how the ``trains`` strategy counts (same counts either way)."""
    cells = shape[0] * shape[1]
    return "listed" if LIST_WEIGHT * prob.expected_coincidences <= 2.0 * prob.slots * cells else "products"


def draw_pulse_counts(
    shape: tuple[int, int],
    device: PulsedDevice,
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
) -> PulseCounts | None:
    """The per-device up/down counts of one update of ``ΔW = −lr·dᵀx`` of an array of ``shape`` by
    the ``trains`` or ``moments`` strategy (``config.strategy``, or the rule for ``auto``); None if
    no device gets a pulse."""
    if config.strategy not in ("auto", "trains", "moments"):
        raise ValueError(f"draw_pulse_counts counts by trains or moments, not {config.strategy!r}")
    prob = pulse_probabilities(x, d, lr, device.granularity, config)
    if prob.slots == 0:
        return None
    strategy = choose_strategy(prob, shape) if config.strategy == "auto" else config.strategy
    if strategy == "trains":
        trains = draw_trains(prob, generator)
        if choose_counting(prob, shape) == "listed":
            counts = listed_coincidences(trains, prob, config.kernel)
            counts.strategy = "trains-listed"
            return counts if counts.pulses > 0 else None
        n_up, n_down = train_products(trains, prob)
        name = "trains-products"
    else:
        n_up, n_down = moment_counts(prob, generator)
        name = "moments"
    pulses = float(n_up.sum() + n_down.sum())
    return listed_counts(n_up, n_down, pulses, name) if pulses > 0 else None
