"""Devices whose one-pulse response is affine in w (constant, linear and soft-bounds steps).

With per-device coefficients, an up pulse maps ``w → (1 − c⁺)·w + Δw⁺`` and a down pulse
``w → (1 − c⁻)·w − Δw⁻`` (c± ≥ 0 are the slopes of the step magnitudes). The linear parts of
these maps commute, so n⁺ up and n⁻ down pulses in any order multiply (w − w∞) by
``L = (1 − c⁺)^{n⁺}(1 − c⁻)^{n⁻}``, λ = ln L; with the continuous-mixing fixed point
``w∞ = (n⁺Δw⁺ − n⁻Δw⁻)/(n⁺c⁺ + n⁻c⁻)`` this gives the closed form of :func:`closed_form_mean`::

    w_n = L·w + (n⁺Δw⁺ − n⁻Δw⁻)·(1 − L)/(n⁺c⁺ + n⁻c⁻)

exact for pulses of one sign (one sample's pulses) and exact to first order in the step size for
mixed signs (the offsets of non-commuting affine maps differ at O(c·Δw·n²)). The result is spread
by the summed cycle-to-cycle noise and, for mixed signs, by the random order of the pulses
(:func:`one_sign_variance`, :func:`mixed_variance`), then clipped to the device's own bounds
(:func:`spread_and_clip`). The symmetry point is ``w* = (Δw⁺ − Δw⁻)/(c⁺ + c⁻)``.

The four formulas are written once, elementwise, with operators and the names of
:mod:`analogtrain.elementwise`: on tensors they are the reference (any torch device), and
:mod:`analogtrain.devices.kernels` compiles the same code into a CPU loop.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import torch

from analogtrain.devices.base import DeviceParameters, PulsedDevice, randn
from analogtrain.elementwise import clip, exp, expm1, maximum, sqrt, where

#: (1 − L)/rate → 1 as the rate goes to 0 (no saturation): both sides get this tiny offset.
TINY = 1e-30


def closed_form_mean(w, n_up, n_down, dw_up, dw_down, c_up, c_down, log_keep_up, log_keep_down):
    """(mean, λ, rate, drive, L − 1): the noise-free weight after n⁺ up and n⁻ down pulses,
    ``w_n = L·w + drive·(1 − L)/rate`` with λ = n⁺ln(1 − c⁺) + n⁻ln(1 − c⁻), L = e^λ,
    rate = n⁺c⁺ + n⁻c⁻ and drive = n⁺Δw⁺ − n⁻Δw⁻ (module docstring)."""
    log_factor = n_up * log_keep_up + n_down * log_keep_down  # λ = ln L ≤ 0
    rate = n_up * c_up + n_down * c_down
    drive = n_up * dw_up - n_down * dw_down
    decay = expm1(log_factor)  # L − 1
    mean = w + decay * w + drive * ((TINY - decay) / (rate + TINY))
    return mean, log_factor, rate, drive, decay


def one_sign_variance(w, n_up, n_down, log_factor, rate, drive, std):
    """Noise variance of n pulses of one sign: ``V = n·σ²·Δw(w_{n−1})²`` exactly.

    Each pulse's noise σ·Δw(w_k) is contracted by the n − 1 − k later pulses by the same factor
    (1 − c) per pulse by which the steps shrink, so every pulse contributes σ²·Δw(w_{n−1})², with
    ``n·Δw(w) = |drive − rate·w|`` and ``Δw(w_{n−1}) = Δw(w)·e^{λ(n−1)/n}``."""
    pulses = maximum(n_up + n_down, 1.0)  # n (1 where there are none: V = 0)
    first = drive - rate * w  # ±n·Δw(w)
    return first * first / pulses * exp(-2.0 * (log_factor / pulses - log_factor)) * (std * std)


def mixed_variance(w, n_up, n_down, log_factor, decay, rate, drive, dw_up, dw_down, c_up, c_down, std):
    """Variance of the result of pulses of both signs: summed noise plus the random order.

    Noise: along the mean path w(s) = w∞ + (w − w∞)·e^{λs} (s from 0 to 1)
    ``V = σ²∫₀¹ (n⁺Δw⁺(w(s))² + n⁻Δw⁻(w(s))²)·e^{2λ(1−s)} ds``. The steps are affine in e^{λs},
    so with D = w − w∞ and the steps U = Δw⁺ − c⁺w∞, E = Δw⁻ + c⁻w∞ at w∞::

        V/σ² = (n⁺U² + n⁻E²)·φ₁(2λ) + 2D(n⁻E·c⁻ − n⁺U·c⁺)·L·φ₁(λ) + D²(n⁺c⁺² + n⁻c⁻²)·L²

    with φ₁(z) = (eᶻ − 1)/z, times e^{−2λ/T} (T = n⁺ + n⁻: the last pulse's own noise is not
    contracted). Order: a slot at s holding an up instead of a down pulse changes the result by
    g(s) = (U + E)·L·e^{−λs} + const; the up slots are a uniform draw of n⁺ of the T slots, so the
    order adds n⁺n⁻/(T − 1)·(U + E)²·Var_u[e^{λu}], u uniform on [0, 1] (first order in the
    steps). Where the rate vanishes (no saturation) every term with w∞ has a zero slope, so
    w∞ = drive/max(rate, 10⁻¹²) serves."""
    phi = (decay - TINY) / (log_factor - TINY)  # φ₁(λ) = (L − 1)/λ, 1 at λ = 0
    phi_double = (decay + 2.0) * phi * 0.5  # φ₁(2λ) = φ₁(λ)·(1 + L)/2
    target = drive / maximum(rate, 1e-12)  # w∞
    up = dw_up - c_up * target  # U
    down = dw_down + c_down * target  # E
    offset = (w - target) * (1.0 + decay)  # D·L
    pulses = n_up + n_down
    noise = ((n_up * up * up + n_down * down * down) * phi_double
             + 2.0 * (n_down * down * c_down - n_up * up * c_up) * offset * phi
             + (n_up * c_up * c_up + n_down * c_down * c_down) * offset * offset)
    noise = noise * exp(-2.0 * log_factor / maximum(pulses, 1.0)) * (std * std)
    slots = n_up * n_down / maximum(pulses - 1.0, 1.0)
    # Var_u[e^{λu}] = φ₁(2λ) − φ₁(λ)², by its series where the difference would cancel.
    series = ((1.0 / 12.0 + log_factor * (17.0 / 360.0)) * log_factor + 1.0 / 12.0) * log_factor * log_factor
    spread = where(log_factor > -0.05, series, phi_double - phi * phi)
    return noise + slots * (up + down) * (up + down) * spread


def spread_and_clip(mean, variance, normal, w_min, w_max):
    """``clip(mean + √max(V, 0)·ξ, w_min, w_max)``: one normal draw per device, each device's own
    bounds (w_min ≤ 0 ≤ w_max)."""
    return clip(mean + sqrt(maximum(variance, 0.0)) * normal, w_min, w_max)


#: The per-device parameters the closed form reads, in the order of its arguments.
RESPONSE_PARAMETERS = ("dw_up", "dw_down", "c_up", "c_down", "log_keep_up", "log_keep_down", "w_min", "w_max")


def affine_response(w, n_up, n_down, p: DeviceParameters, normal: torch.Tensor | None, std: float):
    """The reference response on tensors: :func:`closed_form_mean`, then (when ``normal`` is
    given) the variance of each device — :func:`mixed_variance` where it has pulses of both signs,
    :func:`one_sign_variance` elsewhere — and :func:`spread_and_clip`."""
    dw_up, dw_down, c_up, c_down, keep_up, keep_down, w_min, w_max = (p[name] for name in RESPONSE_PARAMETERS)
    mean, log_factor, rate, drive, decay = closed_form_mean(w, n_up, n_down, dw_up, dw_down, c_up, c_down,
                                                            keep_up, keep_down)
    if normal is None:
        return clip(mean, w_min, w_max)
    variance = where(n_up * n_down > 0,
                     mixed_variance(w, n_up, n_down, log_factor, decay, rate, drive, dw_up, dw_down, c_up, c_down,
                                    std),
                     one_sign_variance(w, n_up, n_down, log_factor, rate, drive, std))
    return spread_and_clip(mean, variance, normal, w_min, w_max)


@dataclasses.dataclass(frozen=True)
class AffineStepDevice(PulsedDevice):
    """Base of the models whose one-pulse response is affine in w (module docstring): a closed
    form for any number of pulses of both signs, and a closed-form symmetry point."""

    closed_form_symmetry_point: ClassVar[bool] = True

    def slopes(self, p: DeviceParameters) -> tuple[torch.Tensor, torch.Tensor]:
        """(c⁺, c⁻) per device from the sampled parameters (each model defines these)."""
        raise NotImplementedError

    def derived_parameters(self, params):
        c_up, c_down = self.slopes(params)
        c_up, c_down = c_up.clamp(0.0, 0.999999), c_down.clamp(0.0, 0.999999)
        return {"c_up": c_up, "c_down": c_down, "log_keep_up": torch.log1p(-c_up), "log_keep_down": torch.log1p(-c_down)}

    def coefficients(self, p: DeviceParameters) -> tuple[torch.Tensor, ...]:
        """(Δw⁺, c⁺, Δw⁻, c⁻) per device: up step Δw⁺ − c⁺w, down step Δw⁻ + c⁻w."""
        return p["dw_up"], p["c_up"], p["dw_down"], p["c_down"]

    def step_up(self, w, p):
        return (p["dw_up"] - p["c_up"] * w).clamp_(min=0.0)

    def step_down(self, w, p):
        return (p["dw_down"] + p["c_down"] * w).clamp_(min=0.0)

    def applies_jointly(self) -> bool:
        # Elementwise, one normal draw per device whenever there is cycle-to-cycle noise (without
        # it, whether a draw is made depends on whether any device of the call has both signs).
        return self.dw_min_std > 0

    def needs_normals(self, n_up: torch.Tensor, n_down: torch.Tensor) -> bool:
        """Whether the response draws one normal per device: σ > 0, or a device has both signs."""
        return self.dw_min_std > 0 or bool(torch.count_nonzero(n_up * n_down))

    def apply_pulses(self, w, p, n_up, n_down, generator=None):
        """The closed form (:func:`affine_response`) with one normal draw per device from
        ``generator`` when :meth:`needs_normals`."""
        normal = randn(w.shape, generator, like=w) if self.needs_normals(n_up, n_down) else None
        return affine_response(w, n_up, n_down, p, normal, float(self.dw_min_std))

    def symmetry_point(self, p, iterations: int = 60):
        d_up, c_up, d_down, c_down = self.coefficients(p)
        slope = c_up + c_down
        point = (d_up - d_down) / torch.where(slope > 0, slope, 1.0)
        point = torch.minimum(torch.maximum(point, p["w_min"]), p["w_max"])
        # No restoring force: the device drifts to the bound of the larger step, or (equal steps)
        # has no unique symmetry point.
        drift_to = torch.where(d_up > d_down, p["w_max"], p["w_min"])
        drift_to = torch.where(d_up == d_down, torch.full_like(point, math.nan), drift_to)
        return torch.where(slope > 0, point, drift_to)
