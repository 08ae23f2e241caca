"""``AnalogLSTM``: stacked LSTM layers whose gate weights live on crossbar arrays.

Each layer stores its four gate weights on ONE array of shape (4·hidden, input + hidden)
(``[W_ih | W_hh]``, gates in torch.nn.LSTM's order i, f, g, o) and reads the concatenated vector
``[x_t; h_{t−1}]`` once per time step (see :mod:`analogtrain.nn.lstm_function` for the
equations). Biases are digital by default — two parameters ``bias_ih``, ``bias_hh`` per layer as in
torch.nn.LSTM, so a converted model's SGD steps match torch's — or one analog bias column
(``bias="analog"``). Dropout between layers and ``batch_first`` behave as in torch.nn.LSTM.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from analogtrain.algorithms.base import AlgorithmConfig
from analogtrain.config import check_int, check_range
from analogtrain.errors import ConfigError
from analogtrain.nn.linear import bias_kind
from analogtrain.crossbar.checks import check_finite_tensor, checked_inputs
from analogtrain.nn.lstm_function import AnalogLSTMLayerFunction, lstm_sequence
from analogtrain.nn.tile import AnalogTile


class AnalogLSTMLayer(nn.Module):
    """One LSTM layer: a (4H × (I + H [+1])) tile and optional digital biases."""

    def __init__(self, input_size, hidden_size, config, *, bias="digital", seed=0, torch_device=None,
                 dtype=torch.float32):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias_kind = bias_kind(bias)
        columns = input_size + hidden_size + (1 if self.bias_kind == "analog" else 0)
        self.tile = AnalogTile(4 * hidden_size, columns, config, seed=seed, torch_device=torch_device, dtype=dtype)
        if self.bias_kind == "digital":
            zeros = torch.zeros(4 * hidden_size, device=self.tile.torch_device, dtype=dtype)
            self.bias_ih = nn.Parameter(zeros.clone())
            self.bias_hh = nn.Parameter(zeros.clone())
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    @property
    def weight(self) -> torch.Tensor:
        """``[W_ih | W_hh]`` (4H × (I + H)), trained, exact, detached."""
        return self.tile.weight[:, : self.input_size + self.hidden_size]

    def set_weights(self, weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> None:
        weight = torch.cat([weight_ih.detach(), weight_hh.detach()], dim=1)
        if self.bias_kind == "analog":
            total = torch.zeros(4 * self.hidden_size, dtype=weight.dtype, device=weight.device)
            for b in (bias_ih, bias_hh):
                if b is not None:
                    total = total + b.detach().to(weight.device, weight.dtype)
            weight = torch.cat([weight, total[:, None]], dim=1)
        elif self.bias_kind == "digital":
            with torch.no_grad():
                self.bias_ih.copy_(bias_ih.detach() if bias_ih is not None else torch.zeros_like(self.bias_ih))
                self.bias_hh.copy_(bias_hh.detach() if bias_hh is not None else torch.zeros_like(self.bias_hh))
        self.tile.set_weight(weight)

    def forward(self, x, h0, c0):
        """x (T, B, I), h0/c0 (B, H) -> output (T, B, H), h_T, c_T."""
        analog_bias = self.bias_kind == "analog"
        tile = self.tile
        tile.register()
        x = x.to(tile.torch_device, tile.dtype)
        grads = torch.is_grad_enabled() and (
            x.requires_grad or h0.requires_grad or c0.requires_grad or tile.handle.requires_grad
            or (self.bias_ih is not None and self.bias_ih.requires_grad)
        )
        if grads:
            return AnalogLSTMLayerFunction.apply(
                x, h0, c0, self.bias_ih, self.bias_hh, tile.handle, tile, self.hidden_size, analog_bias
            )
        bias = self.bias_ih + self.bias_hh if self.bias_ih is not None else None
        for name, value in (("input", x), ("h_0", h0), ("c_0", c0)):
            check_finite_tensor(name, value)
        with checked_inputs():  # every read vector derives from x, h0, c0 by bounded operations
            out, h, c, _ = lstm_sequence(tile.algorithm, x, h0, c0, bias, self.hidden_size, analog_bias, keep=False)
        return out, h, c


class AnalogLSTM(nn.Module):
    """Stacked LSTM on analog arrays (arguments as torch.nn.LSTM, plus the algorithm config).

    Args:
        input_size, hidden_size, num_layers, batch_first, dropout: as torch.nn.LSTM.
        config: one algorithm config for every layer, or a sequence of one per layer.
        bias: "digital" (or True; default), "analog", "none" (or False).
        seed: layer k's arrays are seeded with ``seed + k``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        config: AlgorithmConfig | Sequence[AlgorithmConfig],
        *,
        num_layers: int = 1,
        bias: bool | str = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        seed: int = 0,
        torch_device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_int("input_size", input_size, 1, 2**24)
        check_int("hidden_size", hidden_size, 1, 2**24)
        check_int("num_layers", num_layers, 1, 1024)
        check_range("dropout", dropout, 0.0, 1.0)
        configs = list(config) if isinstance(config, (list, tuple)) else [config] * num_layers
        if len(configs) != num_layers:
            raise ConfigError(f"config: expected one algorithm config per layer ({num_layers}), got {len(configs)}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bias_kind = bias_kind(bias)
        self.layers = nn.ModuleList(
            AnalogLSTMLayer(
                input_size if k == 0 else hidden_size, hidden_size, configs[k], bias=self.bias_kind,
                seed=seed + k, torch_device=torch_device, dtype=dtype,
            )
            for k in range(num_layers)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.LSTM's initialisation U(−1/√H, 1/√H) (global generator), then programmed."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for layer in self.layers:
            shape_ih = (4 * self.hidden_size, layer.input_size)
            shape_hh = (4 * self.hidden_size, self.hidden_size)
            tensors = [torch.empty(s).uniform_(-bound, bound) for s in (shape_ih, shape_hh)]
            biases = [torch.empty(4 * self.hidden_size).uniform_(-bound, bound) for _ in range(2)]
            layer.set_weights(*tensors, *(biases if self.bias_kind != "none" else (None, None)))

    @classmethod
    def from_lstm(cls, module: nn.LSTM, config, *, bias: str = "digital", seed: int = 0, torch_device=None):
        """An AnalogLSTM programmed with ``module``'s weights and biases."""
        if module.bidirectional:
            raise ConfigError("AnalogLSTM does not support bidirectional LSTMs")
        if getattr(module, "proj_size", 0):
            raise ConfigError("AnalogLSTM does not support proj_size > 0")
        kind = bias if module.bias else "none"
        with torch.random.fork_rng(devices=[]):
            layer = cls(
                module.input_size, module.hidden_size, config, num_layers=module.num_layers, bias=kind,
                batch_first=module.batch_first, dropout=module.dropout, seed=seed, torch_device=torch_device,
            )
        for k, analog in enumerate(layer.layers):
            get = lambda name: getattr(module, f"{name}_l{k}", None)  # noqa: E731
            analog.set_weights(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"))
        return layer

    def forward(self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None):
        """As torch.nn.LSTM: returns (output, (h_n, c_n)); no packed sequences."""
        if isinstance(x, nn.utils.rnn.PackedSequence):
            raise ConfigError("AnalogLSTM does not accept packed sequences; pad them instead")
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ConfigError(f"input must have last dimension {self.input_size} and 2 or 3 dimensions, "
                              f"got shape {tuple(x.shape)}")
        batch = x.shape[1]
        if hx is None:
            zeros = x.new_zeros(self.num_layers, batch, self.hidden_size)
            h0, c0 = zeros, zeros
        else:
            h0, c0 = hx
            if unbatched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            expected = (self.num_layers, batch, self.hidden_size)
            if tuple(h0.shape) != expected or tuple(c0.shape) != expected:
                raise ConfigError(f"hx must be two tensors of shape {expected}")
        h_n, c_n = [], []
        out = x
        for k, layer in enumerate(self.layers):
            if k > 0 and self.dropout > 0 and self.training:
                out = F.dropout(out, self.dropout, training=True)
            out, h, c = layer(out, h0[k], c0[k])
            h_n.append(h)
            c_n.append(c)
        h_n, c_n = torch.stack(h_n), torch.stack(c_n)
        if unbatched:
            return out.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, (h_n, c_n)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias_kind}, "
            f"batch_first={self.batch_first}, dropout={self.dropout}"
        )
