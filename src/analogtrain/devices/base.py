"""The pulsed-device abstraction shared by every device model.

A *device model* is an immutable config (:class:`PulsedDevice`) holding the nominal parameters of
one kind of device. :meth:`PulsedDevice.sample` draws the per-crosspoint parameters of a whole
array once (device-to-device variation); the model's physics are pure functions of the current
weights and those parameters, evaluated on whole tensors at once:

* :meth:`~PulsedDevice.step_up` / :meth:`~PulsedDevice.step_down`: magnitude of the nominal
  (noise-free) weight change of one pulse at the current weight;
* :meth:`~PulsedDevice.pulse`: apply one pulse per device (direction +1, −1 or 0) with
  cycle-to-cycle noise, then clip to the device's own bounds;
* :meth:`~PulsedDevice.apply_pulses`: apply ``n_up`` up and ``n_down`` down pulses in random order
  at once (closed form where the model has one);
* :meth:`~PulsedDevice.symmetry_point`: the weight where up and down steps are equal.

Device-to-device sampling follows the reference simulator's convention (prior-art §1.3, from
aihwkit's ``PulsedDevice``; Gokmen & Vlasov 2016), with ξ ~ N(0, 1) drawn per crosspoint::

    gain        g  = |1 + dw_min_dtod·ξ₁|
    imbalance   r  = up_down_dtod·ξ₂
    Δw⁺ = dw_min·|min(up_down, 0) + g + r|,   Δw⁻ = dw_min·|−max(up_down, 0) + g − r|
    w_max,ij = w_max·(1 + w_max_dtod·ξ₃),     w_min,ij = w_min·(1 + w_min_dtod·ξ₄)

so ``up_down > 0`` shrinks the down steps and ``up_down < 0`` the up steps. Cycle-to-cycle noise
multiplies every step by (1 + dw_min_std·ξ) with a fresh ξ per pulse.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch

from analogtrain.config import (
    FLOAT32_EPS,
    Config,
    check_positive,
    check_range,
)
from analogtrain.errors import ConfigError

#: Upper bound of the relative spreads (``*_dtod``, ``*_std``): 10 = 1000 % of the nominal value.
SPREAD_MAX = 10.0

#: Per-crosspoint parameters of an array: name -> tensor of the array's shape.
DeviceParameters = dict[str, torch.Tensor]

_REGISTRY: dict[str, type[PulsedDevice]] = {}


def register(cls: type[PulsedDevice]) -> type[PulsedDevice]:
    """Class decorator: make a device model available by its ``model`` name."""
    _REGISTRY[cls.model] = cls
    return cls


def device_models() -> dict[str, type[PulsedDevice]]:
    """All registered device models by name."""
    return dict(_REGISTRY)


#: The preset lookup (name -> device), installed by :mod:`analogtrain.devices.presets` when the
#: package loads: presets build on the models, so this module does not import them.
_PRESET_LOOKUP: list = []


def register_preset_lookup(lookup) -> None:
    """Install the function that resolves a preset name (``get_device``)."""
    _PRESET_LOOKUP[:] = [lookup]


def _preset(name: str) -> "PulsedDevice":
    if not _PRESET_LOOKUP:  # pragma: no cover - the package __init__ always loads the presets
        raise ConfigError(f"device presets are not loaded; cannot resolve {name!r}")
    return _PRESET_LOOKUP[0](name)


class NoiseSegments:
    """Consecutive segments of one 1-D normal draw, each from its own generator: the draws of
    several arrays' devices updated in one call (each array keeps its own random stream)."""

    def __init__(self, segments: list[tuple[torch.Generator | None, int]]) -> None:
        self.segments = segments

    def randn(self, numel: int, device, dtype) -> torch.Tensor:
        if numel != sum(size for _, size in self.segments):
            raise ValueError(f"NoiseSegments cover {sum(s for _, s in self.segments)} values, {numel} requested")
        return torch.cat([torch.randn(size, generator=generator, device=device, dtype=dtype)
                          for generator, size in self.segments])


def randn(shape, generator: torch.Generator | NoiseSegments | None, like: torch.Tensor | None = None, device=None,
          dtype=None):
    """Standard normal samples drawn from an explicit generator (or per segment, see :class:`NoiseSegments`)."""
    if like is not None:
        device, dtype = like.device, like.dtype
    if isinstance(generator, NoiseSegments):
        return generator.randn(math.prod(shape), device, dtype or torch.float32).view(shape)
    return torch.randn(shape, generator=generator, device=device, dtype=dtype or torch.float32)


def _phi1(z: torch.Tensor) -> torch.Tensor:
    """(eᶻ − 1)/z, 1 at z = 0."""
    small = z.abs() < 1e-6
    return torch.where(small, 1.0 + 0.5 * z, torch.expm1(z) / torch.where(small, 1.0, z))


def _phi3(z: torch.Tensor) -> torch.Tensor:
    """(eᶻ − 1 − z − z²/2)/z³, 1/6 at z = 0 (series for small |z|)."""
    small = z.abs() < 0.1
    safe = torch.where(small, 1.0, z)
    exact = (torch.expm1(safe) - safe - 0.5 * safe * safe) / safe**3
    series = 1.0 / 6.0 + z / 24.0 + z * z / 120.0 + z**3 / 720.0
    return torch.where(small, series, exact)


def _log_mean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Logarithmic mean (y − x)/ln(y/x) of non-negative x, y: ∫₀¹ of the exponential from x to y."""
    x, y = x.clamp(min=1e-30), y.clamp(min=1e-30)
    return x * _phi1(torch.log(y / x))


@dataclasses.dataclass(frozen=True)
class PulsedDevice(Config):
    """Base of all pulsed device models (not itself a usable model).

    Parameters (names as in the field's literature and DESIGN.md):

    dw_min: nominal step of one pulse (> 0).
    w_max, w_min: nominal bounds of the weight range (w_min < w_max).
    up_down: systematic up/down imbalance in (−1, 1); > 0 shrinks down steps by (1 − up_down).
    dw_min_dtod: device-to-device spread of the step (relative, ≥ 0).
    dw_min_std: cycle-to-cycle spread of each step (relative to the step, ≥ 0).
    w_max_dtod, w_min_dtod: device-to-device spread of the bounds (relative, ≥ 0).
    up_down_dtod: device-to-device spread of the up/down imbalance (≥ 0).
    """

    model: ClassVar[str] = "pulsed"
    #: The model has a symmetry point for which an analytic expression exists.
    closed_form_symmetry_point: ClassVar[bool] = False

    dw_min: float = 0.001
    w_max: float = 0.6
    w_min: float = -0.6
    up_down: float = 0.0
    dw_min_dtod: float = 0.0
    dw_min_std: float = 0.0
    w_max_dtod: float = 0.0
    w_min_dtod: float = 0.0
    up_down_dtod: float = 0.0

    # -- configuration --------------------------------------------------------------------
    def validate(self) -> None:
        check_positive("dw_min", self.dw_min)
        check_range("w_max", self.w_max)
        check_range("w_min", self.w_min)
        if not self.w_min < self.w_max:
            raise ConfigError(
                f"w_min must be < w_max (the device range), got w_min={self.w_min}, w_max={self.w_max}"
            )
        if self.w_min > 0 or self.w_max < 0:
            raise ConfigError(
                f"the range [w_min, w_max] must contain 0 (w_min ≤ 0 ≤ w_max), "
                f"got [{self.w_min}, {self.w_max}]"
            )
        check_range("up_down", self.up_down, -1.0, 1.0, low_inclusive=False, high_inclusive=False)
        # Spreads are relative (1.0 = 100 %): bounded by SPREAD_MAX so samples stay finite.
        for name in ("dw_min_dtod", "dw_min_std", "w_max_dtod", "w_min_dtod", "up_down_dtod"):
            check_range(name, getattr(self, name), 0.0, SPREAD_MAX)
        if self.dw_min >= self.w_max - self.w_min:
            raise ConfigError(
                f"dw_min must be smaller than the range w_max − w_min = {self.w_max - self.w_min}, "
                f"got {self.dw_min}"
            )
        # Weights are float32: near |w| = R the spacing of float32 numbers is at most 2⁻²³·R, so a
        # step below that may round away (w + dw == w) and silently freeze the weights.
        resolution = FLOAT32_EPS * max(abs(self.w_max), abs(self.w_min))
        if self.dw_min < resolution:
            raise ConfigError(
                f"dw_min={self.dw_min!r} is below the float32 resolution of the weight range "
                f"(2⁻²³·max(|w_max|, |w_min|) = {resolution:.3g}): updates would round away; "
                f"use dw_min ≥ {resolution:.3g}"
            )

    def _dict_header(self) -> dict[str, Any]:
        return {"model": self.model}

    @classmethod
    def _header_keys(cls) -> tuple[str, ...]:
        return ("model",)

    @classmethod
    def from_dict_polymorphic(cls, data: dict[str, Any], path: str = "device"):
        """Build the model named by ``data['model']`` (or a preset named by ``data['preset']``)."""
        if isinstance(data, PulsedDevice):
            return data
        if isinstance(data, str):
            return _preset(data)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with a 'model' key, got {data!r}")
        if "preset" in data:
            overrides = {k: v for k, v in data.items() if k != "preset"}
            base = _preset(data["preset"])
            return type(base).from_dict({**base.to_dict(), **overrides}, path)
        name = data.get("model")
        if name not in _REGISTRY:
            raise ConfigError(f"{path}.model: unknown device model {name!r}; valid: {sorted(_REGISTRY)}")
        return _REGISTRY[name].from_dict(data, path)

    @property
    def states(self) -> float:
        """Number of nominal steps across the range, (w_max − w_min)/dw_min."""
        return (self.w_max - self.w_min) / self.dw_min

    @property
    def granularity(self) -> float:
        """Nominal step used to convert a learning rate into pulse probabilities."""
        return self.dw_min

    # -- device-to-device sampling ------------------------------------------------------------
    def sample(
        self,
        shape: tuple[int, ...],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> DeviceParameters:
        """Draw the per-crosspoint parameters of an array of ``shape`` (see module docstring)."""
        shape = tuple(shape)

        def xi() -> torch.Tensor:
            return randn(shape, generator, device=device, dtype=dtype)

        gain = (1.0 + self.dw_min_dtod * xi()).abs()
        imbalance = self.up_down_dtod * xi()
        up_bias = min(self.up_down, 0.0)
        down_bias = -max(self.up_down, 0.0)
        step_up = self.dw_min * (up_bias + gain + imbalance).abs()
        step_down = self.dw_min * (down_bias + gain - imbalance).abs()
        w_max = self.w_max * (1.0 + self.w_max_dtod * xi())
        w_min = self.w_min * (1.0 + self.w_min_dtod * xi())
        # Keep 0 inside each device's range, as the nominal range does.
        w_max = w_max.clamp(min=0.0)
        w_min = w_min.clamp(max=0.0)
        params = {"dw_up": step_up, "dw_down": step_down, "w_max": w_max, "w_min": w_min}
        params.update(self.sample_extra(shape, xi, params))
        params.update(self.derived_parameters(params))
        return params

    def sample_extra(self, shape, xi, params: DeviceParameters) -> DeviceParameters:
        """Model-specific per-device parameters (drawn after the common ones)."""
        return {}

    def derived_parameters(self, params: DeviceParameters) -> DeviceParameters:
        """Per-device quantities computed once from the sampled ones (cached for speed)."""
        return {}

    # -- physics (override step_up / step_down in each model) --------------------------------
    def step_up(self, w: torch.Tensor, p: DeviceParameters) -> torch.Tensor:
        """Magnitude (≥ 0) of the noise-free weight increase of one up pulse at weight ``w``."""
        raise NotImplementedError

    def step_down(self, w: torch.Tensor, p: DeviceParameters) -> torch.Tensor:
        """Magnitude (≥ 0) of the noise-free weight decrease of one down pulse at weight ``w``."""
        raise NotImplementedError

    def clip(self, w: torch.Tensor, p: DeviceParameters) -> torch.Tensor:
        """Clip to each device's own bounds."""
        return torch.minimum(torch.maximum(w, p["w_min"]), p["w_max"])

    def pulse(
        self,
        w: torch.Tensor,
        p: DeviceParameters,
        direction: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Apply one pulse to every device with ``direction`` +1 (up) or −1 (down); 0 leaves it.

        ``w ← clip(w ± Δw^±(w)·(1 + dw_min_std·ξ), w_min,ij, w_max,ij)`` with a fresh ξ per pulse.
        """
        step = torch.where(direction > 0, self.step_up(w, p), -self.step_down(w, p))
        if self.dw_min_std > 0:
            step = step * (1.0 + self.dw_min_std * randn(w.shape, generator, like=w))
        step = torch.where(direction != 0, step, torch.zeros_like(step))
        return self.clip(w + step, p)

    def applies_jointly(self) -> bool:
        """Whether :meth:`apply_pulses` is elementwise, drawing exactly one standard normal per
        device through :func:`randn`, so that the devices of several arrays can be updated in one
        call (each array's draws from its own generator) with the same result as one by one.
        The generic response is not (its number of sub-steps depends on the largest count)."""
        return False

    def apply_pulses(
        self,
        w: torch.Tensor,
        p: DeviceParameters,
        n_up: torch.Tensor,
        n_down: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Apply ``n_up`` up and ``n_down`` down pulses per device, mixed in random order.

        Generic approximation for nonlinear models (affine models override it with a closed
        form). With ``F(w) = n_up·Δw⁺(w) − n_down·Δw⁻(w)`` the drift of the whole update
        (s from 0 to 1), T = n_up + n_down and x = F′/T the mean per-pulse slope, the mean
        follows the "modified equation" ``dw/ds = G = F·ln(1 + x)/x``: its flow reproduces T
        applications of the mean one-pulse map ``w → w + F/T`` exactly for affine steps and to
        second order in the step otherwise (the plain drift F is first order only: it contracts
        by e^{−c} instead of 1 − c per soft-bounds pulse, c = Δw/w_max). It is
        integrated by exponential Rosenbrock steps (exprb32: exponential Euler
        ``w ← w + h·φ₁(hG′)·G``, φ₁(z) = (eᶻ − 1)/z, G′ ≈ T·ln(1 + x), then a correction by the
        nonlinear remainder; exact for affine steps, third order otherwise) of at most ~16
        pulses each (64 steps at most).

        The spread is Gaussian with two parts. Cycle-to-cycle noise: the variance V of the
        linearised pulse noise, ``dV/ds = 2ΛV + dw_min_std²·(n_up·Δw⁺² + n_down·Δw⁻²)`` with
        ``Λ = n_up·ln(1 + Δw⁺′) + n_down·ln(1 − Δw⁻′)`` (noise of early pulses is contracted by
        the later ones), integrated along the mean path, times e^{−2Λ/T} (the last pulse's noise
        is not contracted). Random order (mixed signs only): a slot at s holding an up rather
        than a down pulse changes the result by g(s) = (Δw⁺ + Δw⁻)(w(s)) contracted to the end;
        the up slots are a uniform draw of n_up of the T slots, so the order adds
        ``n_up·n_down/(T − 1)·Var_s[g]`` (first order in the steps). Step slopes are one-sided
        differences (:meth:`_steps_and_slopes`). Clipping at a bound before the last pulse is
        not resolved. Measured against pulse-by-pulse application (35 pulses, 20 up and 15 down
        or of one sign, dw_min_std 0.3, 4·10⁴ devices): mean within 0.05 of a device step and
        variance within 5 % on devices with 60 states (dw_min = 0.02 on a range of 1.2), within
        0.03 step and 2 % with 240 states.
        """
        total = float((n_up + n_down).max()) if n_up.numel() else 0.0
        if total == 0.0:
            return w
        substeps = int(min(64, max(1, math.ceil(total / 16.0))))
        h = 1.0 / substeps
        pulses = (n_up + n_down).clamp(min=1.0)
        noisy = self.dw_min_std > 0
        mixed = bool(((n_up > 0) & (n_down > 0)).any())
        variance, first, second = torch.zeros_like(w), torch.zeros_like(w), torch.zeros_like(w)
        for _ in range(substeps):
            up, down, d_up, d_down = self._steps_and_slopes(w, p, n_up, n_down)
            slope = (n_up * d_up - n_down * d_down) / pulses
            log_keep = torch.log1p(slope.clamp(min=-0.999999))
            # G = F·ln(1 + x)/x and G′ = T·ln(1 + x) (→ F and F′ as x → 0).
            small = slope.abs() < 1e-6
            factor = torch.where(small, 1.0 - 0.5 * slope, log_keep / torch.where(small, 1.0, slope))
            jac = pulses * log_keep
            rate = (n_up * up - n_down * down) * factor
            # Exponential Rosenbrock step (exprb32, Hochbruck, Ostermann & Schweitzer 2009):
            # exponential Euler, then a correction by the nonlinear remainder at its end point.
            trial = self.clip(w + h * _phi1(h * jac) * rate, p)
            up_t, down_t = self.step_up(trial, p), self.step_down(trial, p)
            remainder = (n_up * up_t - n_down * down_t) * factor - rate - jac * (trial - w)
            if noisy or mixed:
                # Trapezoid rules for integrals contracted to the end of the step by e^{Λ(h−t)}
                # (exact for affine one-sign steps).
                log_gain = n_up * torch.log1p(d_up.clamp(min=-0.999999)) + n_down * torch.log1p(
                    (-d_down).clamp(min=-0.999999)
                )
                keep = torch.exp(h * log_gain)
                keep2 = keep * keep
            if noisy:
                source = (n_up * up**2 + n_down * down**2) * keep2 + n_up * up_t**2 + n_down * down_t**2
                variance = variance * keep2 + (0.5 * h * self.dw_min_std**2) * source
            if mixed:
                # g(s) = (Δw⁺ + Δw⁻)(w(s)) contracted to the end: the effect of one slot being
                # an up rather than a down pulse (order variance, see below).
                # Integrated as exponentials between the end points (logarithmic mean).
                g_start, g_end = (up + down) * keep, up_t + down_t
                first = first * keep + h * _log_mean(g_start, g_end)
                second = second * keep2 + h * _log_mean(g_start**2, g_end**2)
            w = self.clip(trial + 2.0 * h * _phi3(h * jac) * remainder, p)
        if noisy:
            # The last pulse's own noise is not contracted by a later one (one pulse of Λ/T).
            variance = variance * torch.exp(-2.0 * log_gain / pulses)
        if mixed:
            # Random order: which n_up of the T slots are ups is a uniform draw without
            # replacement, so Var = n_up·n_down/(T − 1)·Var_s[g] (0 for pulses of one sign).
            order = (n_up * n_down / (pulses - 1.0).clamp(min=1.0)) * (second - first**2).clamp(min=0.0)
            variance = variance + order
        if noisy or mixed:
            w = self.clip(w + variance.sqrt() * randn(w.shape, generator, like=w), p)
        return w

    def _steps_and_slopes(self, w, p, n_up, n_down):
        """(Δw⁺, Δw⁻, dΔw⁺/dw, dΔw⁻/dw) at w.

        Slopes are one-sided differences over 10⁻³ of each device's range, taken on the side
        the mean drift moves to (so a kink of the step, e.g. a piecewise node, is seen when it
        is ahead, not averaged with the slope behind).
        """
        up, down = self.step_up(w, p), self.step_down(w, p)
        ahead = torch.where(n_up * up >= n_down * down, 1.0, -1.0)
        probe = self.clip(w + ahead * 1e-3 * (p["w_max"] - p["w_min"]), p)
        width = probe - w
        width = torch.where(width.abs() > 1e-12, width, 1.0)
        d_up = (self.step_up(probe, p) - up) / width
        d_down = (self.step_down(probe, p) - down) / width
        return up, down, d_up, d_down

    # -- symmetry point ----------------------------------------------------------------------
    def symmetry_point(self, p: DeviceParameters, iterations: int = 60) -> torch.Tensor:
        """Per-device weight where Δw⁺(w) = Δw⁻(w) (numeric bisection in [w_min, w_max]).

        Where up steps dominate over the whole range the stable point is w_max (and w_min when
        down steps dominate). A device whose steps are equal everywhere has no unique symmetry
        point: NaN.
        """
        low, high = p["w_min"].clone(), p["w_max"].clone()

        def excess(w):
            return self.step_up(w, p) - self.step_down(w, p)

        f_low, f_high = excess(low), excess(high)
        for _ in range(iterations):
            mid = 0.5 * (low + high)
            positive = excess(mid) > 0
            low = torch.where(positive, mid, low)
            high = torch.where(positive, high, mid)
        point = 0.5 * (low + high)
        point = torch.where(f_high > 0, p["w_max"], point)
        point = torch.where(f_low < 0, p["w_min"], point)
        flat = (f_low == 0) & (f_high == 0)
        return torch.where(flat, torch.full_like(point, math.nan), point)

    def response_curve(self, w: torch.Tensor, p: DeviceParameters) -> tuple[torch.Tensor, torch.Tensor]:
        """(Δw⁺(w), −Δw⁻(w)): the signed nominal steps, for plots."""
        return self.step_up(w, p), -self.step_down(w, p)
