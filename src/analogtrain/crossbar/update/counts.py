"""Drawn pulse counts of one update of one array, before they are applied to the devices."""

from __future__ import annotations

import dataclasses

import torch

#: An array of at most this many devices is listed whole (a device without pulses stays exactly
#: as it is; for small arrays finding the pulsed ones costs more operations than it saves).
SMALL_WRITE = 4096
#: Below this fraction of pulsed devices, only those are listed.
SPARSE_FRACTION = 0.3


@dataclasses.dataclass
class PulseCounts:
    """The up/down pulses of one update of one array, drawn but not yet applied."""

    n_up: torch.Tensor  # (m,) up pulses of each listed device
    n_down: torch.Tensor  # (m,) down pulses
    index: torch.Tensor | None  # (m,) flat (row-major) positions of the listed devices; None: all, in order
    pulses: float  # total device pulses
    strategy: str = ""  # how they were counted (recorded in the array's operation account)


def listed_counts(n_up: torch.Tensor, n_down: torch.Tensor, pulses: float, strategy: str = "") -> PulseCounts:
    """:class:`PulseCounts` of whole-array counts: only the pulsed devices when they are few in a
    large array, else all of them in order."""
    n_up, n_down = n_up.reshape(-1), n_down.reshape(-1)
    if n_up.numel() <= SMALL_WRITE:
        return PulseCounts(n_up, n_down, None, pulses, strategy)
    total = torch.add(n_up, n_down)
    if int(torch.count_nonzero(total)) > SPARSE_FRACTION * n_up.numel():
        return PulseCounts(n_up, n_down, None, pulses, strategy)
    active = total.nonzero().squeeze(1)
    return PulseCounts(n_up.index_select(0, active), n_down.index_select(0, active), active, pulses, strategy)
