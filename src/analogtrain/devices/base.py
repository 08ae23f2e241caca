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

import numpy as np
import torch

from analogtrain.config import (
    Config,
    check_non_negative,
    check_positive,
    check_range,
)
from analogtrain import compiled
from analogtrain.compiled import as_numpy
from analogtrain.errors import ConfigError

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


#: The per-device parameters of the affine response, in the order of
#: :func:`analogtrain.devices.compiled.affine_response_at`.
_AFFINE_PARAMETERS = ("dw_up", "dw_down", "c_up", "c_down", "log_keep_up", "log_keep_down", "w_min", "w_max")


def _parameter_rows(params: dict) -> np.ndarray:
    """The rows of the affine parameters in a stack of ``params`` (in the dict's order)."""
    names = list(params)
    return np.array([names.index(name) for name in _AFFINE_PARAMETERS], dtype=np.int64)


class _Constants:
    """0-dimensional tensors of the constants of the closed-form response, per dtype and device."""

    def __init__(self, dtype: torch.dtype, device: torch.device) -> None:
        def make(value: float) -> torch.Tensor:
            return torch.tensor(value, dtype=dtype, device=device)

        self.tiny, self.one, self.two, self.half = make(1e-30), make(1.0), make(2.0), make(0.5)
        self.minus_two, self.twelfth, self.series_17_360 = make(-2.0), make(1.0 / 12.0), make(17.0 / 360.0)
        self._make = make
        self._values: dict[float, torch.Tensor] = {}

    def value(self, constant: float) -> torch.Tensor:
        """Any other fixed constant, made once (the cache is never emptied: not for varying values)."""
        if constant not in self._values:
            self._values[constant] = self._make(constant)
        return self._values[constant]

    def std_squared(self, std: float) -> torch.Tensor:
        return self.value(std * std)


_CONSTANTS: dict[tuple[torch.dtype, torch.device], _Constants] = {}


def _constants(like: torch.Tensor) -> _Constants:
    key = (like.dtype, like.device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = _Constants(like.dtype, like.device)
    return _CONSTANTS[key]


def scalar_constant(value: float, like: torch.Tensor) -> torch.Tensor:
    """A cached 0-dimensional tensor of the fixed constant ``value`` with the dtype and device of
    ``like``: an operation with a Python number converts it to a tensor every time, which costs
    more than a small operation itself."""
    return _constants(like).value(value)


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


def _exp_variance(a: torch.Tensor) -> torch.Tensor:
    """Variance of e^{a·s} for s uniform on [0, 1] (series for small |a|)."""
    small = a.abs() < 0.1
    safe = torch.where(small, 1.0, a)
    exact = _phi1(2.0 * safe) - _phi1(safe) ** 2
    series = a * a * (1.0 / 12.0 + a / 12.0 + a * a * (17.0 / 360.0))
    return torch.where(small, series, exact)


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
        for name in ("dw_min_dtod", "dw_min_std", "w_max_dtod", "w_min_dtod", "up_down_dtod"):
            check_non_negative(name, getattr(self, name))
        if self.dw_min >= self.w_max - self.w_min:
            raise ConfigError(
                f"dw_min must be smaller than the range w_max − w_min = {self.w_max - self.w_min}, "
                f"got {self.dw_min}"
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
            from analogtrain.devices.presets import get_device

            return get_device(data)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with a 'model' key, got {data!r}")
        if "preset" in data:
            from analogtrain.devices.presets import get_device

            overrides = {k: v for k, v in data.items() if k != "preset"}
            base = get_device(data["preset"])
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

    def apply_pulses_in_place(self, writes) -> bool:
        """Apply listed pulses to several arrays in place, if this model has a faster way than
        :meth:`apply_pulses` on gathered devices (False: it has not, nothing was done).

        ``writes``: (weights, params, index, n_up, n_down, generator, stacked) per array, with
        ``index`` the flat positions of the listed devices (None: all, in order) and ``stacked``
        the parameters as one (len(params), numel) tensor in the order of ``params`` (or None).
        The result and the normal draws must be those of :meth:`apply_pulses` on each array's
        listed devices."""
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


@dataclasses.dataclass(frozen=True)
class AffineStepDevice(PulsedDevice):
    """Models whose one-pulse response is affine in w (constant, linear and soft-bounds steps).

    With per-device coefficients, an up pulse maps ``w → (1 − c⁺)·w + Δw⁺`` and a down pulse
    ``w → (1 − c⁻)·w − Δw⁻`` (c± ≥ 0 are the slopes of the step magnitudes). The linear parts of
    these maps commute, so ``n⁺`` up and ``n⁻`` down pulses in any order multiply (w − w∞) by
    ``L = (1 − c⁺)^{n⁺}(1 − c⁻)^{n⁻}``; with the continuous-mixing fixed point
    ``w∞ = (n⁺Δw⁺ − n⁻Δw⁻)/(n⁺c⁺ + n⁻c⁻)`` this gives the closed form used by
    :meth:`apply_pulses`::

        w_n = L·w + (n⁺Δw⁺ − n⁻Δw⁻)·(1 − L)/(n⁺c⁺ + n⁻c⁻)

    which is exact for pulses of one sign (the per-sample case) and exact to first order in the
    step size for mixed signs (the offsets of non-commuting affine maps differ at O(c·Δw·n²)).
    The result is spread by the summed cycle-to-cycle noise and, for mixed signs, by the random
    order of the pulses, both in closed form (:meth:`_spread`). The symmetry point is
    ``w* = (Δw⁺ − Δw⁻)/(c⁺ + c⁻)``.
    """

    closed_form_symmetry_point: ClassVar[bool] = True

    def slopes(self, p: DeviceParameters) -> tuple[torch.Tensor, torch.Tensor]:
        """(c⁺, c⁻) per device from the sampled parameters (each model defines these)."""
        raise NotImplementedError

    def derived_parameters(self, params):
        c_up, c_down = self.slopes(params)
        c_up, c_down = c_up.clamp(0.0, 0.999999), c_down.clamp(0.0, 0.999999)
        return {
            "c_up": c_up,
            "c_down": c_down,
            "log_keep_up": torch.log1p(-c_up),
            "log_keep_down": torch.log1p(-c_down),
        }

    def coefficients(self, p: DeviceParameters) -> tuple[torch.Tensor, ...]:
        """(Δw⁺, c⁺, Δw⁻, c⁻) per device: up step Δw⁺ − c⁺w, down step Δw⁻ + c⁻w."""
        return p["dw_up"], p["c_up"], p["dw_down"], p["c_down"]

    def step_up(self, w, p):
        return (p["dw_up"] - p["c_up"] * w).clamp_(min=0.0)

    def step_down(self, w, p):
        return (p["dw_down"] + p["c_down"] * w).clamp_(min=0.0)

    def applies_jointly(self) -> bool:
        # Closed form, elementwise; one normal draw per device whenever there is cycle-to-cycle
        # noise (without it, the draw depends on whether any device has mixed signs).
        return self.dw_min_std > 0

    def apply_pulses(self, w, p, n_up, n_down, generator=None):
        if compiled.applies(w, n_up, n_down) and all(value.shape == w.shape for value in p.values()):
            # The compiled loop (CPU) on a copy: the same equations and normal draws.
            new = w.clone(memory_format=torch.contiguous_format)
            stacked = torch.stack([value.reshape(-1) for value in p.values()])
            if self.apply_pulses_in_place([(new, p, None, n_up, n_down, generator, stacked)]):
                return new
        # Few, mostly in-place operations: on large arrays fresh temporaries cost more than the
        # math, on small ones (the pulsed devices of a sparse update) every operation's fixed cost
        # counts; constants are 0-dimensional tensors (a Python scalar costs a conversion per op).
        const = _constants(w)
        log_factor = (n_up * p["log_keep_up"]).addcmul_(n_down, p["log_keep_down"])  # λ = ln L ≤ 0
        rate = (n_up * p["c_up"]).addcmul_(n_down, p["c_down"])
        drive = (n_up * p["dw_up"]).addcmul_(n_down, p["dw_down"], value=-1.0)
        decay = torch.expm1(log_factor)  # L − 1
        # w_n = L·w + drive·(1 − L)/rate, with (1 − L)/rate → 1 as the rate goes to 0.
        ratio = torch.sub(const.tiny, decay).div_(rate + const.tiny)
        new = torch.addcmul(w, decay, w).addcmul_(drive, ratio)
        both = n_up * n_down  # > 0 where a device has pulses of both signs
        mixed = int(torch.count_nonzero(both))
        if self.dw_min_std > 0 or mixed:
            variance = self._spread(w, p, n_up, n_down, log_factor, decay, rate, drive, both, mixed, const)
            noise = randn(w.shape, generator, like=w)
            new.addcmul_(variance.clamp_(min=0.0).sqrt_(), noise)
        return new.clamp_(p["w_min"], p["w_max"])  # each device's own bounds (w_min ≤ 0 ≤ w_max)

    def apply_pulses_in_place(self, writes) -> bool:
        # The compiled loop writes each listed device of each array in place (CPU, contiguous
        # tensors): no gathering, concatenating and scattering of the listed devices. Normal draws
        # as apply_pulses on each array's listed devices: one per device from the array's
        # generator, whenever σ > 0 or one of the array's devices has pulses of both signs.
        from analogtrain.devices.compiled import affine_response_at, has_both_signs

        for w, _, _, n_up, n_down, _, stacked in writes:
            if not (compiled.applies(w, n_up, n_down) and w.is_contiguous() and stacked is not None
                    and stacked.dtype == w.dtype and stacked.shape[1] == w.numel()):
                return False
        for w, p, index, n_up, n_down, generator, stacked in writes:
            up, down = as_numpy(n_up.reshape(-1)), as_numpy(n_down.reshape(-1))
            at = as_numpy(index) if index is not None else np.arange(w.numel())
            if self.dw_min_std > 0 or has_both_signs(up, down):
                noise = as_numpy(randn((up.shape[0],), generator, like=w))
            else:
                noise = np.empty(0, dtype=up.dtype)
            affine_response_at(w.view(-1).numpy(), at, up, down, as_numpy(stacked), _parameter_rows(p), noise,
                               float(self.dw_min_std))
            torch.autograd.graph.increment_version(w)  # written through NumPy: caches keyed on it see the change
        return True

    def _spread(self, w, p, n_up, n_down, log_factor, decay, rate, drive, both, mixed, const):
        """Variance of the result: summed cycle-to-cycle noise plus the random order.

        Noise: the noise σ·Δw±(w) of one pulse is contracted by the later pulses, so along the
        mean path w(s) = w∞ + (w − w∞)·e^{λs} (λ = ln L, s from 0 to 1)
        ``V = σ²∫₀¹ (n⁺Δw⁺(w(s))² + n⁻Δw⁻(w(s))²)·e^{2λ(1−s)} ds``. The steps are affine in
        e^{λs}, so with D = w − w∞ and the steps U = Δw⁺ − c⁺w∞, E = Δw⁻ + c⁻w∞ at w∞::

            V/σ² = (n⁺U² + n⁻E²)·φ₁(2λ) + 2D(n⁻E·c⁻ − n⁺U·c⁺)·L·φ₁(λ) + D²(n⁺c⁺² + n⁻c⁻²)·L²

        with φ₁(z) = (eᶻ − 1)/z, times e^{−2λ/T} (T = n⁺ + n⁻): the last pulse's own noise is
        not contracted. For pulses of one sign this is exactly the discrete result
        n·σ²·Δw(w_{n−1})² (the step before the last pulse); without saturation (c± = 0) it is
        σ²(n⁺Δw⁺² + n⁻Δw⁻²).

        Order: a slot at s holding an up instead of a down pulse changes the result by
        g(s) = (Δw⁺ + Δw⁻)(w(s))·e^{λ(1−s)} = (U + E)·L·e^{−λs} + const; the up slots are a
        uniform draw of n⁺ of the T slots, so the order adds n⁺n⁻/(T − 1)·Var_s[g] with
        Var_s[g] = (U + E)²·Var_u[e^{λu}], u uniform on [0, 1] (first order in the steps; 0 for
        one sign or constant steps).

        Where the rate n⁺c⁺ + n⁻c⁻ vanishes (no saturation) w∞ is not defined; every term that
        uses it is then multiplied by a zero slope, so w∞ = drive/max(rate, 10⁻¹²) serves.
        """
        # A device's variance depends on its own pulses only (so arrays applied jointly or one by
        # one agree bit for bit): devices with pulses of one sign take the short exact form, those
        # with both signs (``both > 0``, ``mixed`` of them) the general form.
        if self.dw_min_std > 0:
            variance = self._one_sign_spread(w, n_up, n_down, log_factor, rate, drive, const)
        else:
            variance = torch.zeros(w.shape, dtype=w.dtype, device=w.device)
        if not mixed:
            return variance
        inputs = (w, n_up, n_down, log_factor, decay, rate, drive, p["dw_up"], p["c_up"], p["dw_down"], p["c_down"])
        if 2 * mixed <= both.numel():
            # Usually few devices have both signs (a sparse update): the general form for those
            # only, written into the one-sign variances.
            at = both.reshape(-1).nonzero().squeeze(1)  # row-major positions, as in ``variance``
            general = self._mixed_spread(*(value.reshape(-1).index_select(0, at) for value in inputs), const)
            variance = variance.contiguous()
            variance.view(-1).index_copy_(0, at, general)
            return variance
        return torch.where(both > 0, self._mixed_spread(*inputs, const), variance)

    def _mixed_spread(self, w, n_up, n_down, log_factor, decay, rate, drive, dw_up, c_up, dw_down, c_down, const):
        """:meth:`_spread`'s general form (noise and order) for devices with pulses of both signs."""
        # φ₁(λ) = (L − 1)/λ (1 at λ = 0; λ ≤ 0) and φ₁(2λ) = φ₁(λ)·(1 + L)/2, from one expm1.
        phi = torch.sub(decay, const.tiny).div_(log_factor - const.tiny)
        phi_double = torch.add(decay, const.two).mul_(phi).mul_(const.half)
        target = rate.clamp(min=1e-12).reciprocal_().mul_(drive)  # w∞
        up = torch.addcmul(dw_up, c_up, target, value=-1.0)  # U
        down = torch.addcmul(dw_down, c_down, target)  # E
        offset = target.neg_().add_(w)  # D (target's buffer is reused)
        offset.addcmul_(offset, decay)  # D·L
        pulses = torch.add(n_up, n_down)
        if self.dw_min_std > 0:
            up_term = n_up * up
            down_term = n_down * down
            variance = (up_term * up).addcmul_(down_term, down).mul_(phi_double)
            cross = down_term.mul_(c_down).addcmul_(up_term, c_up, value=-1.0)
            variance.addcmul_(cross.mul_(offset), phi, value=2.0)
            square = (n_up * c_up.square()).addcmul_(n_down, c_down.square())
            variance.addcmul_(square, offset.square_())
            # e^{−2λ/T}·σ²
            contraction = log_factor.div(pulses.clamp(min=1.0)).mul_(const.minus_two).exp_().mul_(const.std_squared(self.dw_min_std))
            variance.mul_(contraction)
        else:
            variance = torch.zeros_like(w)
        slots = (n_up * n_down).div_(pulses.sub_(const.one).clamp_(min=1.0))
        # Var_u[e^{λu}] = φ₁(2λ) − φ₁(λ)², by its series where the difference would cancel.
        spread = torch.addcmul(const.twelfth, log_factor, const.series_17_360).mul_(log_factor).add_(const.twelfth)
        spread.mul_(log_factor.square())
        if float(log_factor.min()) <= -0.05:
            spread = torch.where(log_factor > -0.05, spread, phi_double - phi.square())
        return variance.addcmul_(slots, up.add_(down).square_().mul_(spread))

    def _one_sign_spread(self, w, n_up, n_down, log_factor, rate, drive, const):
        """:meth:`_spread`'s noise variance of devices whose pulses all have one sign (or that
        have none), in fewer operations. Each pulse's noise σ·Δw(w_k) is contracted by the
        n − 1 − k later pulses by the same factor (1 − c) per pulse by which the steps shrink, so
        every pulse contributes σ²·Δw(w_{n−1})² and ``V = n·σ²·Δw(w_{n−1})²`` exactly, with
        ``n·Δw(w) = |drive − rate·w|`` and ``Δw(w_{n−1}) = Δw(w)·e^{λ(n−1)/n}``
        (λ = ln L = n·ln(1 − c))."""
        pulses = torch.add(n_up, n_down).clamp_(min=1.0)  # n (1 where there are none: V = 0)
        first = torch.addcmul(drive, rate, w, value=-1.0)  # ±n·Δw(w)
        growth = log_factor.div(pulses).sub_(log_factor).mul_(const.minus_two).exp_()  # e^{2λ(n−1)/n}
        return first.square_().div_(pulses).mul_(growth).mul_(const.std_squared(self.dw_min_std))

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
