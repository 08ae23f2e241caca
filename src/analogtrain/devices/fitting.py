"""Fitting a device model's nominal parameters to a measured pulse response.

Input: the weight (normalised conductance) read after each pulse of alternating up and down
sweeps — a CSV file with columns ``pulse,conductance[,direction]`` or the same as arrays. Row k
holds the reading after pulse number ``pulse[k]``; the ``pulse[k] − pulse[k−1]`` pulses between two
rows all had direction ``direction[k]`` (+1 up, −1 down; the first row's is ignored). Without a
direction column the directions are inferred from the sign of successive differences, made robust
to read noise by a hysteresis ("zigzag") segmentation: a sweep ends at its running extreme once
the readings have retreated from it by more than ``turn_threshold`` × (range of the data); the
turn is placed at the last reading within 3 noise standard deviations of that extreme (the noise
is estimated from second differences). Give the direction column whenever it is known.

The fit (:func:`fit_device`) simulates the deterministic (noise-free, nominal) response of the
model from the first reading with the model's own ``step_up``/``step_down``/``clip`` in float64,
one pulse at a time, and minimises the sum of squared differences to the readings with
``scipy.optimize.least_squares`` (trust-region reflective, bounds keep the parameters valid).
Fitted parameters: the up and down steps (reported as ``dw_min`` and ``up_down``), ``w_max``,
``w_min``, plus ``gamma_up``/``gamma_down`` (linear step) or ``pow_gamma``/``pow_up_down``
(power step); the shape parameters of the other models stay at their (preset's) values, and
for the abrupt model (whose down pulse is a reset) only the set step is fitted. The fit starts
with the bounds just outside the data (hard bounds the sweeps reach); a bound that ends at the
edge of the data is then released outwards by 0.3 × the data range and refitted (saturating
steps that never reach it), keeping the better fit. All candidate parameter sets of one
Jacobian are simulated together as one batch of devices (CPU, float64).

The readings must already be normalised weights on the model's scale: every model's range
[w_min, w_max] contains 0 (use e.g. G − G_ref, scaled), and unidirectional (abrupt) data start
at their reset state 0.

Standard errors come from the Jacobian at the solution, ``s²·diag((JᵀJ)⁻¹)`` with
``s² = RSS/(n − p)``: valid for independent read noise (not for cycle-to-cycle noise, which makes
the residuals of an open-loop simulation correlated).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analogtrain.devices.base import PulsedDevice
from analogtrain.devices.pulse_data import MIN_POINTS, PulseData, infer_directions, load_pulse_data
from analogtrain.errors import ConfigError

# Extra fitted parameters per model (beyond the steps and the bounds): name -> (initial, low, high).
_EXTRA: dict[str, dict[str, tuple[float, float, float]]] = {
    "linear-step": {"gamma_up": (0.5, 0.0, 50.0), "gamma_down": (0.5, 0.0, 50.0)},
    "power-step": {"pow_gamma": (1.0, 1e-3, 20.0), "pow_up_down": (0.0, -0.95, 0.95)},
}
# Models whose down pulse does not use the down step (so only one step is fitted).
_UP_STEP_ONLY = {"abrupt"}


@dataclasses.dataclass
class FitResult:
    """Outcome of :func:`fit_device`."""

    parameters: dict[str, float]  # fitted nominal parameters (model's names)
    residual: float  # RMS difference between readings and the fitted response
    model_name: str
    device: PulsedDevice  # the model with the fitted parameters, no variation
    stderr: dict[str, float]  # standard errors of the parameters (read-noise model)
    prediction: np.ndarray  # fitted response at each reading
    data: PulseData
    success: bool = True
    message: str = ""


# ---------------------------------------------------------------------------------------------
# Reading data


# ---------------------------------------------------------------------------------------------
# Simulation


def _nominal(device: PulsedDevice) -> PulsedDevice:
    """The model without any variation (every *_dtod and *_std parameter 0)."""
    zero = {f.name: 0.0 for f in dataclasses.fields(device) if f.name.endswith(("_dtod", "_std"))}
    return device.replace(**zero)


def _batch_parameters(devices: list[PulsedDevice]) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    samples = [d.sample((1,), generator, dtype=torch.float64) for d in devices]
    return {key: torch.cat([s[key] for s in samples]) for key in samples[0]}


def simulate_response(
    devices: list[PulsedDevice] | PulsedDevice, data: PulseData, every_pulse: bool = False
) -> np.ndarray:
    """Deterministic response of each device to the data's pulses, from the first reading.

    Returns (len(devices), n_rows) readings, or with ``every_pulse`` (len(devices),
    total pulses + 1) weights after every pulse. All devices must share their tile-wide shape
    parameters (only per-device sampled parameters may differ).
    """
    if isinstance(devices, PulsedDevice):
        devices = [devices]
    model = devices[0]
    p = _batch_parameters(devices)
    w = model.clip(torch.full((len(devices),), float(data.conductance[0]), dtype=torch.float64), p)
    rows, trace = [w.clone()], [w.clone()]
    for count, direction in zip(data.counts[1:], data.direction[1:]):
        for _ in range(int(count)):
            step = model.step_up(w, p) if direction > 0 else -model.step_down(w, p)
            w = model.clip(w + step, p)
            if every_pulse:
                trace.append(w.clone())
        rows.append(w.clone())
    return torch.stack(trace if every_pulse else rows, dim=1).numpy()


# ---------------------------------------------------------------------------------------------
# Fitting


def _to_model_parameters(names: list[str], theta: np.ndarray, up_only: bool) -> dict[str, float]:
    values = dict(zip(names, (float(v) for v in theta)))
    if up_only:
        values["dw_min"] = values.pop("dw_up")
        return values
    d_up, d_down = values.pop("dw_up"), values.pop("dw_down")
    if d_up >= d_down:
        values["dw_min"], values["up_down"] = d_up, 1.0 - d_down / d_up
    else:
        values["dw_min"], values["up_down"] = d_down, d_up / d_down - 1.0
    return values


def _conversion_jacobian(names: list[str], theta: np.ndarray, up_only: bool, out: list[str]) -> np.ndarray:
    """d(model parameters)/d(theta), for the delta-method standard errors."""
    index = {name: i for i, name in enumerate(names)}
    jac = np.zeros((len(out), len(names)))
    for row, name in enumerate(out):
        if name in index:
            jac[row, index[name]] = 1.0
    if up_only:
        jac[out.index("dw_min"), index["dw_up"]] = 1.0
        return jac
    d_up, d_down = theta[index["dw_up"]], theta[index["dw_down"]]
    i_dw, i_ud = out.index("dw_min"), out.index("up_down")
    if d_up >= d_down:
        jac[i_dw, index["dw_up"]] = 1.0
        jac[i_ud, index["dw_up"]], jac[i_ud, index["dw_down"]] = d_down / d_up**2, -1.0 / d_up
    else:
        jac[i_dw, index["dw_down"]] = 1.0
        jac[i_ud, index["dw_up"]], jac[i_ud, index["dw_down"]] = 1.0 / d_down, -d_up / d_down**2
    return jac


def fit_device(
    data: Any,
    model: str,
    *,
    initial: dict[str, float] | None = None,
    turn_threshold: float = 0.1,
    max_evaluations: int = 200,
) -> FitResult:
    """Fit the nominal parameters of ``model`` (a model or preset name) to a pulse response.

    ``data``: CSV path, mapping of columns, sequence of columns or PulseData (module docstring).
    ``initial``: starting values by model parameter name (dw_min, w_max, w_min, gamma_up, ...).
    Raises ConfigError for unreadable data or an unknown model.
    """
    from scipy.optimize import least_squares

    from analogtrain.devices.presets import get_device

    pulses = load_pulse_data(data, turn_threshold)
    base = _nominal(get_device(model))
    up_only = base.model in _UP_STEP_ONLY
    g = pulses.conductance
    span = float(g.max() - g.min())
    if span <= 0:
        raise ConfigError("pulse data: the readings do not change; nothing to fit")

    # Starting point and bounds, in the internal parametrisation (separate up and down steps).
    per_pulse = np.abs(np.diff(g)) / np.maximum(pulses.counts[1:], 1)
    middle = np.abs(g[:-1] - 0.5 * (g.max() + g.min())) < 0.25 * span
    typical = float(np.median(per_pulse[middle])) if middle.any() else float(np.median(per_pulse))
    typical = max(typical, span / max(float(pulses.counts.sum()), 1.0))
    start = {"dw_up": typical, "dw_down": typical, "w_max": 0.0, "w_min": 0.0}
    bounds = {
        "dw_up": (1e-9 * span, span),
        "dw_down": (1e-9 * span, span),
        "w_max": (0.0, np.inf),
        "w_min": (-np.inf, 0.0),
    }
    if up_only:
        del start["dw_down"], bounds["dw_down"]
    for name, (value, low, high) in _EXTRA.get(base.model, {}).items():
        start[name], bounds[name] = value, (low, high)
    given: dict[str, float] = {}
    for name, value in (initial or {}).items():
        if name == "dw_min":
            given["dw_up"] = float(value)
            if not up_only:
                given["dw_down"] = float(value)
        elif name in start:
            given[name] = float(value)
        else:
            raise ConfigError(
                f"initial: {name!r} is not a fitted parameter of {base.model}; "
                f"fitted: {sorted(['dw_min'] + [n for n in start if not n.startswith('dw_')])}"
            )
    names = list(start)
    low = np.array([bounds[n][0] for n in names])
    high = np.array([bounds[n][1] for n in names])
    # Start with bounds just outside the data (hard bounds that the sweeps reach); each bound
    # is later released outwards in turn (saturating steps that never reach it) and the
    # better fit kept (see below).
    values = dict(start)
    values["w_max"] = max(float(g.max()), 0.0) + 0.02 * span
    values["w_min"] = min(float(g.min()), 0.0) - 0.02 * span
    if up_only and float(g.min()) >= -0.02 * span:
        values["w_min"] = 0.0  # unidirectional data: reset state at 0
    values.update(given)
    x_start = np.clip(np.array([values[n] for n in names]), low, high)
    at_top = np.isfinite(high) & (x_start >= high)
    x_start[at_top] = high[at_top] - 1e-6 * (np.abs(high[at_top]) + 1.0)
    release = [(names.index(n), sign) for n, sign in (("w_min", -1.0), ("w_max", 1.0)) if n not in given]
    if up_only:
        release = [(i, sign) for i, sign in release if names[i] != "w_min"]
    starts = [x_start]
    scale = np.maximum(np.abs(starts[0]), 1e-3 * span)
    penalty = 10.0 * span

    def build(theta) -> PulsedDevice | None:
        try:
            return base.replace(**_to_model_parameters(names, theta, up_only))
        except ConfigError:
            return None

    def residuals_of(thetas: list[np.ndarray]) -> np.ndarray:
        devices = [build(t) for t in thetas]
        valid = [d for d in devices if d is not None]
        out = np.full((len(thetas), len(g) - 1), penalty)
        if valid:
            response = simulate_response(valid, pulses)
            rows = iter(response)
            for i, d in enumerate(devices):
                if d is not None:
                    out[i] = next(rows)[1:] - g[1:]
        return out

    def fun(theta):
        return residuals_of([theta])[0]

    def jac(theta):
        steps = 1e-6 * np.maximum(np.abs(theta), scale)
        steps = np.where(theta + steps > high, -steps, steps)
        thetas = [theta] + [theta + np.eye(len(theta))[i] * steps[i] for i in range(len(theta))]
        values = residuals_of(thetas)
        return ((values[1:] - values[0]) / steps[:, None]).T

    def solve(x0):
        return least_squares(
            fun, x0, jac=jac, bounds=(low, high), x_scale=scale, method="trf",
            xtol=1e-9, ftol=1e-9, gtol=1e-9, max_nfev=max_evaluations,
        )

    solution = solve(starts[0])
    for index, sign in release:
        # Only a bound fitted at the edge of the data can be a hard bound the data merely reach.
        edge = float(g.max()) if sign > 0 else float(g.min())
        if abs(solution.x[index] - edge) > 0.05 * span:
            continue
        x0 = solution.x.copy()
        x0[index] = np.clip(x0[index] + sign * 0.3 * span, low[index], high[index])
        attempt = solve(x0)
        if attempt.cost < solution.cost:
            solution = attempt
    parameters = _to_model_parameters(names, solution.x, up_only)
    device = base.replace(**parameters)
    prediction = simulate_response(device, pulses)[0]
    residual_vector = prediction[1:] - g[1:]
    rms = float(np.sqrt(np.mean(residual_vector**2)))

    out_names = list(parameters)
    stderr = {name: math.nan for name in out_names}
    dof = len(residual_vector) - len(names)
    if dof > 0:
        jacobian = jac(solution.x)
        sigma2 = float(residual_vector @ residual_vector) / dof
        try:
            covariance = sigma2 * np.linalg.inv(jacobian.T @ jacobian)
            convert = _conversion_jacobian(names, solution.x, up_only, out_names)
            model_cov = convert @ covariance @ convert.T
            stderr = {name: float(math.sqrt(max(model_cov[i, i], 0.0))) for i, name in enumerate(out_names)}
        except np.linalg.LinAlgError:
            pass
    return FitResult(
        parameters=parameters,
        residual=rms,
        model_name=base.model,
        device=device,
        stderr=stderr,
        prediction=prediction,
        data=pulses,
        success=bool(solution.success),
        message=str(solution.message),
    )


def plot_fit(result: FitResult, data: Any = None, path: str | Path = "fit.png") -> Path:
    """Write a PNG of the readings and the fitted model's response; returns the path.

    ``data`` defaults to the data the fit used.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pulses = result.data if data is None else load_pulse_data(data)
    trace = simulate_response(result.device, pulses, every_pulse=True)[0]
    pulse_axis = pulses.pulse[0] + np.arange(len(trace))
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(pulses.pulse, pulses.conductance, ".", markersize=3, color="0.5", label="measured")
    axes.plot(pulse_axis, trace, "-", color="C3", linewidth=1.5,
              label=f"{result.model_name} fit (RMS {result.residual:.3g})")
    axes.set_xlabel("pulse number")
    axes.set_ylabel("weight (normalised conductance)")
    axes.set_title(f"Device fit: {result.model_name}")
    axes.legend(loc="best")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


__all__ = ["PulseData", "FitResult", "MIN_POINTS", "load_pulse_data", "infer_directions",
           "simulate_response", "fit_device", "plot_fit"]
