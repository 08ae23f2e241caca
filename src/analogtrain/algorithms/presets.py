"""Named algorithm presets: each algorithm with the settings of its paper / the field's defaults.

The field's reference simulator offers one configuration per algorithm (aihwkit's
``build_config("sgd" | "ttv1" | "ttv2" | "c-ttv2" | "agad" | "mp", device)``); these are ours,
with this package's conventions (learning rates of A and C relative to the SGD rate, so
``fast_lr = transfer_lr = 1`` means η_A = η_C = lr). They are the settings of the example configs
``examples/digits_*.yaml``, which train the digits MLP (tests/test_algorithm_examples.py).

=====================  =====================================================================
``sgd``                analog SGD, reference at the weight zero
``tiki-taka``          Tiki-Taka, one column transferred after every update, γ = 0
``shd``                SHD, as Tiki-Taka with 3 arrays
``residual-learning``  Tiki-Taka with γ = 0.4 (Wu et al. 2025's synthetic setting)
``ttv2``               TTv2, buffer threshold Δw_C, at most BL = 31 pulses per device and transfer
``c-ttv2``             c-TTv2, random choppers with switching probability 0.1 (the paper's value)
``agad``               AGAD, regular choppers every 2 reads of a column, plain running mean,
                       2 columns per transfer (a faster first reference)
``mixed-precision``    mixed precision, ε = the device's dw_min, programming after every update
=====================  =====================================================================
"""

from __future__ import annotations

from typing import Any, Callable

from analogtrain.algorithms.agad import AGADConfig
from analogtrain.algorithms.base import AlgorithmConfig
from analogtrain.algorithms.chopped import ChoppedTTv2Config
from analogtrain.algorithms.mixed_precision import MixedPrecisionConfig
from analogtrain.algorithms.residual import ResidualLearningConfig
from analogtrain.algorithms.sgd import AnalogSGDConfig
from analogtrain.algorithms.transfer import SHDConfig, TikiTakaConfig
from analogtrain.algorithms.ttv2 import TTv2Config
from analogtrain.devices.base import PulsedDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.errors import ConfigError


def _transfer(config_class, **settings) -> Callable[[PulsedDevice], AlgorithmConfig]:
    return lambda device: config_class(device_a=device, device_c=device, **settings)


_PRESETS: dict[str, Callable[[PulsedDevice], AlgorithmConfig]] = {
    "sgd": lambda device: AnalogSGDConfig(device=device),
    "tiki-taka": _transfer(TikiTakaConfig),
    "shd": _transfer(SHDConfig),
    "residual-learning": _transfer(ResidualLearningConfig, gamma=0.4),
    "ttv2": _transfer(TTv2Config),
    "c-ttv2": _transfer(ChoppedTTv2Config, in_chop_prob=0.1, in_chop_random=True),
    "agad": _transfer(AGADConfig, in_chop_prob=0.5, in_chop_random=False, tail_weight=1.0, columns_per_transfer=2),
    "mixed-precision": lambda device: MixedPrecisionConfig(device=device),
}


def algorithm_presets() -> list[str]:
    """Names of the algorithm presets."""
    return list(_PRESETS)


def algorithm_preset(name: str, device: PulsedDevice | None = None, **overrides: Any) -> AlgorithmConfig:
    """The preset ``name`` on ``device`` (default: soft bounds), with fields replaced by ``overrides``."""
    if name not in _PRESETS:
        raise ConfigError(f"unknown algorithm preset {name!r}; valid: {list(_PRESETS)}")
    config = _PRESETS[name](device if device is not None else SoftBoundsDevice())
    return config.replace(**overrides) if overrides else config
