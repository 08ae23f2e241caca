"""The stochastic pulse update of a whole array (Gokmen & Vlasov, Front. Neurosci. 10:333, 2016).

To apply ``ΔW = −η δ xᵀ`` for one input vector x and error vector δ, column j fires a random
train of BL slots with per-slot probability ``p_j ∝ |x_j|`` and row i one with ``q_i ∝ |δ_i|``;
where a row and a column pulse coincide, device (i, j) receives one pulse in the direction
``−sign(δ_i x_j)``, ``η|δ_i x_j|/Δw_min`` pulses on average. No outer product is computed and no
device is addressed alone.

An update is found in two steps: the batch's up/down pulse counts per device, by one of a few
named **strategies** (``UpdateConfig.strategy``), then the devices' closed-form response to their
counts. The modules, in the order an update runs through them:

==================  ==============================================================================
``config``          :class:`UpdateConfig`: bl, update/bit-length management, strategy, kernel
``probabilities``   per-sample probabilities and bit lengths (update management; integer k exact)
``exact``           ``exact``: the reference, sample by sample and slot by slot; ``none``: W −= η δᵀx
``trains``          ``trains``: the batch's 0/1 trains; counts by their two products or a listing
``listing``         the listing as a compiled CPU loop (same list as the tensor code)
``moments``         ``moments``: counts drawn per device from their exact mean and variance
``strategies``      ``auto``'s rule (shapes, bit lengths, expected pulses) and drawing the counts
``columns``         a transfer's write (one-hot inputs): counts from the column-conditioned process
``apply``           applying counts: the closed-form response, several arrays in one call
==================  ==============================================================================

``trains`` reproduces the reference's counts exactly, correlations between devices included;
``moments`` matches each device's count mean and variance but draws devices independently. Both
treat the order of a device's pulses within the batch as random (exact to first order in the step
size; tested against ``exact`` for the per-device mean and variance of ΔW).
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.update.apply import apply_pulse_counts, apply_pulse_counts_jointly
from analogtrain.crossbar.update.columns import column_pulse_counts, one_hot_inputs
from analogtrain.crossbar.update.config import KERNELS, STRATEGIES, UpdateConfig
from analogtrain.crossbar.update.counts import PulseCounts, listed_counts
from analogtrain.crossbar.update.exact import exact_update, expected_update
from analogtrain.crossbar.update.probabilities import PulseProbabilities, expected_pulse_counts, pulse_probabilities
from analogtrain.crossbar.update.strategies import choose_counting, choose_strategy, draw_pulse_counts
from analogtrain.crossbar.update.trains import Trains, draw_trains, listed_coincidences, train_products
from analogtrain.devices.base import DeviceParameters, PulsedDevice


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
    """``ΔW = −lr·dᵀx`` applied to ``weights`` (out, in) by ``config.strategy``; returns (new
    weights, device pulses). ``weights`` may be changed in place: use the result."""
    if config.strategy in ("exact", "none"):
        return exact_update(weights, params, device, x, d, lr, config, generator)
    counts = draw_pulse_counts(tuple(weights.shape), device, x, d, lr, config, generator)
    if counts is None:
        return weights, 0.0
    return apply_pulse_counts_jointly(device, [(weights, params, counts, generator, None)], config.kernel)[0], counts.pulses


__all__ = [
    "STRATEGIES",
    "KERNELS",
    "UpdateConfig",
    "PulseProbabilities",
    "pulse_probabilities",
    "expected_pulse_counts",
    "PulseCounts",
    "listed_counts",
    "pulse_update",
    "exact_update",
    "expected_update",
    "Trains",
    "draw_trains",
    "train_products",
    "listed_coincidences",
    "choose_strategy",
    "choose_counting",
    "draw_pulse_counts",
    "column_pulse_counts",
    "one_hot_inputs",
    "apply_pulse_counts",
    "apply_pulse_counts_jointly",
]
