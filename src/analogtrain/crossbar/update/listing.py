"""The coincidence listing of :func:`~analogtrain.crossbar.update.trains.listed_coincidences` as one
compiled CPU loop (numba; see :mod:`analogtrain.compiled`).

From the same trains it gives the same list as the tensor code: the pulsed devices by ascending
flat index i·in + j, their up and down counts (up where δ and x of the slot's sample have opposite
signs) and the number of pulses. The listing is bookkeeping, not physics: it counts what the trains
say.
"""

from __future__ import annotations

import numpy as np
import torch

from analogtrain.compiled import as_numpy, njit
from analogtrain.crossbar.update.counts import PulseCounts


@njit
def _coincidences(row_slot, row_line, row_negative, column_slot, column_line, column_negative, slots, width):
    """(keys, up, total): every coincidence's device key i·width + j and direction, row entry by
    row entry (entries are slot-major)."""
    first = np.zeros(slots + 1, np.int64)  # column entries of slot t: first[t] .. first[t + 1]
    for c in range(column_slot.shape[0]):
        first[column_slot[c] + 1] += 1
    for t in range(slots):
        first[t + 1] += first[t]
    total = 0
    for r in range(row_slot.shape[0]):
        total += first[row_slot[r] + 1] - first[row_slot[r]]
    keys = np.empty(total, np.int64)
    up = np.empty(total, np.bool_)
    e = 0
    for r in range(row_slot.shape[0]):
        offset = row_line[r] * width
        negative = row_negative[r]
        for c in range(first[row_slot[r]], first[row_slot[r] + 1]):
            keys[e] = offset + column_line[c]
            up[e] = negative != column_negative[c]
            e += 1
    return keys, up, total


@njit
def _count_sorted(keys, up, total, size, dtype_probe):
    """Per distinct device (ascending key): its index and up/down counts."""
    index = np.empty(total, np.int64)
    n_up = np.zeros(total, dtype_probe.dtype)
    n_down = np.zeros(total, dtype_probe.dtype)
    if total * 16 < size:  # few coincidences: sort them
        order = np.argsort(keys, kind="mergesort")
        devices, last = 0, -1
        for t in range(total):
            key = keys[order[t]]
            if key != last:
                index[devices] = key
                devices += 1
                last = key
            if up[order[t]]:
                n_up[devices - 1] += 1
            else:
                n_down[devices - 1] += 1
        return index[:devices], n_up[:devices], n_down[:devices]
    ups = np.zeros(size, np.int32)  # many: count on the whole array, then collect in order
    downs = np.zeros(size, np.int32)
    for t in range(total):
        if up[t]:
            ups[keys[t]] += 1
        else:
            downs[keys[t]] += 1
    devices = 0
    for key in range(size):
        if ups[key] or downs[key]:
            index[devices] = key
            n_up[devices] = ups[key]
            n_down[devices] = downs[key]
            devices += 1
    return index[:devices], n_up[:devices], n_down[:devices]


def list_coincidences(row_slot, row_line, row_negative, column_slot, column_line, column_negative, slots: int,
                      width: int, cells: int, dtype: torch.dtype) -> PulseCounts:
    """Listed counts from the firing entries of the row and column trains (slot and line of each,
    slot-major, and whether its x or δ is negative); ``width``: columns of the array, ``cells``:
    its devices."""
    keys, up, total = _coincidences(as_numpy(row_slot), as_numpy(row_line), as_numpy(row_negative),
                                    as_numpy(column_slot), as_numpy(column_line), as_numpy(column_negative),
                                    slots, width)
    probe = np.empty(0, dtype=np.float64 if dtype == torch.float64 else np.float32)
    index, n_up, n_down = _count_sorted(keys, up, total, cells, probe)
    return PulseCounts(torch.from_numpy(n_up), torch.from_numpy(n_down), torch.from_numpy(index), float(total))
