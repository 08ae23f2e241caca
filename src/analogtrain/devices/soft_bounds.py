"""Soft-bounds device: the step shrinks linearly to zero at each device's own bound.

The exponentially saturating device of Onen, Gokmen et al., "Neural Network Training with
Asymmetric Crosspoint Elements", Front. Artif. Intell. 5:891624 (2022), Fig. 1E; Fusi & Abbott
(2007) soft-bound synapses; the reference simulator's ``SoftBoundsDevice`` (prior-art §1.4)::

    Δw⁺(w) = Δw⁺_ij·(1 − w/w_max,ij)        (up)
    Δw⁻(w) = Δw⁻_ij·(1 − w/w_min,ij)        (down, magnitude)

each multiplied by (1 + dw_min_std·ξ) per pulse. A train of up pulses approaches w_max
geometrically: ``w_n = w_max − (w_max − w)(1 − Δw⁺/w_max)^n``. The symmetry point is
``w* = (Δw⁺ − Δw⁻)/(Δw⁺/w_max + Δw⁻/|w_min|)`` (0 for balanced steps). For bounds ±b the
continuum asymmetry factor of the paper's Eq. 2 is κ = 1/b: Δw± = ±Δw − (Δw/b)(w − w*).
"""

from __future__ import annotations

import dataclasses

from analogtrain.devices.affine import AffineStepDevice
from analogtrain.devices.base import register

_TINY = 1e-12


@register
@dataclasses.dataclass(frozen=True)
class SoftBoundsDevice(AffineStepDevice):
    """Soft bounds: Δw⁺ = Δw(1 − w/w_max), Δw⁻ = Δw(1 − w/w_min). See module docstring."""

    model = "soft-bounds"

    @property
    def kappa(self) -> float:
        """Continuum asymmetry factor κ of paper Eq. 2 for symmetric bounds ±b: 1/b."""
        return 2.0 / (self.w_max - self.w_min)

    def slopes(self, p):
        return p["dw_up"] / p["w_max"].clamp(min=_TINY), p["dw_down"] / (-p["w_min"]).clamp(min=_TINY)
