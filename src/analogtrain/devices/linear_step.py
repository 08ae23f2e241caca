"""Linear-step device: the step falls linearly with w, with slopes γ_up and γ_down.

The reference simulator's ``LinearStepDevice`` (prior-art §1.4), used for the metal-oxide ECRAM
of Kim et al., IEDM 2019 and as the knob for "increasing levels of asymmetry" (paper Fig. 3)::

    Δw⁺(w) = Δw⁺_ij·(1 − γ⁺_ij·w/w_max,ij)
    Δw⁻(w) = Δw⁻_ij·(1 − γ⁻_ij·w/w_min,ij)        (magnitude)

with γ±_ij = |γ_up/down + gamma_dtod·ξ| and (1 + dw_min_std·ξ) per pulse. γ = 0 is the
constant-step device, γ = 1 the soft-bounds device (slopes are taken relative to each device's
own bounds, so γ = 1 reproduces :class:`SoftBoundsDevice` exactly). For symmetric bounds ±b and
γ_up = γ_down = γ the asymmetry factor of the paper's Eq. 2 is κ = γ/b.
"""

from __future__ import annotations

import dataclasses

from analogtrain.config import check_non_negative
from analogtrain.devices.affine import AffineStepDevice
from analogtrain.devices.base import register

_TINY = 1e-12


@register
@dataclasses.dataclass(frozen=True)
class LinearStepDevice(AffineStepDevice):
    """Linear step with slopes γ_up, γ_down (0: constant step, 1: soft bounds)."""

    model = "linear-step"

    gamma_up: float = 0.0
    gamma_down: float = 0.0
    gamma_dtod: float = 0.0

    def validate(self):
        super().validate()
        for name in ("gamma_up", "gamma_down", "gamma_dtod"):
            check_non_negative(name, getattr(self, name))

    @property
    def kappa(self) -> float:
        """Continuum asymmetry factor κ (paper Eq. 2): mean slope per unit weight."""
        return 0.5 * (self.gamma_up / self.w_max + self.gamma_down / -self.w_min) if self.w_min < 0 else 0.0

    def sample_extra(self, shape, xi, params):
        return {
            "gamma_up": (self.gamma_up + self.gamma_dtod * xi()).abs(),
            "gamma_down": (self.gamma_down + self.gamma_dtod * xi()).abs(),
        }

    def slopes(self, p):
        c_up = p["dw_up"] * p["gamma_up"] / p["w_max"].clamp(min=_TINY)
        c_down = p["dw_down"] * p["gamma_down"] / (-p["w_min"]).clamp(min=_TINY)
        return c_up, c_down
