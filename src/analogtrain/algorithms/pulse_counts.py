"""Deterministic pulse-count writes: n pulses to each addressed device, n chosen digitally.

The stochastic pulse update (:mod:`analogtrain.crossbar.update`) turns an outer product into
random coincidences; the buffered algorithms (TTv2, c-TTv2, AGAD) and mixed precision instead
decide digitally how many whole pulses each device gets (``n = trunc(H/Δw_min)``) and then fire
exactly that many. Physically:

* :func:`write_column_counts` — one column selected, every row driver fires its own count
  (pulse-number modulation): one *parallel* operation per column, as a transfer's write;
* :func:`program_devices_serially` — each device addressed on its own (mixed precision,
  Nandakumar et al. 2020): one *serial* operation per device programmed.

The crossbar package has no count write in its public API yet, so this module builds one from
the array's public state: the devices' response to ``n_up``/``n_down`` pulses is the device
model's own :meth:`~analogtrain.devices.base.PulsedDevice.apply_pulses` (with its cycle-to-cycle
noise from the array's generator, clipping included), applied to the addressed devices only and
stored back in place; the operations are added to the array's :class:`OperationCounter`.
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.array import CrossbarArray


def _apply_signed_counts(array: CrossbarArray, index: torch.Tensor, counts: torch.Tensor) -> float:
    """Fire ``counts[m]`` pulses (sign: direction) at the flat positions ``index[m]``; returns pulses."""
    if index.numel() == 0:
        return 0.0
    with torch.no_grad():
        flat = array.conductance.view(-1)
        weights = flat.index_select(0, index)
        params = {name: value.reshape(-1).index_select(0, index) for name, value in array.params.items()}
        counts = counts.to(weights.dtype)
        n_up, n_down = counts.clamp(min=0.0), (-counts).clamp(min=0.0)
        updated = array.device_model.apply_pulses(weights, params, n_up, n_down, array.generator)
        updated = array.device_model.clip(updated, params)
        flat.index_copy_(0, index, updated)  # in place: the array's tensor (and its version) changes
    pulses = float(counts.abs().sum())
    array.operations.device_pulses += pulses
    return pulses


def write_column_counts(array: CrossbarArray, columns: torch.Tensor, counts: torch.Tensor) -> float:
    """Fire ``counts[i, s]`` pulses at device (i, columns[s]) (> 0 up, < 0 down), one column at a
    time with all rows in parallel: counts one parallel update per column. Returns the pulses.

    ``columns``: (k,) distinct long indices; ``counts``: (out, k) integer-valued floats.
    """
    rows, n = array.shape
    row_index = torch.arange(rows, device=counts.device).unsqueeze(1)
    flat = (row_index * n + columns.to(counts.device).unsqueeze(0)).reshape(-1)
    values = counts.reshape(-1)
    active = values != 0
    array.operations.parallel_updates += int(columns.numel())
    return _apply_signed_counts(array, flat[active], values[active])


def program_devices_serially(array: CrossbarArray, counts: torch.Tensor) -> tuple[int, float]:
    """Fire ``counts[i, j]`` pulses at every device with a non-zero count, each device addressed
    on its own: one serial operation per device programmed. Returns (devices, pulses)."""
    values = counts.reshape(-1)
    index = values.nonzero().squeeze(1)
    devices = int(index.numel())
    array.operations.serial_operations += devices
    return devices, _apply_signed_counts(array, index, values.index_select(0, index))
