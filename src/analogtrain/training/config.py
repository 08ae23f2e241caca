"""The configuration of a training run, one-to-one with its YAML/JSON file.

A file such as ``examples/digits_shd.yaml``::

    model: {kind: mlp, hidden: [32], activation: sigmoid}
    dataset: {kind: digits}
    algorithm: {algorithm: shd, device_a: {model: soft-bounds, dw_min: 0.01, ...}, ...}
    layers: {fc2: null}          # optional per-layer overrides (null: keep that layer digital)
    lr: 0.1
    epochs: 20
    batch_size: 10
    seed: 0

maps to :class:`TrainingConfig` (``TrainingConfig.from_file(path)``); ``algorithm: null`` (the
default) trains the same model in floating point. Unknown keys, wrong types and out-of-range
values raise :class:`~analogtrain.errors.ConfigError` naming the key path.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Literal

from analogtrain.algorithms.base import AlgorithmConfig
from analogtrain.config import Config, check_choice, check_int, check_positive, check_range
from analogtrain.errors import ConfigError

ACTIVATIONS = ("sigmoid", "tanh", "relu")


@dataclasses.dataclass(frozen=True)
class KindConfig(Config):
    """Base of configs chosen by a ``kind`` key (models, datasets)."""

    kind: ClassVar[str] = "abstract"
    kinds: ClassVar[dict[str, type]] = {}

    def _dict_header(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def _header_keys(cls) -> tuple[str, ...]:
        return ("kind",)

    @classmethod
    def from_dict_polymorphic(cls, data: Any, path: str = ""):
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with a 'kind' key, got {data!r}")
        kind = data.get("kind")
        if kind not in cls.kinds:
            raise ConfigError(f"{path}.kind: must be one of {sorted(cls.kinds)}, got {kind!r}")
        return cls.kinds[kind].from_dict(data, path)


def _check_sizes(name: str, sizes: tuple[int, ...], allow_empty: bool = True) -> None:
    if not isinstance(sizes, tuple) or (not sizes and not allow_empty):
        raise ConfigError(f"{name} must be a {'non-empty ' if not allow_empty else ''}list of integers, got {sizes!r}")
    for i, size in enumerate(sizes):
        check_int(f"{name}[{i}]", size, 1, 2**20)


# -- models --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelConfig(KindConfig):
    """Base of the model configs (``kind``: mlp, cnn, char_lstm)."""

    kinds: ClassVar[dict[str, type]] = {}
    config_name: ClassVar[str] = "model"


@dataclasses.dataclass(frozen=True)
class MLPConfig(ModelConfig):
    """Fully connected network: input → hidden layers (``fc1``, ``fc2``, …) → output.

    Layer names are ``fc1`` … ``fcN`` (the last is the output layer). Input and output sizes come
    from the dataset (digits: 64 → 10, so ``hidden: [32]`` is the 64-32-10 MLP).
    """

    kind = "mlp"
    hidden: tuple[int, ...] = (32,)
    activation: Literal["sigmoid", "tanh", "relu"] = "sigmoid"

    def validate(self) -> None:
        _check_sizes("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)


@dataclasses.dataclass(frozen=True)
class CNNConfig(ModelConfig):
    """Small CNN for 8×8 images: per entry of ``channels`` a conv (``conv1``, …; kernel
    ``kernel_size``, 'same' padding) + activation + 2×2 max-pool while the image is ≥ 2 pixels,
    then fully connected ``fc1`` … (``hidden`` sizes, then the output)."""

    kind = "cnn"
    channels: tuple[int, ...] = (8, 16)
    kernel_size: int = 3
    hidden: tuple[int, ...] = ()
    activation: Literal["sigmoid", "tanh", "relu"] = "relu"

    def validate(self) -> None:
        _check_sizes("channels", self.channels, allow_empty=False)
        check_int("kernel_size", self.kernel_size, 1, 8)
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd (for 'same' padding), got {self.kernel_size}")
        _check_sizes("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)


@dataclasses.dataclass(frozen=True)
class CharLSTMConfig(ModelConfig):
    """Character model: one-hot input → LSTM (``lstm``) → linear decoder (``decoder``) → logits."""

    kind = "char_lstm"
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.0

    def validate(self) -> None:
        check_int("hidden_size", self.hidden_size, 1, 2**16)
        check_int("num_layers", self.num_layers, 1, 64)
        check_range("dropout", self.dropout, 0.0, 1.0, high_inclusive=False)


for _cls in (MLPConfig, CNNConfig, CharLSTMConfig):
    ModelConfig.kinds[_cls.kind] = _cls


# -- datasets ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DatasetConfig(KindConfig):
    """Base of the dataset configs (``kind``: digits, text, regression)."""

    kinds: ClassVar[dict[str, type]] = {}
    config_name: ClassVar[str] = "dataset"
    classification: ClassVar[bool] = True


@dataclasses.dataclass(frozen=True)
class DigitsConfig(DatasetConfig):
    """scikit-learn's 8×8 handwritten digits (1797 images, no download), pixels scaled to [0, 1].

    A stratified split drawn with ``split_seed``: ``test_fraction`` for test, ``val_fraction``
    for validation, the rest for training.
    """

    kind = "digits"
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0

    def validate(self) -> None:
        check_range("val_fraction", self.val_fraction, 0.0, 0.5, low_inclusive=False)
        check_range("test_fraction", self.test_fraction, 0.0, 0.5, low_inclusive=False)
        check_int("split_seed", self.split_seed, 0, 2**32 - 1)


@dataclasses.dataclass(frozen=True)
class TextConfig(DatasetConfig):
    """A plain-text file as a character corpus: contiguous 90/5/5 train/validation/test split,
    vocabulary from the training split (other characters map to one 'unknown' symbol),
    non-overlapping sequences of ``seq_len`` characters predicting the next character.
    ``max_chars`` (optional) uses only the first characters of the file."""

    kind = "text"
    path: str = ""
    seq_len: int = 100
    max_chars: int | None = None
    encoding: str = "utf-8-sig"

    def validate(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise ConfigError("path: the text file's path is required, e.g. path: data/input.txt")
        check_int("seq_len", self.seq_len, 1, 2**20)
        if self.max_chars is not None:
            check_int("max_chars", self.max_chars, 1, 2**40)
        try:
            "a".encode(self.encoding)
        except (LookupError, TypeError):
            raise ConfigError(f"encoding: unknown text encoding {self.encoding!r}") from None


@dataclasses.dataclass(frozen=True)
class RegressionConfig(DatasetConfig):
    """Synthetic regression ``y = W* x + noise·ξ`` with x ~ N(0, I), W* ~ N(0, 1/in) drawn with
    ``data_seed``; loss: mean squared error."""

    kind = "regression"
    classification = False
    in_features: int = 8
    out_features: int = 2
    n_train: int = 1000
    n_val: int = 200
    n_test: int = 200
    noise: float = 0.1
    data_seed: int = 0

    def validate(self) -> None:
        for name in ("in_features", "out_features"):
            check_int(name, getattr(self, name), 1, 2**16)
        for name in ("n_train", "n_val", "n_test"):
            check_int(name, getattr(self, name), 1, 2**26)
        check_range("noise", self.noise, 0.0, 1e6)
        check_int("data_seed", self.data_seed, 0, 2**32 - 1)


for _cls in (DigitsConfig, TextConfig, RegressionConfig):
    DatasetConfig.kinds[_cls.kind] = _cls


# -- the run ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainingConfig(Config):
    """One training run (see module docstring).

    model, dataset: what to train on what. algorithm: algorithm config of every analog layer
    (None: floating point). layers: per-layer overrides by layer name (an algorithm config, or
    None to keep that layer digital). bias: "digital" or "analog" biases of analog layers.
    lr: learning rate (> 0); lr_milestones / lr_gamma: multiply lr by lr_gamma at these epochs.
    grad_clip: clip the gradient 2-norm (digital gradients and the analog layers' Σ δᵀx) to this
    value before every step (None: no clipping).
    epochs, batch_size, seed: as usual; eval_batch_size: batch size of evaluation reads.
    """

    config_name: ClassVar[str] = "config"

    model: ModelConfig = dataclasses.field(default_factory=MLPConfig)
    dataset: DatasetConfig = dataclasses.field(default_factory=DigitsConfig)
    algorithm: AlgorithmConfig | None = None
    layers: dict[str, AlgorithmConfig | None] = dataclasses.field(default_factory=dict)
    bias: Literal["digital", "analog"] = "digital"
    lr: float = 0.1
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    grad_clip: float | None = None
    epochs: int = 10
    batch_size: int = 10
    eval_batch_size: int = 512
    seed: int = 0

    def validate(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(f"model must be a model config, got {self.model!r}")
        if not isinstance(self.dataset, DatasetConfig):
            raise ConfigError(f"dataset must be a dataset config, got {self.dataset!r}")
        if self.algorithm is not None and not isinstance(self.algorithm, AlgorithmConfig):
            raise ConfigError(f"algorithm must be an algorithm config or null, got {self.algorithm!r}")
        check_choice("bias", self.bias, ("digital", "analog"))
        check_positive("lr", self.lr)
        if not isinstance(self.lr_milestones, tuple):
            raise ConfigError(f"lr_milestones must be a list of epochs, got {self.lr_milestones!r}")
        for i, epoch in enumerate(self.lr_milestones):
            check_int(f"lr_milestones[{i}]", epoch, 1, 10**6)
        check_range("lr_gamma", self.lr_gamma, 0.0, 1.0, low_inclusive=False)
        if self.grad_clip is not None:  # clip_grad_norm_'s max_norm: a finite number > 0
            check_range("grad_clip", self.grad_clip, 0.0, math.inf, low_inclusive=False)
        check_int("epochs", self.epochs, 1, 10**6)
        check_int("batch_size", self.batch_size, 1, 2**20)
        check_int("eval_batch_size", self.eval_batch_size, 1, 2**20)
        check_int("seed", self.seed, 0, 2**32 - 1)
        self._check_compatible()
        self._check_layers()

    def _check_compatible(self) -> None:
        text = isinstance(self.dataset, TextConfig)
        if isinstance(self.model, CharLSTMConfig) != text:
            raise ConfigError(
                f"model.kind: {self.model.kind!r} cannot train on dataset.kind {self.dataset.kind!r} "
                "(char_lstm needs a text dataset and a text dataset needs char_lstm)"
            )
        if isinstance(self.model, CNNConfig) and not isinstance(self.dataset, DigitsConfig):
            raise ConfigError(f"model.kind: 'cnn' needs image data (dataset.kind 'digits'), got {self.dataset.kind!r}")

    def _check_layers(self) -> None:
        if not isinstance(self.layers, dict):
            raise ConfigError(f"layers must be a mapping of layer name to algorithm config, got {self.layers!r}")
        valid = layer_names(self.model)
        for name, value in self.layers.items():
            if name not in valid:
                raise ConfigError(f"layers.{name}: unknown layer; layers of this model: {valid}")
            if value is not None and not isinstance(value, AlgorithmConfig):
                raise ConfigError(f"layers.{name}: expected an algorithm config or null, got {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str = ""):
        if isinstance(data, dict) and isinstance(data.get("layers"), dict):
            prefix = f"{path}." if path else ""
            layers = {
                str(name): None if value is None
                else AlgorithmConfig.from_dict_polymorphic(value, f"{prefix}layers.{name}")
                for name, value in data["layers"].items()
            }
            data = {**data, "layers": layers}
        return super().from_dict(data, path)

    @property
    def is_analog(self) -> bool:
        return self.algorithm is not None or any(v is not None for v in self.layers.values())


def layer_names(model: ModelConfig) -> list[str]:
    """Names of the trainable (convertible) layers of a model config, in order."""
    if isinstance(model, MLPConfig):
        return [f"fc{k + 1}" for k in range(len(model.hidden) + 1)]
    if isinstance(model, CNNConfig):
        return [f"conv{k + 1}" for k in range(len(model.channels))] + [
            f"fc{k + 1}" for k in range(len(model.hidden) + 1)
        ]
    if isinstance(model, CharLSTMConfig):
        return ["lstm", "decoder"]
    return []
