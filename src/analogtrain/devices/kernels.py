"""Fast CPU kernels of device responses, keyed by device family.

A kernel applies listed up/down pulse counts to an array's devices in place, in one compiled loop
(no temporaries, no gathering and scattering of the listed devices). Its arithmetic is the
family's reference formulas themselves, compiled by :func:`analogtrain.compiled.scalar_twin` —
no equation is written a second time — and it takes the same normal draws as the reference
response (one per listed device, drawn by the caller from the array's generator), so the two agree
to float rounding (tested; the loop computes in float64).

Families with a kernel: :class:`~analogtrain.devices.affine.AffineStepDevice` (constant, linear and
soft-bounds steps). Other models have none (:func:`response_kernel` returns None) and use their
tensor response.
"""

from __future__ import annotations

import numpy as np
import torch

from analogtrain.compiled import as_numpy, njit, scalar_twin
from analogtrain.devices import affine
from analogtrain.devices.base import DeviceParameters, PulsedDevice, randn

_mean = scalar_twin(affine.closed_form_mean)
_one_sign = scalar_twin(affine.one_sign_variance)
_mixed = scalar_twin(affine.mixed_variance)
_finish = scalar_twin(affine.spread_and_clip)


@njit
def _affine_loop(w, index, whole, n_up, n_down, dw_up, dw_down, c_up, c_down, keep_up, keep_down, w_min, w_max,
                 normal, std):
    """Listed device k (flat position ``index[k]``, or k itself when ``whole``) gets n⁺[k] up and
    n⁻[k] down pulses; ``normal``: one draw per listed device, or empty (no spread)."""
    noisy = normal.shape[0] > 0
    for k in range(n_up.shape[0]):
        up, down = float(n_up[k]), float(n_down[k])
        if up == 0.0 and down == 0.0:
            continue  # the reference leaves such a device as it is (its mean is w, its variance 0)
        at = k if whole else index[k]
        weight = float(w[at])
        mean, log_factor, rate, drive, decay = _mean(weight, up, down, float(dw_up[at]), float(dw_down[at]),
                                                     float(c_up[at]), float(c_down[at]), float(keep_up[at]),
                                                     float(keep_down[at]))
        low, high = float(w_min[at]), float(w_max[at])
        if not noisy:
            w[at] = min(max(mean, low), high)
            continue
        if up > 0.0 and down > 0.0:
            variance = _mixed(weight, up, down, log_factor, decay, rate, drive, float(dw_up[at]), float(dw_down[at]),
                              float(c_up[at]), float(c_down[at]), std)
        else:
            variance = _one_sign(weight, up, down, log_factor, rate, drive, std)
        w[at] = _finish(mean, variance, float(normal[k]), low, high)


def affine_in_place(device: PulsedDevice, w: torch.Tensor, index: torch.Tensor | None, n_up: torch.Tensor,
                    n_down: torch.Tensor, p: DeviceParameters, normal: torch.Tensor | None) -> None:
    """Write the response of the listed devices of the contiguous CPU tensor ``w`` in place
    (``index``: their flat positions, None: every device in order)."""
    params = [as_numpy(p[name].reshape(-1)) for name in affine.RESPONSE_PARAMETERS]
    empty_index = np.empty(0, dtype=np.int64)
    draws = as_numpy(normal.reshape(-1)) if normal is not None else np.empty(0, dtype=params[0].dtype)
    _affine_loop(w.view(-1).numpy(), empty_index if index is None else as_numpy(index), index is None,
                 as_numpy(n_up.reshape(-1)), as_numpy(n_down.reshape(-1)), *params, draws,
                 float(device.dw_min_std))


#: device family -> kernel (the most specific family that a model is an instance of wins).
_KERNELS = {affine.AffineStepDevice: affine_in_place}


def response_kernel(device: PulsedDevice):
    """The kernel of ``device``'s family, or None if it has none (or overrides the family's
    response with one of its own)."""
    for family, kernel in _KERNELS.items():
        if isinstance(device, family) and type(device).apply_pulses is family.apply_pulses:
            return kernel
    return None


def respond(device: PulsedDevice, w: torch.Tensor, p: DeviceParameters, n_up: torch.Tensor, n_down: torch.Tensor,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """The kernel's counterpart of ``device.apply_pulses(w, p, n_up, n_down, generator)`` (a new
    tensor, the same normal draws); ``device`` must have a kernel (:func:`response_kernel`)."""
    kernel = response_kernel(device)
    if kernel is None:
        raise ValueError(f"no compiled kernel for the {device.model!r} model")
    new = w.clone(memory_format=torch.contiguous_format)
    normal = randn(w.shape, generator, like=w) if device.needs_normals(n_up, n_down) else None
    kernel(device, new, None, n_up, n_down, {name: value.expand_as(w) for name, value in p.items()}, normal)
    return new
