"""Presets: published device classes as configured device models, and lookup by name.

Each preset is a function returning a configured :class:`~analogtrain.devices.base.PulsedDevice`;
its docstring gives the numbers and their source. :data:`PRESETS` maps every name to such a
function: the published presets below, and each device model's name (``"soft-bounds"``,
``"linear-step"``, ...) for that model's defaults. :func:`get_device` looks a name up and applies
overrides (validated); :func:`describe` gives the one-line summary shown by
``analogtrain device list``.

Where a published preset relies on a mechanism analogtrain does not model (write noise, capacitor
leakage, additive-only cycle-to-cycle noise), the docstring says so and what was chosen instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from analogtrain.devices.abrupt import AbruptDevice
from analogtrain.devices.base import PulsedDevice, device_models, register_preset_lookup
from analogtrain.devices.constant_step import ConstantStepDevice
from analogtrain.devices.exp_step import ExpStepDevice
from analogtrain.devices.linear_step import LinearStepDevice
from analogtrain.devices.piecewise import PiecewiseStepDevice
from analogtrain.devices.power_step import PowerStepDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.errors import ConfigError


def idealized() -> ConstantStepDevice:
    """Idealized symmetric constant-step device with about 10000 states.

    The Gokmen & Vlasov (Front. Neurosci. 10:333, 2016) variations with 8× more states and no
    up/down imbalance, as in the reference simulator's ``IdealizedPresetDevice`` (also the device
    of Rasch, Gokmen & Haensch, IEEE Design & Test 2019): dw_min 0.0002, range ±1, 30 %
    device-to-device spread of the step and of the bounds, 30 % cycle-to-cycle noise,
    up_down_dtod 0.
    """
    return ConstantStepDevice(
        dw_min=0.0002, w_max=1.0, w_min=-1.0, up_down=0.0,
        dw_min_dtod=0.3, dw_min_std=0.3, w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.0,
    )


def gokmen_vlasov() -> ConstantStepDevice:
    """Constant-step RPU device of Gokmen & Vlasov, Front. Neurosci. 10:333 (2016).

    Their device specification: dw_min 0.001, bounds ±0.6 (1200 steps), 30 % device-to-device
    spread of the step and of the bounds, 30 % cycle-to-cycle noise, and an up/down imbalance
    spread of ~2 % between devices (up_down_dtod 0.01 changes the up/down step ratio of a device
    by 1 ± 2·0.01·ξ).
    """
    return ConstantStepDevice(
        dw_min=0.001, w_max=0.6, w_min=-0.6, up_down=0.0,
        dw_min_dtod=0.3, dw_min_std=0.3, w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.01,
    )


def ecram_mo() -> LinearStepDevice:
    """Metal-oxide ECRAM (Kim et al., IEDM 2019), a linear-step fit (seed paper's Ref 32).

    Numbers of the reference simulator's ``EcRamMOPresetDevice`` (paper-notes §8.4): dw_min
    2.8214e-4, w_max 1.1714, w_min −0.8286 (range shifted so the symmetry point is 0: both steps
    equal dw_min at w = 0), γ_up 0.4152, γ_down 0.7342 (gamma_dtod 0.05), cycle-to-cycle
    dw_min_std 2.0; device-to-device 0.1 on dw_min, 0.05 on the bounds, 0.01 on up_down.
    About 7100 states. (The reference takes the slopes relative to the mean bounds; analogtrain's
    linear step uses each device's own bounds.)
    """
    return LinearStepDevice(
        dw_min=2.8214e-4, w_max=1.1714, w_min=-0.8286, up_down=0.0,
        gamma_up=0.4152, gamma_down=0.7342, gamma_dtod=0.05,
        dw_min_dtod=0.1, dw_min_std=2.0, w_max_dtod=0.05, w_min_dtod=0.05, up_down_dtod=0.01,
    )


def reram_soft_bounds() -> SoftBoundsDevice:
    """HfO₂ ReRAM as a soft-bounds device: a loose fit to Gong et al., Nat. Commun. 9:2102 (2018).

    Numbers of the reference simulator's ``ReRamSBPresetDevice`` (paper-notes §8.4): dw_min 0.002,
    w_max 1.25, w_min −0.75 (symmetry point 0), device-to-device 0.3 on dw_min, 0.24 on w_max,
    0.40 on w_min (0.3 absolute on both bounds), up_down_dtod 0.01 (assumes symmetry-point
    correction by a reference device). About 1000 states.

    Cycle-to-cycle noise: dw_min_std = 1.0 (chosen here). The reference uses 3.75 but applies it
    *additively* (not scaled down near a bound) together with a separate write-noise model that
    analogtrain does not have. With analogtrain's multiplicative noise a per-pulse spread equal to
    the mean step keeps ReRAM's large pulse-to-pulse variability while a pulse still moves the
    device the intended way 84 % of the time (at 3.75 it would be 61 %).
    """
    return SoftBoundsDevice(
        dw_min=0.002, w_max=1.25, w_min=-0.75, up_down=0.0,
        dw_min_dtod=0.3, dw_min_std=1.0, w_max_dtod=0.24, w_min_dtod=0.40, up_down_dtod=0.01,
    )


def reram_exp() -> ExpStepDevice:
    """HfO₂ ReRAM, exponential-step fit to Gong et al., Nat. Commun. 9:2102 (2018).

    Numbers of the reference simulator's ``ReRamESPresetDevice`` (paper-notes §8.4): dw_min
    0.00135, up_down 0.259359, range ±1, a = b = −0.5, γ_up = γ_down = 5, A_up = −1.18445,
    A_down = −0.081404 (negative A: the step grows towards the far bound; the down step is about
    10× the up step near w_max, 0.37× near w_min), device-to-device 0.2 on dw_min, 0.3 on the
    bounds, 0.05 on up_down. Its nominal symmetry point lies between −0.5 and 0.

    Cycle-to-cycle noise: dw_min_std = 1.0 (chosen here, as for ``reram-soft-bounds``; the
    reference's 5.0 goes with a write-noise model analogtrain does not have).
    """
    return ExpStepDevice(
        dw_min=0.00135, w_max=1.0, w_min=-1.0, up_down=0.259359,
        a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0, a_up=-1.18445, a_down=-0.081404,
        dw_min_dtod=0.2, dw_min_std=1.0, w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.05,
    )


def capacitor() -> LinearStepDevice:
    """Capacitor-based unit cell (14 nm trench capacitors), Li et al., VLSI Technology 2018.

    Numbers of the reference simulator's ``CapacitorPresetDevice`` (paper-notes §8.4): dw_min
    0.005 (400 states), range ±1, γ_up = γ_down = 0.05 (gamma_dtod 0.01), device-to-device 0.1 on
    dw_min and 0.07 on the bounds, up_down_dtod 0.06, cycle-to-cycle 0.3. The reference also
    models capacitor leakage (lifetime 10⁶ mini-batches), which analogtrain does not.
    """
    return LinearStepDevice(
        dw_min=0.005, w_max=1.0, w_min=-1.0, up_down=0.0,
        gamma_up=0.05, gamma_down=0.05, gamma_dtod=0.01,
        dw_min_dtod=0.1, dw_min_std=0.3, w_max_dtod=0.07, w_min_dtod=0.07, up_down_dtod=0.06,
    )


def pcm() -> AbruptDevice:
    """Phase-change memory (PCM): gradual saturating set, abrupt reset to the lowest state.

    Range and variations from the reference simulator's ``PCMPresetDevice`` (paper-notes §8.4):
    unidirectional range [0, 2] (w_min = 0, as a PCM conductance), dw_min 0.01 (200 set steps),
    device-to-device 0.2 on dw_min, 0.1 on w_max, 0.05 on up_down, cycle-to-cycle 0.6, reset
    spread 0.01. Choices here: the reference's exponential set curve is replaced by the
    soft-bounds-like set (set_gamma 1) of :class:`AbruptDevice`, and its per-device reset offset
    (0.01 ± 0.02) by the reset spread reset_std = 0.01. Signed weights need two such devices
    (W = G⁺ − G⁻) with occasional refresh, which belongs to the crossbar layer.
    """
    return AbruptDevice(
        dw_min=0.01, w_max=2.0, w_min=0.0, up_down=0.0, set_gamma=1.0, reset_std=0.01,
        dw_min_dtod=0.2, dw_min_std=0.6, w_max_dtod=0.1, w_min_dtod=0.0, up_down_dtod=0.05,
    )


def soft_bounds_paper() -> SoftBoundsDevice:
    """The asymmetric device of Onen, Gokmen et al., Front. Artif. Intell. 5:891624 (2022), Fig. 1E.

    Soft bounds on ±1 (κ = 1 in the paper's Eq. 2), dw_min 0.001 (2000 steps), symmetry point 0,
    no device-to-device or cycle-to-cycle variation (the paper's single-parameter simulations;
    paper-notes §5.1).
    """
    return SoftBoundsDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)


#: Published presets (name -> function returning the configured device).
PUBLISHED: dict[str, Callable[[], PulsedDevice]] = {
    "idealized": idealized,
    "gokmen-vlasov": gokmen_vlasov,
    "ecram-mo": ecram_mo,
    "reram-soft-bounds": reram_soft_bounds,
    "reram-exp": reram_exp,
    "capacitor": capacitor,
    "pcm": pcm,
    "soft-bounds-paper": soft_bounds_paper,
}

_MODEL_CLASSES: tuple[type[PulsedDevice], ...] = (
    ConstantStepDevice,
    SoftBoundsDevice,
    LinearStepDevice,
    PowerStepDevice,
    ExpStepDevice,
    PiecewiseStepDevice,
    AbruptDevice,
)

#: Every name :func:`get_device` knows: published presets, then each model's defaults.
PRESETS: dict[str, Callable[[], PulsedDevice]] = {
    **PUBLISHED,
    **{cls.model: cls for cls in _MODEL_CLASSES},
}


def available_devices() -> list[str]:
    """All device names: the published presets, then every registered model's name."""
    names = list(PRESETS)
    names += [name for name in device_models() if name not in PRESETS]
    return names


def _factory(name: str) -> Callable[[], PulsedDevice]:
    if not isinstance(name, str):
        raise ConfigError(f"device name must be a string, one of {available_devices()}, got {name!r}")
    if name in PRESETS:
        return PRESETS[name]
    models = device_models()
    if name in models:
        return models[name]
    raise ConfigError(f"unknown device {name!r}; valid names: {available_devices()}")


def get_device(name: str, **overrides: Any) -> PulsedDevice:
    """The device called ``name`` (a preset or a model name), with ``overrides`` applied.

    Unknown names and invalid overrides raise ConfigError.
    """
    device = _factory(name)()
    return device.replace(**overrides) if overrides else device


def describe(name: str) -> str:
    """One line: the name, what the device is, its model and number of states."""
    factory = _factory(name)
    device = factory()
    source = factory
    if isinstance(factory, type):  # a model's defaults: its module's summary line
        source = sys.modules.get(factory.__module__, factory)
    doc = (source.__doc__ or "").strip().splitlines()
    summary = doc[0].rstrip(".") if doc else device.model
    kind = "model defaults" if name in device_models() else f"model {device.model}"
    return f"{name}: {summary} ({kind}, ~{device.states:.0f} states)"


__all__ = ["PRESETS", "PUBLISHED", "available_devices", "get_device", "describe"] + [
    f.__name__ for f in PUBLISHED.values()
]


register_preset_lookup(get_device)
