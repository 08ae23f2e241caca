"""Exponential-step device: the ReRAM family whose step falls exponentially towards a bound.

The functional form is the reference simulator's ``ExpStepDevice`` (prior-art §1.4; aihwkit
``rpu_expstep_device``), used there to fit the HfO₂ ReRAM of Gong et al., Nat. Commun. 9:2102
(2018). With the device's own range R_ij = w_max,ij − w_min,ij::

    z      = 2a·w/R_ij + b
    Δw⁺(w) = Δw⁺_ij·max(1 − A_up·exp(γ_up·z), 0)          (up)
    Δw⁻(w) = Δw⁻_ij·max(1 − A_down·exp(−γ_down·z), 0)     (down, magnitude)

each multiplied by (1 + dw_min_std·ξ) per pulse, then clipped to [w_min,ij, w_max,ij]. The shape
parameters a, b, A_up/down, γ_up/down are the same for all devices of an array (as in the
reference); A < 0 makes the step *grow* towards the far bound (the Gong et al. fit uses this).

Defaults (chosen here, not the reference's): ``a = 0.5, b = 0, A_up = A_down = 0.2,
γ_up = γ_down = 3``. On a symmetric range z runs over [−0.5, 0.5]; the up step is 0.96·Δw at
w_min, 0.8·Δw at w = 0 and 0.10·Δw at w_max (the down step mirrors it). That is a clearly
asymmetric, saturating device (up/down step ratio from ≈ 9 to ≈ 1/9 across the range) that still
moves everywhere and has its nominal symmetry point at w = 0. The granularity is the mean nominal
step at w = 0. The symmetry point is found by the base class's numeric bisection and many pulses
are applied by its generic integration.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from analogtrain.config import check_non_negative, check_range
from analogtrain.devices.base import PulsedDevice, register
from analogtrain.errors import ConfigError

_TINY = 1e-12


@register
@dataclasses.dataclass(frozen=True)
class ExpStepDevice(PulsedDevice):
    """Exponential step (ReRAM): Δw± = Δw·max(1 − A±·exp(±γ±·z), 0), z = 2a·w/R + b.

    Parameters (beyond :class:`PulsedDevice`; tile-wide, see module docstring):

    a, b: scale and offset of the reduced weight z (finite).
    a_up, a_down: prefactors A_up, A_down of the exponentials (finite, any sign).
    gamma_up, gamma_down: exponential rates (≥ 0).
    """

    model = "exp-step"

    a: float = 0.5
    b: float = 0.0
    a_up: float = 0.2
    a_down: float = 0.2
    gamma_up: float = 3.0
    gamma_down: float = 3.0

    def validate(self) -> None:
        super().validate()
        for name in ("a", "b", "a_up", "a_down"):
            check_range(name, getattr(self, name))
        for name in ("gamma_up", "gamma_down"):
            check_non_negative(name, getattr(self, name))
        # exp(γ·z) must stay finite in float32 over any range containing 0: |z| ≤ 2|a| + |b|.
        for name in ("gamma_up", "gamma_down"):
            reach = getattr(self, name) * (2.0 * abs(self.a) + abs(self.b))
            if reach > 80.0:
                raise ConfigError(
                    f"{name} must satisfy {name}·(2|a| + |b|) ≤ 80 (finite exponentials over the "
                    f"range), got {name}={getattr(self, name)} with a={self.a}, b={self.b}"
                )

    def _factor_up(self, z: float) -> float:
        return max(1.0 - self.a_up * math.exp(self.gamma_up * z), 0.0)

    def _factor_down(self, z: float) -> float:
        return max(1.0 - self.a_down * math.exp(-self.gamma_down * z), 0.0)

    @property
    def granularity(self) -> float:
        """Mean nominal step at w = 0 (z = b); dw_min if both steps vanish there."""
        mean = 0.5 * (self._factor_up(self.b) + self._factor_down(self.b))
        return self.dw_min * mean if mean > 0 else self.dw_min

    def derived_parameters(self, params):
        """Cached 1/(w_max,ij − w_min,ij) per device."""
        return {"inv_span": 1.0 / (params["w_max"] - params["w_min"]).clamp(min=_TINY)}

    def _z(self, w, p):
        return (2.0 * self.a) * w * p["inv_span"] + self.b

    def step_up(self, w, p):
        y = 1.0 - self.a_up * torch.exp(self.gamma_up * self._z(w, p))
        return p["dw_up"] * y.clamp(min=0.0)

    def step_down(self, w, p):
        y = 1.0 - self.a_down * torch.exp(-self.gamma_down * self._z(w, p))
        return p["dw_down"] * y.clamp(min=0.0)

