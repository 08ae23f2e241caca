"""``convert``: a copy of any torch model with its Linear, Conv2d and LSTM layers made analog.

The copy's ``nn.Linear``, ``nn.Conv2d`` and ``nn.LSTM`` modules become :class:`AnalogLinear`,
:class:`AnalogConv2d` and :class:`AnalogLSTM` programmed with the original weights (digital
biases copied); every other module is deep-copied untouched. The original model is not changed.
Each converted layer gets its own array seed (``seed + 1000·k`` for the k-th converted layer in
module order) and the algorithm config ``config``, or ``overrides[name]`` for the layer whose
qualified module name (as in ``model.named_modules()``) is ``name``; an override of None keeps
that layer digital.
"""

from __future__ import annotations

import copy
from typing import Mapping

import torch
from torch import nn

from analogtrain.algorithms.base import AlgorithmConfig
from analogtrain.errors import ConfigError
from analogtrain.nn.conv import AnalogConv2d
from analogtrain.nn.linear import AnalogLinear
from analogtrain.nn.lstm import AnalogLSTM

CONVERTIBLE = (nn.Linear, nn.Conv2d, nn.LSTM)


def convertible_layers(model: nn.Module) -> list[str]:
    """Qualified names of the modules :func:`convert` would replace."""
    return [name for name, m in model.named_modules() if type(m) in CONVERTIBLE]


def convert(
    model: nn.Module,
    config: AlgorithmConfig,
    *,
    overrides: Mapping[str, AlgorithmConfig | None] | None = None,
    bias: str = "digital",
    seed: int = 0,
    torch_device: torch.device | str | None = None,
) -> nn.Module:
    """A deep copy of ``model`` with Linear/Conv2d/LSTM replaced by analog layers (see module doc).

    ``bias``: "digital" (default) or "analog" for every converted layer that has a bias.
    Raises ConfigError for an override naming no convertible layer, before changing anything.
    """
    if isinstance(config, dict):
        config = AlgorithmConfig.from_dict_polymorphic(config)
    overrides = {
        name: None if c is None else AlgorithmConfig.from_dict_polymorphic(c, f"overrides.{name}")
        for name, c in (overrides or {}).items()
    }
    names = convertible_layers(model)
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ConfigError(f"overrides: no convertible layer named {unknown}; convertible layers: {names}")
    if bias not in ("digital", "analog"):
        raise ConfigError(f"bias must be one of ['digital', 'analog'], got {bias!r}")
    result = copy.deepcopy(model)
    for index, name in enumerate(names):
        original = result.get_submodule(name)
        layer_config = overrides.get(name, config)
        if layer_config is None:
            continue
        kwargs = dict(bias=bias, seed=seed + 1000 * index, torch_device=torch_device)
        if isinstance(original, nn.Linear):
            replacement = AnalogLinear.from_linear(original, layer_config, **kwargs)
        elif isinstance(original, nn.Conv2d):
            replacement = AnalogConv2d.from_conv2d(original, layer_config, **kwargs)
        else:
            replacement = AnalogLSTM.from_lstm(original, layer_config, **kwargs)
        replacement.train(original.training)
        _set_submodule(result, name, replacement)
    if torch_device is not None:  # the digital rest (analog tiles are already there)
        result.to(torch_device)
    return result


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    if name == "":
        raise ConfigError("convert: the model itself is a Linear/Conv2d/LSTM; wrap it in nn.Sequential")
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)
