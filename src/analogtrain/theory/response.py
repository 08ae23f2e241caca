"""The nominal pulse response of a device model, as plain functions for the continuum equations.

The continuum equations of :mod:`analogtrain.theory.sgd` and :mod:`analogtrain.theory.shd` need a
device's step magnitudes Δw⁺(w), Δw⁻(w) as functions of the weight, without device-to-device
variation. :func:`nominal_response` switches every ``*_dtod`` spread of a device model off, draws
the one resulting (nominal) device and wraps its ``step_up`` / ``step_down`` as float64 numpy
functions (closed-form numpy for the affine models: constant, linear and soft-bounds steps). This
uses the device layer only, not the crossbar.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from analogtrain.devices.affine import AffineStepDevice
from analogtrain.devices.base import PulsedDevice


@dataclasses.dataclass(frozen=True)
class PulseResponse:
    """Nominal response of one device model.

    up(w), down(w): magnitudes (≥ 0) of the weight change of one up / down pulse at weight w.
    granularity: the step used to turn a learning rate into an expected pulse count
    (expected pulses of an update ``−η g`` are ``η|g|/granularity``).
    symmetry_point: where up(w) = down(w) (NaN when the steps are equal everywhere).
    w_min, w_max: the nominal range.
    """

    device: PulsedDevice
    params: dict
    granularity: float
    symmetry_point: float
    w_min: float
    w_max: float

    #: (Δw⁺, c⁺, Δw⁻, c⁻) for affine models (up = Δw⁺ − c⁺w, down = Δw⁻ + c⁻w), else None.
    affine: tuple[float, float, float, float] | None = None

    def _apply(self, method, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        flat = torch.as_tensor(w.reshape(-1), dtype=torch.float64)
        params = {k: v.reshape(-1)[:1].expand(flat.shape) for k, v in self.params.items()}
        return method(flat, params).numpy().reshape(w.shape)

    def up(self, w) -> np.ndarray:
        """Δw⁺(w) ≥ 0."""
        if self.affine is not None:
            return np.maximum(self.affine[0] - self.affine[1] * np.asarray(w, dtype=float), 0.0)
        return self._apply(self.device.step_up, w)

    def down(self, w) -> np.ndarray:
        """Δw⁻(w) ≥ 0 (magnitude of the decrease)."""
        if self.affine is not None:
            return np.maximum(self.affine[2] + self.affine[3] * np.asarray(w, dtype=float), 0.0)
        return self._apply(self.device.step_down, w)

    def kappa(self, w: float | None = None, width: float = 1e-3) -> float:
        """Local asymmetry factor of paper Eq. 2 at w (default: the symmetry point).

        Writing Δw± = Δw ∓ Δw·κ(w − w*) near w*, ``κ = −(d/dw)(Δw⁺ − Δw⁻)/(2·granularity)``.
        For soft bounds on ±b this is 1/b; for a linear step with γ_up = γ_down = γ, γ/b.
        """
        w = self.symmetry_point if w is None or math.isnan(w) else w
        if math.isnan(w):
            w = 0.0
        h = width * (self.w_max - self.w_min)
        diff = lambda x: float(self.up(x) - self.down(x))  # noqa: E731
        return -(diff(w + h) - diff(w - h)) / (2 * h) / (2 * self.granularity)


def nominal_response(device: PulsedDevice) -> PulseResponse:
    """The :class:`PulseResponse` of ``device`` with all device-to-device spreads set to 0."""
    spreads = {
        f.name: 0.0
        for f in dataclasses.fields(device)
        if "dtod" in f.name and isinstance(getattr(device, f.name), float)
    }
    nominal = device.replace(**spreads) if spreads else device
    params = nominal.sample((1,), torch.Generator().manual_seed(0), dtype=torch.float64)
    point = float(nominal.symmetry_point(params)[0])
    affine = None
    if isinstance(nominal, AffineStepDevice):
        affine = tuple(float(v.reshape(-1)[0]) for v in nominal.coefficients(params))
    return PulseResponse(
        device=nominal,
        params=params,
        granularity=float(nominal.granularity),
        symmetry_point=point,
        w_min=float(params["w_min"][0]),
        w_max=float(params["w_max"][0]),
        affine=affine,
    )
