"""Constant-step device: every pulse moves the weight by the same amount.

Gokmen & Vlasov, "Acceleration of deep neural network training with resistive cross-point
devices", Front. Neurosci. 10:333 (2016); the reference simulator's ``ConstantStepDevice``
(prior-art §1.4). Per device::

    up:   w ← clip(w + Δw⁺·(1 + dw_min_std·ξ), w_min,ij, w_max,ij)
    down: w ← clip(w − Δw⁻·(1 + dw_min_std·ξ), w_min,ij, w_max,ij)

With ``up_down = 0`` and no ``up_down_dtod`` the device is ideal and symmetric (Δw⁺ = Δw⁻): it has
no restoring force and no unique symmetry point. An imbalance (Δw⁺ ≠ Δw⁻) makes random equal
numbers of up and down pulses drift it to the bound of the larger step.
"""

from __future__ import annotations

import dataclasses

import torch

from analogtrain.devices.affine import AffineStepDevice
from analogtrain.devices.base import register


@register
@dataclasses.dataclass(frozen=True)
class ConstantStepDevice(AffineStepDevice):
    """Constant step Δw± = dw_min·(1 ± imbalance); hard bounds. See module docstring."""

    model = "constant-step"

    def slopes(self, p):
        zero = torch.zeros_like(p["dw_up"])
        return zero, zero
