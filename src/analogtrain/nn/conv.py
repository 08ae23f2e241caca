"""``AnalogConv2d``: a 2-D convolution as crossbar reads of unfolded input patches.

The kernel (out_channels × in_channels × kh × kw) is stored flattened as an
(out_channels × in_channels·kh·kw) array, the layout of ``weight.reshape(out, -1)``. Every input
patch (all channels under the kernel at one output position, ``F.unfold``'s column order) is one
input vector of an analog read, so a batch of N images with L output positions is one read of
N·L vectors. The backward read gives each patch's gradient, which ``F.fold`` (autograd of
``F.unfold``) sums back onto the image. The update passes the N·L patches and their errors as
one batch to the pulse update, so the array receives the sum of the per-patch outer products
``ΔW = −η Σ δ_p x_pᵀ`` — exactly the convolution's weight gradient — through the same stochastic
pulses as a fully connected layer.

Only ``groups=1`` is supported (a grouped convolution would need one array per group).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from analogtrain.algorithms.base import AlgorithmConfig
from analogtrain.config import check_choice, check_int
from analogtrain.errors import ConfigError
from analogtrain.nn.linear import bias_kind, with_ones
from analogtrain.nn.tile import AnalogTile


def _pair_of_ints(name: str, value) -> tuple[int, int]:
    pair = _pair(value)
    if len(pair) != 2:
        raise ConfigError(f"{name} must be an int or a pair of ints, got {value!r}")
    for v in pair:
        check_int(name, v, 0 if name == "padding" else 1, 2**20)
    return tuple(pair)  # type: ignore[return-value]


class AnalogConv2d(nn.Module):
    """2-D convolution on analog arrays (arguments as torch.nn.Conv2d, plus ``config``).

    ``bias``: "digital" (or True; default), "analog" (an extra array column with input 1), "none".
    ``padding`` may be an int, a pair, "valid" or "same" (stride 1). ``padding_mode`` as torch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        config: AlgorithmConfig,
        *,
        stride=1,
        padding=0,
        dilation=1,
        bias: bool | str = True,
        padding_mode: str = "zeros",
        seed: int = 0,
        torch_device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels, 1, 2**24)
        check_int("out_channels", out_channels, 1, 2**24)
        check_choice("padding_mode", padding_mode, ("zeros", "reflect", "replicate", "circular"))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair_of_ints("kernel_size", kernel_size)
        self.stride = _pair_of_ints("stride", stride)
        self.dilation = _pair_of_ints("dilation", dilation)
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            check_choice("padding", padding, ("valid", "same"))
            if padding == "same" and self.stride != (1, 1):
                raise ConfigError("padding='same' needs stride 1")
            self.padding = padding
        else:
            self.padding = _pair_of_ints("padding", padding)
        self.bias_kind = bias_kind(bias)
        self.patch_size = in_channels * self.kernel_size[0] * self.kernel_size[1]
        columns = self.patch_size + (1 if self.bias_kind == "analog" else 0)
        self.tile = AnalogTile(out_channels, columns, config, seed=seed, torch_device=torch_device, dtype=dtype)
        if self.bias_kind == "digital":
            self.bias = nn.Parameter(torch.zeros(out_channels, device=self.tile.torch_device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.Conv2d's initialisation (global torch generator), programmed onto the arrays."""
        weight = torch.empty(self.out_channels, self.in_channels, *self.kernel_size)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(self.patch_size)
        bias = torch.empty(self.out_channels).uniform_(-bound, bound)
        self.set_weights(weight, bias if self.bias_kind != "none" else None)

    # -- weights --------------------------------------------------------------------------------
    @property
    def weight(self) -> torch.Tensor:
        """The trained kernel, exact, detached (out × in × kh × kw)."""
        w = self.tile.weight[:, : self.patch_size]
        return w.reshape(self.out_channels, self.in_channels, *self.kernel_size)

    def analog_bias(self) -> torch.Tensor | None:
        return self.tile.weight[:, -1] if self.bias_kind == "analog" else None

    def set_weights(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Program the kernel (and set the bias)."""
        expected = (self.out_channels, self.in_channels, *self.kernel_size)
        if tuple(weight.shape) != expected:
            raise ConfigError(f"weight must have shape {expected}, got {tuple(weight.shape)}")
        flat = weight.detach().reshape(self.out_channels, -1)
        if self.bias_kind == "analog":
            column = bias.detach().reshape(-1, 1) if bias is not None else torch.zeros(self.out_channels, 1)
            flat = torch.cat([flat, column.to(flat.device, flat.dtype)], dim=1)
        elif self.bias_kind == "digital" and bias is not None:
            with torch.no_grad():
                self.bias.copy_(bias.detach())
        self.tile.set_weight(flat)

    @classmethod
    def from_conv2d(
        cls, module: nn.Conv2d, config: AlgorithmConfig, *, bias: str = "digital", seed: int = 0, torch_device=None
    ) -> "AnalogConv2d":
        """An AnalogConv2d programmed with ``module``'s kernel and bias."""
        if not isinstance(module, nn.Conv2d) or module.transposed:
            raise ConfigError("only torch.nn.Conv2d can be converted to AnalogConv2d")
        if module.groups != 1:
            raise ConfigError(f"AnalogConv2d supports groups=1 only, got groups={module.groups}")
        kind = bias if module.bias is not None else "none"
        with torch.random.fork_rng(devices=[]):
            layer = cls(
                module.in_channels, module.out_channels, module.kernel_size, config,
                stride=module.stride, padding=module.padding, dilation=module.dilation, bias=kind,
                padding_mode=module.padding_mode, seed=seed, torch_device=torch_device,
            )
        layer.set_weights(module.weight, module.bias)
        return layer

    # -- forward --------------------------------------------------------------------------------
    def _explicit_padding(self) -> tuple[int, int, int, int] | None:
        """(left, right, top, bottom) padding applied before unfolding, or None."""
        if self.padding == "valid":
            return None
        if self.padding == "same":
            pads = []
            for k, d in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)  # type: ignore[return-value]
        if self.padding_mode != "zeros" and any(self.padding):
            ph, pw = self.padding
            return (pw, pw, ph, ph)
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        unbatched = x.dim() == 3
        if unbatched:
            x = x.unsqueeze(0)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"input must have shape (batch, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        pads = self._explicit_padding()
        if pads is not None:
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = F.pad(x, pads, mode=mode)
            unfold_padding = (0, 0)
        else:
            unfold_padding = (0, 0) if self.padding == "valid" else self.padding
        n, _, h, w = x.shape
        out_h = (h + 2 * unfold_padding[0] - self.dilation[0] * (self.kernel_size[0] - 1) - 1) // self.stride[0] + 1
        out_w = (w + 2 * unfold_padding[1] - self.dilation[1] * (self.kernel_size[1] - 1) - 1) // self.stride[1] + 1
        if out_h < 1 or out_w < 1:
            raise ConfigError(f"input of spatial size {(h, w)} is smaller than the kernel {self.kernel_size}")
        patches = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=unfold_padding, stride=self.stride)
        rows = patches.transpose(1, 2).reshape(n * out_h * out_w, self.patch_size)
        if self.bias_kind == "analog":
            rows = with_ones(rows)
        y = self.tile.read(rows, self.bias)
        y = y.reshape(n, out_h * out_w, self.out_channels).transpose(1, 2).reshape(n, self.out_channels, out_h, out_w)
        return y[0] if unbatched else y

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, bias={self.bias_kind}"
        )
