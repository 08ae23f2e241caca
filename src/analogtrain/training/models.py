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
    DigitsConfig,
    MLPConfig,
    RegressionConfig,
    TrainingConfig,
    layer_names,
)
from analogtrain.memory import array_bytes, check_allocation
from analogtrain.nn.conversion import convert

#: Device parameters per crosspoint assumed by :func:`memory_estimate` (the most of any model).
DEVICE_PARAMETERS = 8
#: Vocabulary assumed for a text dataset before it is read (one byte per character).
TEXT_VOCABULARY = 256
#: Copies of a digital parameter: the value, its gradient and working memory.
DIGITAL_COPIES = 3


def _weight_shapes(config: TrainingConfig, in_features: int, out_features: int) -> dict[str, tuple[int, int]]:
    """(out, in) of every trainable layer's weight matrix (a conv: out channels × in·k²)."""
    model = config.model
    if isinstance(model, MLPConfig):
        sizes = [in_features, *model.hidden, out_features]
        return {f"fc{k + 1}": (sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)}
    if isinstance(model, CNNConfig):
        shapes: dict[str, tuple[int, int]] = {}
        channels, side = 1, 8
        for k, out in enumerate(model.channels):
            shapes[f"conv{k + 1}"] = (out, channels * model.kernel_size**2)
            channels = out
            side = side // 2 if side >= 2 else side
        sizes = [channels * side * side, *model.hidden, out_features]
        shapes.update({f"fc{k + 1}": (sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)})
        return shapes
    if isinstance(model, CharLSTMConfig):
        h = model.hidden_size
        rows, cols = 4 * h, in_features + h
        # the LSTM's layers as one matrix of the same size: 4h × (in + h), then 4h × 2h per layer
        total = rows * cols + (model.num_layers - 1) * rows * 2 * h
        return {"lstm": (total // cols, cols), "decoder": (out_features, h)}
    return {}


def memory_estimate(config: TrainingConfig, in_features: int | None = None,
                    out_features: int | None = None) -> list[tuple[str, int]]:
    """Estimated bytes of what a run allocates, as (what, bytes): the dataset (regression) and
    every layer (analog: ``out·in·(1 + device parameters + working copies)·4·arrays_per_weight``;
    digital: ``out·in·DIGITAL_COPIES·4``). Sizes not given come from the dataset config."""
    from analogtrain.algorithms.base import _REGISTRY as ALGORITHMS

    dataset = config.dataset
    parts: list[tuple[str, int]] = []
    if isinstance(dataset, DigitsConfig):
        in_features, out_features = in_features or 64, out_features or 10
    elif isinstance(dataset, RegressionConfig):
        in_features, out_features = in_features or dataset.in_features, out_features or dataset.out_features
        rows = dataset.n_train + dataset.n_val + dataset.n_test
        parts.append((f"the regression data ({rows} × {dataset.in_features} + {dataset.out_features})",
                      4 * (rows * (dataset.in_features + dataset.out_features)
                           + 2 * dataset.in_features * dataset.out_features)))
    else:
        in_features = in_features or TEXT_VOCABULARY
        out_features = out_features or in_features
    for name, (rows, cols) in _weight_shapes(config, in_features, out_features).items():
        algorithm = config.layers.get(name, config.algorithm) if name in config.layers else config.algorithm
        if algorithm is None:
            parts.append((f"layer {name} ({rows}×{cols}, digital)", rows * cols * DIGITAL_COPIES * 4))
        else:
            arrays = max(1, getattr(ALGORITHMS.get(algorithm.algorithm, (None, None))[1], "arrays_per_weight", 1) or 1)
            parts.append((f"layer {name} ({rows}×{cols}, {arrays} array(s) of {algorithm.algorithm})",
                          array_bytes(rows, cols, DEVICE_PARAMETERS, 4, arrays)))
    return parts


def check_memory(config: TrainingConfig, torch_device=None, in_features: int | None = None,
                 out_features: int | None = None) -> None:
    """ConfigError (stating the estimate) if the run would need more memory than is available;
    called before the dataset or the model is allocated."""
    parts = memory_estimate(config, in_features, out_features)
    total = sum(size for _, size in parts)
    largest = max(parts, key=lambda part: part[1])[0] if parts else "the run"
    check_allocation(f"this run (largest: {largest})", total, torch_device)


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
    check_memory(config, torch_device, data.in_features, data.out_features)
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
