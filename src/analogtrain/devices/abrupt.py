"""Abrupt-reset device (PCM-like): gradual, saturating set; one down pulse resets it.

Phase-change memory crystallises gradually under SET pulses but is amorphised (RESET) abruptly by
one melt-quench pulse, so it can only be updated gradually in one direction (Burr et al., Adv.
Phys. X 2:89, 2017; Nandakumar et al., Front. Neurosci. 14:406, 2020). This model keeps the
reference simulator's conventions for the per-device parameters (prior-art §1.3) and uses a
soft-bounds-like set. With R_ij = w_max,ij − w_min,ij::

    up (set):     w ← clip(w + Δw⁺_ij·(1 − (w − w_min,ij)/R_ij)^set_gamma·(1 + dw_min_std·ξ))
    down (reset): w ← clip(w_min,ij + reset_std·ξ)

both clipped to [w_min,ij, w_max,ij]. ``set_gamma = 1`` (default) makes the set steps fall
linearly to 0 at w_max (a train of set pulses approaches w_max geometrically, like a soft-bounds
device); 0 gives constant set steps with a hard bound. The reset ignores the current weight and
the down step size; ``reset_std`` is an absolute spread of the reset state (so with the default
w_min = 0 the clipped reset state has mean reset_std/√(2π)). The default range is unidirectional,
[w_min, w_max] = [0, 1], with dw_min = 0.01 (100 set steps).

**Down "step" and symmetry point.** :meth:`step_down` is the distance to the reset state,
w − w_min,ij, so the symmetry point (where a set step equals the distance a reset would move the
device) comes from the base class's numeric bisection; for set_gamma = 1 it is
``w* = w_min + Δw⁺/(1 + Δw⁺/R)``, one set step above the reset state: alternating pulses keep
the device near its reset state.

**Many pulses at once** (:meth:`apply_pulses`). ``n⁺`` set and ``n⁻ ≥ 1`` reset pulses in
random order leave the device at the reset state followed by the k set pulses that came after
the last reset. Placing all pulses at independent uniform times gives a uniformly random order;
the last reset is then at M = max of n⁻ uniforms (drawn as U^{1/n⁻}) and each set pulse comes
later with probability 1 − M, so ``k ~ Binomial(n⁺, 1 − M)`` — an exact draw of k. The k set
pulses (or all n⁺ when n⁻ = 0) are then applied by the base class's generic integration (mean
drift plus Gaussian cycle-to-cycle noise), which is the only approximation.
"""

from __future__ import annotations

import dataclasses

import torch

from analogtrain.config import check_non_negative
from analogtrain.devices.base import PulsedDevice, randn, register

_TINY = 1e-12


@register
@dataclasses.dataclass(frozen=True)
class AbruptDevice(PulsedDevice):
    """PCM-like: gradual set Δw⁺·(1 − (w − w_min)/R)^set_gamma, abrupt reset to w_min.

    Parameters (beyond :class:`PulsedDevice`; see module docstring):

    set_gamma: exponent of the set saturation (≥ 0; 1: soft-bounds-like, 0: constant steps).
    reset_std: absolute spread of the reset state (≥ 0).
    """

    model = "abrupt"

    dw_min: float = 0.01
    w_max: float = 1.0
    w_min: float = 0.0
    set_gamma: float = 1.0
    reset_std: float = 0.0

    def validate(self) -> None:
        super().validate()
        check_non_negative("set_gamma", self.set_gamma)
        check_non_negative("reset_std", self.reset_std)

    def derived_parameters(self, params):
        """Cached 1/(w_max,ij − w_min,ij) per device."""
        return {"inv_span": 1.0 / (params["w_max"] - params["w_min"]).clamp(min=_TINY)}

    def step_up(self, w, p):
        fraction = (1.0 - (w - p["w_min"]) * p["inv_span"]).clamp(0.0, 1.0)
        return p["dw_up"] * fraction.pow(self.set_gamma)

    def step_down(self, w, p):
        """Distance to the (noise-free) reset state: w − w_min,ij."""
        return (w - p["w_min"]).clamp(min=0.0)

    def reset_state(self, p, generator: torch.Generator | None = None, like: torch.Tensor | None = None):
        """Weights right after a reset pulse: w_min,ij + reset_std·ξ, clipped."""
        state = p["w_min"] if like is None else p["w_min"].expand_as(like)
        if self.reset_std > 0:
            state = state + self.reset_std * randn(state.shape, generator, like=state)
        return self.clip(state, p)

    def pulse(self, w, p, direction, generator=None):
        """Set (direction > 0) with cycle-to-cycle noise, reset (< 0), or leave (0); clipped."""
        step = self.step_up(w, p)
        if self.dw_min_std > 0:
            step = step * (1.0 + self.dw_min_std * randn(w.shape, generator, like=w))
        reset = self.reset_state(p, generator, like=w)
        new = torch.where(direction > 0, w + step, torch.where(direction < 0, reset, w))
        return self.clip(new, p)

    def apply_pulses(self, w, p, n_up, n_down, generator=None):
        """n_up sets and n_down resets in random order (see module docstring)."""
        if n_up.numel() == 0:
            return w
        reset = n_down >= 1
        if not bool(reset.any()):
            return super().apply_pulses(w, p, n_up, torch.zeros_like(n_up), generator)
        uniform = torch.rand(w.shape, generator=generator, device=w.device, dtype=w.dtype)
        last_reset = uniform.pow(1.0 / n_down.clamp(min=1.0))
        chance = (1.0 - last_reset).clamp(0.0, 1.0)
        after = torch.binomial(n_up.to(chance.dtype), chance, generator=generator).to(n_up.dtype)
        start = torch.where(reset, self.reset_state(p, generator, like=w), w)
        sets = torch.where(reset, after, n_up)
        return super().apply_pulses(start, p, sets, torch.zeros_like(sets), generator)
