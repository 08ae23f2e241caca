"""``AnalogLinear``: a fully connected layer whose weight lives on crossbar arrays.

``y = W x + b`` with the product an analog read of the algorithm's visible weight (for Tiki-Taka
and SHD: C alone). The bias is an ordinary digital ``nn.Parameter`` by default
(``bias="digital"``); with ``bias="analog"`` it is one more array column driven by a constant
input 1, as in the field's hardware designs (so it sees the same device physics as the weight).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from analogtrain.algorithms.base import AlgorithmConfig
from analogtrain.config import check_choice, check_int
from analogtrain.errors import ConfigError
from analogtrain.nn.tile import AnalogTile

BiasKind = Literal["digital", "analog", "none"]


def bias_kind(bias: bool | str) -> str:
    """Normalise the ``bias`` argument: True → "digital", False → "none"."""
    if bias is True:
        return "digital"
    if bias is False or bias is None:
        return "none"
    check_choice("bias", bias, ("digital", "analog", "none"))
    return bias


def with_ones(x: torch.Tensor) -> torch.Tensor:
    """Append a column of ones (the analog bias input) to a (batch, n) tensor."""
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)], dim=1)


class AnalogLinear(nn.Module):
    """Linear layer on analog arrays.

    Args:
        in_features, out_features: as torch.nn.Linear.
        config: algorithm config (e.g. ``SHDConfig(...)``) of the weight's arrays.
        bias: "digital" (or True; default), "analog" (an extra array column), "none" (or False).
        seed: seeds the arrays.
        torch_device, dtype: where the arrays and the bias live.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        config: AlgorithmConfig,
        *,
        bias: bool | BiasKind = True,
        seed: int = 0,
        torch_device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_int("in_features", in_features, 1, 2**31)
        check_int("out_features", out_features, 1, 2**31)
        self.in_features = in_features
        self.out_features = out_features
        self.bias_kind = bias_kind(bias)
        columns = in_features + (1 if self.bias_kind == "analog" else 0)
        self.tile = AnalogTile(out_features, columns, config, seed=seed, torch_device=torch_device, dtype=dtype)
        if self.bias_kind == "digital":
            self.bias = nn.Parameter(torch.zeros(out_features, device=self.tile.torch_device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation (Kaiming-uniform weight, uniform bias), drawn from the
        global torch generator, then programmed onto the arrays."""
        weight = torch.empty(self.out_features, self.in_features)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(self.in_features)
        bias = torch.empty(self.out_features).uniform_(-bound, bound)
        self.set_weights(weight, bias if self.bias_kind != "none" else None)

    # -- weights --------------------------------------------------------------------------------
    @property
    def weight(self) -> torch.Tensor:
        """The trained (visible) weight, exact, detached (out × in)."""
        w = self.tile.weight
        return w[:, : self.in_features] if self.bias_kind == "analog" else w

    def analog_bias(self) -> torch.Tensor | None:
        """The bias column of an analog bias (None otherwise)."""
        return self.tile.weight[:, -1] if self.bias_kind == "analog" else None

    def set_weights(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Program the weight (and set the bias: digital parameter or analog column)."""
        weight = weight.detach()
        if tuple(weight.shape) != (self.out_features, self.in_features):
            raise ConfigError(
                f"weight must have shape {(self.out_features, self.in_features)}, got {tuple(weight.shape)}"
            )
        if self.bias_kind == "analog":
            column = bias.detach().reshape(-1, 1) if bias is not None else torch.zeros(self.out_features, 1)
            weight = torch.cat([weight.to(column.device, column.dtype), column], dim=1)
        elif self.bias_kind == "digital" and bias is not None:
            with torch.no_grad():
                self.bias.copy_(bias.detach())
        self.tile.set_weight(weight)

    @classmethod
    def from_linear(
        cls, module: nn.Linear, config: AlgorithmConfig, *, bias: str = "digital", seed: int = 0, torch_device=None
    ) -> "AnalogLinear":
        """An AnalogLinear programmed with ``module``'s weight and bias."""
        kind = bias if module.bias is not None else "none"
        with torch.random.fork_rng(devices=[]):  # the throw-away initialisation leaves no trace
            layer = cls(module.in_features, module.out_features, config, bias=kind, seed=seed,
                        torch_device=torch_device)
        layer.set_weights(module.weight, module.bias)
        return layer

    # -- forward --------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ConfigError(f"input must have last dimension {self.in_features}, got shape {tuple(x.shape)}")
        if x.dim() == 2:  # the usual (batch, in) input: no reshapes
            return self.tile.read(with_ones(x) if self.bias_kind == "analog" else x, self.bias)
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.in_features)
        if self.bias_kind == "analog":
            flat = with_ones(flat)
        return self.tile.read(flat, self.bias).reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias_kind}"
