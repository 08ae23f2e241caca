"""The ``exact`` strategy (the reference every other one is tested against) and ``none``.

``exact`` goes sample by sample through the batch and slot by slot through the pulse trains: in each
slot every coincidence of a firing row and a firing column is one pulse of its device, in the
direction −sign(δ_i x_j), with its own cycle-to-cycle noise and clipping
(:meth:`~analogtrain.devices.base.PulsedDevice.pulse`). ``none`` is the floating-point update
``W ← W − η δᵀx``, with no device physics and no clipping (for checking gradients).
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.update.config import UpdateConfig
from analogtrain.crossbar.update.probabilities import pulse_probabilities
from analogtrain.devices.base import DeviceParameters, PulsedDevice


def exact_update(
    weights: torch.Tensor,
    params: DeviceParameters,
    device: PulsedDevice,
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    config: UpdateConfig,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """``ΔW = −lr·dᵀx`` applied to ``weights`` (out, in) by the ``exact`` or ``none`` strategy;
    returns (new weights, device pulses). ``x``: (batch, in), ``d``: (batch, out)."""
    if config.strategy == "none":
        return weights - lr * d.T @ x, 0.0
    if config.strategy != "exact":
        raise ValueError(f"exact_update applies the exact or none strategy, not {config.strategy!r}")
    prob = pulse_probabilities(x, d, lr, device.granularity, config)
    pulses = 0.0
    for b in range(x.shape[0]):
        bit_length = int(prob.bit_length[b])
        if bit_length == 0:
            continue
        rows = _bits(prob.row[b], bit_length, generator)  # (BL, out)
        columns = _bits(prob.column[b], bit_length, generator)  # (BL, in)
        direction = -(prob.row_sign[b][:, None] * prob.column_sign[b][None, :])  # (out, in)
        for slot in range(bit_length):
            coincide = rows[slot][:, None] * columns[slot][None, :]
            if not bool(coincide.any()):
                continue
            pulses += float(coincide.sum())
            weights = device.pulse(weights, params, direction * coincide, generator)
    return weights, pulses


def _bits(probabilities: torch.Tensor, length: int, generator) -> torch.Tensor:
    """A (length, n) 0/1 float tensor: independent Bernoulli trains, one per line."""
    draws = torch.rand((length, probabilities.numel()), generator=generator, device=probabilities.device,
                       dtype=probabilities.dtype)
    return (draws < probabilities[None, :]).to(probabilities.dtype)


def expected_update(x: torch.Tensor, d: torch.Tensor, lr: float) -> torch.Tensor:
    """The update the pulses approximate: ``−lr·dᵀx`` (out, in)."""
    return -lr * d.T @ x
