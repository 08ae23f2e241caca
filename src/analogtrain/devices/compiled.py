"""The closed-form response of the affine devices as one compiled loop (see :mod:`analogtrain.compiled`).

The equations are those of :meth:`~analogtrain.devices.base.AffineStepDevice.apply_pulses` and
its spreads (written there as tensor operations, with their derivation): per device, with
λ = n⁺ln(1 − c⁺) + n⁻ln(1 − c⁻), L = e^λ, rate n⁺c⁺ + n⁻c⁻ and drive n⁺Δw⁺ − n⁻Δw⁻,

    w_n = L·w + drive·(1 − L)/rate

plus √V times the device's normal draw, clipped to its bounds. V is the one-sign form
n·σ²·Δw(w_{n−1})² for pulses of one sign, and the general noise-and-order form for pulses of
both signs. Arithmetic is in float64.
"""

from __future__ import annotations

import math

from analogtrain.compiled import njit

_TINY = 1e-30  # as the PyTorch code: (1 − L)/rate → 1 as the rate goes to 0


@njit
def affine_response_at(w, index, n_up, n_down, params, rows, noise, std):
    """Apply n⁺[k] up and n⁻[k] down pulses to the device at flat position ``index[k]``, in place.

    ``w``: the flat weights of all devices; ``params``: their parameters, one row each, with
    ``rows`` the rows of Δw⁺, Δw⁻, c⁺, c⁻, ln(1 − c⁺), ln(1 − c⁻), w_min, w_max; ``noise``: one
    normal draw per listed device, or empty (no noise term: σ = 0 and no device has both signs)."""
    dw_up, dw_down, c_up, c_down = params[rows[0]], params[rows[1]], params[rows[2]], params[rows[3]]
    log_keep_up, log_keep_down, w_min, w_max = params[rows[4]], params[rows[5]], params[rows[6]], params[rows[7]]
    variance_scale = std * std
    with_noise = noise.shape[0] > 0
    for k in range(index.shape[0]):
        at = index[k]
        up, down, weight = float(n_up[k]), float(n_down[k]), float(w[at])
        slope_up, slope_down = float(c_up[at]), float(c_down[at])
        step_up, step_down = float(dw_up[at]), float(dw_down[at])
        log_factor = up * log_keep_up[at] + down * log_keep_down[at]  # λ = ln L ≤ 0
        rate = up * slope_up + down * slope_down
        drive = up * step_up - down * step_down
        decay = math.expm1(log_factor)  # L − 1
        new = weight + decay * weight + drive * ((_TINY - decay) / (rate + _TINY))
        if with_noise:
            variance = 0.0
            if up > 0.0 and down > 0.0:  # both signs: noise along the mean path and the random order
                phi = (decay - _TINY) / (log_factor - _TINY)  # φ₁(λ)
                phi_double = (decay + 2.0) * phi * 0.5  # φ₁(2λ)
                target = drive / max(rate, 1e-12)  # w∞
                step_up_target = step_up - slope_up * target  # U
                step_down_target = step_down + slope_down * target  # E
                offset = (weight - target) * (1.0 + decay)  # D·L
                pulses = up + down
                if std > 0.0:
                    variance = ((up * step_up_target * step_up_target + down * step_down_target * step_down_target)
                                * phi_double
                                + 2.0 * (down * step_down_target * slope_down - up * step_up_target * slope_up)
                                * offset * phi
                                + (up * slope_up * slope_up + down * slope_down * slope_down) * offset * offset)
                    variance *= math.exp(-2.0 * log_factor / max(pulses, 1.0)) * variance_scale
                slots = up * down / max(pulses - 1.0, 1.0)
                if log_factor > -0.05:  # Var_u[e^{λu}] by its series
                    spread = ((1.0 / 12.0 + log_factor * (17.0 / 360.0)) * log_factor + 1.0 / 12.0) \
                        * log_factor * log_factor
                else:
                    spread = phi_double - phi * phi
                sum_steps = step_up_target + step_down_target
                variance += slots * sum_steps * sum_steps * spread
            elif std > 0.0:  # one sign (or none): V = n·σ²·Δw(w_{n−1})²
                pulses = max(up + down, 1.0)
                first = drive - rate * weight  # ±n·Δw(w)
                variance = first * first / pulses * math.exp(-2.0 * (log_factor / pulses - log_factor)) \
                    * variance_scale
            new += math.sqrt(max(variance, 0.0)) * noise[k]
        w[at] = min(max(new, w_min[at]), w_max[at])


@njit
def has_both_signs(n_up, n_down):
    """Whether some device has pulses of both signs."""
    for k in range(n_up.shape[0]):
        if n_up[k] > 0 and n_down[k] > 0:
            return True
    return False
