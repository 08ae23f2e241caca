"""Power-step device: the step falls as a power of the distance to the bound it moves towards.

The reference simulator's ``PowStepDevice`` (prior-art §1.4; aihwkit ``rpu_powstep_device``).
With the device's own range R_ij = w_max,ij − w_min,ij::

    Δw⁺(w) = Δw⁺_ij·((w_max,ij − w)/R_ij)^γ⁺_ij          (up)
    Δw⁻(w) = Δw⁻_ij·((w − w_min,ij)/R_ij)^γ⁻_ij          (down, magnitude)

each multiplied by (1 + dw_min_std·ξ) per pulse and clipped to [w_min,ij, w_max,ij]. The
exponents are drawn per device like the steps (base module docstring)::

    g_γ = |1 + pow_gamma_dtod·ξ|
    γ⁺_ij = pow_gamma·|min(pow_up_down, 0) + g_γ|,   γ⁻_ij = pow_gamma·|−max(pow_up_down, 0) + g_γ|

so ``pow_up_down > 0`` lowers the down exponent (down steps stay larger near w_min) and
``pow_up_down < 0`` the up exponent. γ = 0 is a constant-step device (with hard bounds); γ = 1
is a soft-bounds device whose slope is taken relative to the whole range R (at w = 0 of a
symmetric range the step is Δw/2, hence the granularity ``dw_min·0.5^pow_gamma``, as in the
reference). γ > 1 saturates faster, γ < 1 keeps steps large until close to the bound.

With equal exponents γ the symmetry point solves Δw⁺u^γ = Δw⁻(1 − u)^γ for u = (w_max − w)/R:
``u* = 1/(1 + (Δw⁺/Δw⁻)^{1/γ})``. In general (γ⁺ ≠ γ⁻) it is found by the base class's numeric
bisection. Many pulses are applied by the base class's generic integration.
"""

from __future__ import annotations

import dataclasses


from analogtrain.config import check_non_negative, check_positive, check_range
from analogtrain.devices.base import PulsedDevice, register

_TINY = 1e-12


@register
@dataclasses.dataclass(frozen=True)
class PowerStepDevice(PulsedDevice):
    """Power step: Δw⁺ = Δw·((w_max − w)/R)^γ⁺, Δw⁻ = Δw·((w − w_min)/R)^γ⁻. See module docstring.

    Parameters (beyond :class:`PulsedDevice`):

    pow_gamma: nominal exponent γ (> 0; 1 ≈ soft bounds relative to the range).
    pow_gamma_dtod: device-to-device spread of the exponent (relative, ≥ 0).
    pow_up_down: imbalance of the up and down exponents in (−1, 1) (0: equal).
    """

    model = "power-step"

    pow_gamma: float = 1.0
    pow_gamma_dtod: float = 0.0
    pow_up_down: float = 0.0

    def validate(self) -> None:
        super().validate()
        check_positive("pow_gamma", self.pow_gamma)
        check_non_negative("pow_gamma_dtod", self.pow_gamma_dtod)
        check_range("pow_up_down", self.pow_up_down, -1.0, 1.0, low_inclusive=False, high_inclusive=False)

    @property
    def granularity(self) -> float:
        """Nominal step at the middle of the range: ``dw_min·0.5^pow_gamma``."""
        return self.dw_min * 0.5**self.pow_gamma

    def sample_extra(self, shape, xi, params):
        gain = (1.0 + self.pow_gamma_dtod * xi()).abs()
        up_bias = min(self.pow_up_down, 0.0)
        down_bias = -max(self.pow_up_down, 0.0)
        return {
            "gamma_up": self.pow_gamma * (up_bias + gain).abs(),
            "gamma_down": self.pow_gamma * (down_bias + gain).abs(),
        }

    def derived_parameters(self, params):
        """Cached 1/(w_max,ij − w_min,ij) per device."""
        return {"inv_span": 1.0 / (params["w_max"] - params["w_min"]).clamp(min=_TINY)}

    def step_up(self, w, p):
        fraction = ((p["w_max"] - w) * p["inv_span"]).clamp(0.0, 1.0)
        return p["dw_up"] * fraction.pow(p["gamma_up"])

    def step_down(self, w, p):
        fraction = ((w - p["w_min"]) * p["inv_span"]).clamp(0.0, 1.0)
        return p["dw_down"] * fraction.pow(p["gamma_down"])
