"""The models of the training command, built in floating point and then made analog.

Every model is an ordinary torch model first (initialised from the run's seed), so the analog
run and its floating-point baseline start from the same weights; :func:`build_model` then
:func:`~analogtrain.nn.convert` s its Linear/Conv2d/LSTM layers with the run's algorithm (and
per-layer overrides).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from analogtrain.training.datasets import Dataset
from analogtrain.training.config import (
    CharLSTMConfig,
    CNNConfig,
    MLPConfig,
    TrainingConfig,
    layer_names,
)
from analogtrain.nn.conversion import convert


def _activation(name: str) -> nn.Module:
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[name]()


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """``sizes[0]`` → … → ``sizes[-1]`` with layers ``fc1``…; activation between layers."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for k in range(len(sizes) - 1):
        layers[f"fc{k + 1}"] = nn.Linear(sizes[k], sizes[k + 1])
        if k < len(sizes) - 2:
            layers[f"act{k + 1}"] = _activation(activation)
    return nn.Sequential(layers)


def cnn(config: CNNConfig, image_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    channels, height, width = image_shape
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["image"] = nn.Unflatten(1, image_shape)  # flat pixels -> (channels, height, width)
    for k, out in enumerate(config.channels):
        layers[f"conv{k + 1}"] = nn.Conv2d(channels, out, config.kernel_size, padding=config.kernel_size // 2)
        layers[f"cact{k + 1}"] = _activation(config.activation)
        if min(height, width) >= 2:
            layers[f"pool{k + 1}"] = nn.MaxPool2d(2)
            height, width = height // 2, width // 2
        channels = out
    layers["flatten"] = nn.Flatten()
    sizes = [channels * height * width, *config.hidden, classes]
    for k in range(len(sizes) - 1):
        layers[f"fc{k + 1}"] = nn.Linear(sizes[k], sizes[k + 1])
        if k < len(sizes) - 2:
            layers[f"act{k + 1}"] = _activation(config.activation)
    return nn.Sequential(layers)


class CharLSTM(nn.Module):
    """One-hot characters (batch, time) → LSTM (batch first) → linear decoder → logits (batch, time, vocab)."""

    def __init__(self, vocabulary: int, config: CharLSTMConfig) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        self.lstm = nn.LSTM(vocabulary, config.hidden_size, num_layers=config.num_layers,
                            dropout=config.dropout if config.num_layers > 1 else 0.0, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.decoder = nn.Linear(config.hidden_size, vocabulary)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        x = nn.functional.one_hot(codes, self.vocabulary).to(torch.float32)
        out, _ = self.lstm(x)
        return self.decoder(self.dropout(out))


def build_torch_model(config: TrainingConfig, data: Dataset) -> nn.Module:
    """The floating-point model (initialised from the global torch generator)."""
    model = config.model
    if isinstance(model, MLPConfig):
        return mlp([data.in_features, *model.hidden, data.out_features], model.activation)
    if isinstance(model, CNNConfig):
        return cnn(model, data.image_shape, data.out_features)
    return CharLSTM(data.in_features, model)


def build_model(config: TrainingConfig, data: Dataset, torch_device: torch.device) -> nn.Module:
    """The run's model: floating point, then converted (seeded from ``config.seed``; the global
    torch generator is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_torch_model(config, data)
    if not config.is_analog:
        return model.to(torch_device)
    names = layer_names(config.model)
    overrides = {name: config.layers.get(name, config.algorithm) for name in names}
    keep = [name for name, value in overrides.items() if value is None]
    analog = {name: value for name, value in overrides.items() if value is not None}
    # the default for layers not listed is `config.algorithm`; a layer mapped to None stays digital
    default = config.algorithm if config.algorithm is not None else next(iter(analog.values()))
    return convert(model, default, overrides={**analog, **{name: None for name in keep}}, bias=config.bias,
                   seed=config.seed, torch_device=torch_device)
