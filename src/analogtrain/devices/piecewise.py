"""Piecewise-linear step device: measured step sizes tabulated across the weight range.

The reference simulator's ``PiecewiseStepDevice`` (prior-art §1.4; aihwkit
``rpu_piecewisestep_device``), the natural target for device curves fitted from measurements.
The scale factors v⁺_0..v⁺_{N−1} (``up_nodes``) and v⁻_0..v⁻_{M−1} (``down_nodes``) sit at
equally spaced weights from w_min,ij (node 0) to w_max,ij (last node) of each device; between
nodes they are linearly interpolated::

    t = (w − w_min,ij)/(w_max,ij − w_min,ij)·(N − 1),   k = min(⌊t⌋, N − 2),   q = t − k
    Δw⁺(w) = Δw⁺_ij·((1 − q)·v⁺_k + q·v⁺_{k+1})            (up; down likewise with v⁻, M)

each multiplied by (1 + dw_min_std·ξ) per pulse, then clipped to [w_min,ij, w_max,ij]. The node
lists may differ in length; all nodes are ≥ 0 and each list needs a positive node.

Defaults (chosen here): up nodes (1, 0.95, 0.8, 0.5, 0.1) and the mirror image for down: a
device that keeps nearly full steps over the lower half of its range and saturates in the upper
fifth (the sigmoid-like conductance curves of many ReRAM and ECRAM devices); its nominal symmetry
point is the middle of the range. The granularity is the mean nominal step at the middle of the
range. The symmetry point is found by the base class's numeric bisection and many pulses are
applied by its generic integration.
"""

from __future__ import annotations

import dataclasses

import torch

from analogtrain.config import check_range
from analogtrain.devices.base import PulsedDevice, register
from analogtrain.errors import ConfigError

_TINY = 1e-12


def check_nodes(name: str, nodes) -> None:
    """A node list: a sequence of ≥ 2 finite numbers ≥ 0, at least one of them positive."""
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, (tuple, list)):
        raise ConfigError(f"{name} must be a list of at least 2 numbers ≥ 0, got {nodes!r}")
    if len(nodes) < 2:
        raise ConfigError(f"{name} must have at least 2 nodes (numbers ≥ 0), got {len(nodes)}: {nodes!r}")
    for index, value in enumerate(nodes):
        check_range(f"{name}[{index}]", value, 0.0)
    if not any(value > 0 for value in nodes):
        raise ConfigError(f"{name} must have at least one positive node (a device that moves), got {nodes!r}")


def interpolate_nodes(nodes: tuple[float, ...], fraction: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of equally spaced ``nodes`` on [0, 1] at ``fraction`` (clamped)."""
    table = torch.tensor(nodes, dtype=fraction.dtype, device=fraction.device)
    count = table.numel()
    t = fraction.clamp(0.0, 1.0) * (count - 1)
    index = t.floor().clamp(max=count - 2)
    q = t - index
    index = index.long()
    return table[index] * (1.0 - q) + table[index + 1] * q


@register
@dataclasses.dataclass(frozen=True)
class PiecewiseStepDevice(PulsedDevice):
    """Piecewise-linear step: Δw± = Δw·interp(nodes±, w). See module docstring.

    Parameters (beyond :class:`PulsedDevice`):

    up_nodes: up-step scale factors at equally spaced weights from w_min to w_max (≥ 2, ≥ 0).
    down_nodes: down-step scale factors, likewise.
    """

    model = "piecewise"

    up_nodes: tuple[float, ...] = (1.0, 0.95, 0.8, 0.5, 0.1)
    down_nodes: tuple[float, ...] = (0.1, 0.5, 0.8, 0.95, 1.0)

    def __post_init__(self) -> None:
        # Lists given by a user become tuples (the config is immutable and hashable).
        for name in ("up_nodes", "down_nodes"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        super().__post_init__()

    def validate(self) -> None:
        super().validate()
        check_nodes("up_nodes", self.up_nodes)
        check_nodes("down_nodes", self.down_nodes)

    @property
    def granularity(self) -> float:
        """Mean nominal step at the middle of the range."""
        middle = torch.tensor(0.5, dtype=torch.float64)
        up, down = interpolate_nodes(self.up_nodes, middle), interpolate_nodes(self.down_nodes, middle)
        mean = 0.5 * float(up + down)
        return self.dw_min * mean if mean > 0 else self.dw_min

    def derived_parameters(self, params):
        """Cached 1/(w_max,ij − w_min,ij) per device."""
        return {"inv_span": 1.0 / (params["w_max"] - params["w_min"]).clamp(min=_TINY)}

    @staticmethod
    def _fraction(w, p) -> torch.Tensor:
        return (w - p["w_min"]) * p["inv_span"]

    def step_up(self, w, p):
        return p["dw_up"] * interpolate_nodes(self.up_nodes, self._fraction(w, p))

    def step_down(self, w, p):
        return p["dw_down"] * interpolate_nodes(self.down_nodes, self._fraction(w, p))
