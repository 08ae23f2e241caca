"""The built-in datasets of the training command, as in-memory tensors split three ways.

* ``digits``: scikit-learn's 8×8 handwritten digits (ships with scikit-learn, no download);
  pixels / 16 in [0, 1]; stratified train/validation/test split drawn with ``split_seed``.
* ``text``: any plain-text file as a character corpus; contiguous 90/5/5 split; vocabulary from
  the training split plus one 'unknown' symbol for characters seen only in val/test; inputs are
  non-overlapping windows of ``seq_len`` characters, targets the same windows shifted by one.
* ``regression``: ``y = W* x + noise·ξ`` with x ~ N(0, I) and W* ~ N(0, 1/in).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from analogtrain.errors import ConfigError
from analogtrain.training.config import (
    DatasetConfig,
    DigitsConfig,
    RegressionConfig,
    TextConfig,
)

TEXT_SPLIT = (0.90, 0.05, 0.05)
UNKNOWN = "\ufffd"


@dataclasses.dataclass
class Split:
    """Inputs and targets of one split (first axis: examples)."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


@dataclasses.dataclass
class Dataset:
    """Train/validation/test splits and what a model needs to know about them."""

    train: Split
    val: Split
    test: Split
    in_features: int  # features per example (digits, regression) or vocabulary size (text)
    out_features: int  # classes, regression outputs, or vocabulary size
    classification: bool
    image_shape: tuple[int, int, int] | None = None  # (channels, height, width) for image data
    vocabulary: str | None = None

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def load_dataset(config: DatasetConfig) -> Dataset:
    """Build the dataset described by ``config`` (ConfigError for a missing or unusable file)."""
    if isinstance(config, DigitsConfig):
        return _digits(config)
    if isinstance(config, TextConfig):
        return _text(config)
    if isinstance(config, RegressionConfig):
        return _regression(config)
    raise ConfigError(f"dataset: unsupported dataset config {config!r}")


def digits_arrays():
    """(pixels (1797, 64), labels (1797,)) of scikit-learn's digits as numpy arrays.

    Reads the data file that ships inside scikit-learn directly (what ``load_digits`` reads),
    which spares the seconds of importing scikit-learn; falls back to ``load_digits``.
    """
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            if table.shape == (1797, 65):
                return table[:, :64], table[:, 64].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data, data.target


def _digits(config: DigitsConfig) -> Dataset:
    pixels, labels = digits_arrays()
    x = torch.tensor(pixels, dtype=torch.float32) / 16.0
    y = torch.tensor(labels, dtype=torch.long)
    generator = torch.Generator().manual_seed(config.split_seed)
    parts: dict[str, list[torch.Tensor]] = {"train": [], "val": [], "test": []}
    for label in range(10):  # stratified: the same fractions of every class
        index = torch.nonzero(y == label).squeeze(1)
        index = index[torch.randperm(len(index), generator=generator)]
        n_test = round(config.test_fraction * len(index))
        n_val = round(config.val_fraction * len(index))
        parts["test"].append(index[:n_test])
        parts["val"].append(index[n_test : n_test + n_val])
        parts["train"].append(index[n_test + n_val :])
    splits = {}
    for name, chunks in parts.items():
        index = torch.cat(chunks)
        index = index[torch.randperm(len(index), generator=generator)]
        splits[name] = Split(x[index], y[index])
    return Dataset(splits["train"], splits["val"], splits["test"], 64, 10, True, image_shape=(1, 8, 8))


def read_text(config: TextConfig) -> str:
    """The corpus text (ConfigError for a missing, unreadable or empty file)."""
    path = Path(config.path).expanduser()
    if not path.exists():
        raise ConfigError(f"dataset.path: text file {str(path)!r} does not exist")
    if not path.is_file():
        raise ConfigError(f"dataset.path: {str(path)!r} is not a file")
    try:
        with path.open("r", encoding=config.encoding, errors="strict", newline="") as handle:
            text = handle.read(config.max_chars) if config.max_chars is not None else handle.read()
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"dataset.encoding: {str(path)!r} is not valid {config.encoding} text ({error.reason} at byte "
            f"{error.start}); set dataset.encoding, e.g. iso-8859-1"
        ) from None
    except OSError as error:
        raise ConfigError(f"dataset.path: cannot read {str(path)!r}: {error.strerror}") from None
    if not text:
        raise ConfigError(f"dataset.path: text file {str(path)!r} is empty")
    return text


def _text(config: TextConfig) -> Dataset:
    text = read_text(config)
    n = len(text)
    n_train = int(n * TEXT_SPLIT[0])
    n_val = int(n * TEXT_SPLIT[1])
    pieces = {"train": text[:n_train], "val": text[n_train : n_train + n_val], "test": text[n_train + n_val :]}
    need = config.seq_len + 1
    for name, piece in pieces.items():
        if len(piece) < need:
            raise ConfigError(
                f"dataset.path: text file {config.path!r} is too short: its {name} split has {len(piece)} "
                f"characters, one sequence needs seq_len + 1 = {need}; the file needs at least "
                f"{_minimum_length(need)} characters (it has {n}) or a smaller dataset.seq_len"
            )
    vocabulary = "".join(sorted(set(pieces["train"])))
    unknown = len(vocabulary)
    vocabulary += UNKNOWN
    lookup = {ch: i for i, ch in enumerate(vocabulary[:-1])}
    splits = {}
    for name, piece in pieces.items():
        codes = torch.tensor([lookup.get(ch, unknown) for ch in piece], dtype=torch.long)
        count = (len(codes) - 1) // config.seq_len
        inputs = codes[: count * config.seq_len].reshape(count, config.seq_len)
        targets = codes[1 : count * config.seq_len + 1].reshape(count, config.seq_len)
        splits[name] = Split(inputs, targets)
    size = len(vocabulary)
    return Dataset(splits["train"], splits["val"], splits["test"], size, size, True, vocabulary=vocabulary)


def _minimum_length(need: int) -> int:
    """Smallest corpus length whose three contiguous splits each hold ``need`` characters."""
    n = need
    while True:
        n_train, n_val = int(n * TEXT_SPLIT[0]), int(n * TEXT_SPLIT[1])
        if min(n_train, n_val, n - n_train - n_val) >= need:
            return n
        n += max(1, need // 20)


def _regression(config: RegressionConfig) -> Dataset:
    generator = torch.Generator().manual_seed(config.data_seed)
    weight = torch.randn(config.out_features, config.in_features, generator=generator) / config.in_features**0.5

    def make(count: int) -> Split:
        x = torch.randn(count, config.in_features, generator=generator)
        y = x @ weight.T + config.noise * torch.randn(count, config.out_features, generator=generator)
        return Split(x, y)

    train, val, test = make(config.n_train), make(config.n_val), make(config.n_test)
    return Dataset(train, val, test, config.in_features, config.out_features, False)
