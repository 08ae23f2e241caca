"""Datasets, models and outputs of the training command."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from torch import nn

from analogtrain.training.datasets import UNKNOWN, digits_arrays, load_dataset
from analogtrain.training.models import build_model
from analogtrain.training.loop import train
from analogtrain.training.config import DigitsConfig, RegressionConfig, TextConfig, TrainingConfig
from analogtrain.nn import AnalogConv2d, AnalogLinear, AnalogLSTM


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one intra-op thread is faster, and immune to oversubscribed CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_digits_file_matches_scikit_learn_and_split_is_stratified():
    from sklearn.datasets import load_digits

    pixels, labels = digits_arrays()
    reference = load_digits()
    assert np.array_equal(pixels, reference.data) and np.array_equal(labels, reference.target)
    data = load_dataset(DigitsConfig(val_fraction=0.1, test_fraction=0.2, split_seed=0))
    sizes = [len(data.train), len(data.val), len(data.test)]
    assert sum(sizes) == 1797 and sizes[2] == pytest.approx(0.2 * 1797, abs=10)
    counts = torch.bincount(data.test.targets, minlength=10).float()
    assert counts.min() >= 0.2 * 174 and counts.max() <= 0.2 * 191 + 1  # every class ~20 %
    assert 0.0 <= float(data.train.inputs.min()) and float(data.train.inputs.max()) <= 1.0
    all_rows = torch.cat([data.train.inputs, data.val.inputs, data.test.inputs])
    assert torch.unique(all_rows, dim=0).shape[0] == torch.unique(torch.tensor(pixels), dim=0).shape[0]


def test_text_split_is_contiguous_with_training_vocabulary(tmp_path):
    text = "abcdefghij" * 18 + "XYZ" * 4  # 192 characters; X, Y, Z only after the training split
    path = tmp_path / "t.txt"
    path.write_text(text)
    data = load_dataset(TextConfig(path=str(path), seq_len=4))
    n_train, n_val = int(len(text) * 0.9), int(len(text) * 0.05)
    assert data.vocabulary == "abcdefghij" + UNKNOWN
    decode = lambda codes: "".join(data.vocabulary[i] for i in codes.reshape(-1).tolist())  # noqa: E731
    assert decode(data.train.inputs) == text[: len(data.train.inputs.reshape(-1))]
    assert decode(data.train.targets) == text[1 : 1 + len(data.train.targets.reshape(-1))]
    val_text = text[n_train : n_train + n_val]
    assert decode(data.val.inputs) == val_text[: len(data.val.inputs.reshape(-1))]
    test_text = text[n_train + n_val :].replace("X", UNKNOWN).replace("Y", UNKNOWN).replace("Z", UNKNOWN)
    assert decode(data.test.inputs) == test_text[: len(data.test.inputs.reshape(-1))]


def test_regression_is_reproducible():
    a = load_dataset(RegressionConfig(data_seed=3))
    b = load_dataset(RegressionConfig(data_seed=3))
    assert torch.equal(a.train.inputs, b.train.inputs) and torch.equal(a.test.targets, b.test.targets)
    assert not a.classification and a.train.targets.shape == (1000, 2)


def test_layer_overrides_and_analog_bias():
    config = TrainingConfig.from_dict({
        "model": {"kind": "cnn", "channels": [2, 3], "hidden": [5]},
        "algorithm": {"algorithm": "sgd"},
        "layers": {"conv1": {"algorithm": "shd"}, "fc2": None},
        "bias": "analog",
    })
    model = build_model(config, load_dataset(config.dataset), torch.device("cpu"))
    assert isinstance(model.conv1, AnalogConv2d) and model.conv1.tile.algorithm.name == "shd"
    assert isinstance(model.conv2, AnalogConv2d) and model.conv2.tile.algorithm.name == "sgd"
    assert isinstance(model.fc1, AnalogLinear) and model.fc1.bias_kind == "analog"
    assert type(model.fc2) is nn.Linear
    # the config round-trips through its plain dict (JSON/YAML) form
    assert TrainingConfig.from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize(
    "model, dataset, algorithm",
    [
        ({"kind": "cnn", "channels": [3], "hidden": []}, {"kind": "digits"}, {"algorithm": "tiki-taka"}),
        ({"kind": "char_lstm", "hidden_size": 6, "num_layers": 2, "dropout": 0.1}, "text", {"algorithm": "shd"}),
        ({"kind": "mlp", "hidden": [8], "activation": "tanh"}, {"kind": "regression", "n_train": 200},
         {"algorithm": "sgd"}),
    ],
)
def test_every_model_trains_and_writes_its_outputs(tmp_path, model, dataset, algorithm):
    if dataset == "text":
        path = tmp_path / "corpus.txt"
        path.write_text("to be or not to be, that is the question. " * 60)
        dataset = {"kind": "text", "path": str(path), "seq_len": 16}
    config = TrainingConfig.from_dict({"model": model, "dataset": dataset, "algorithm": algorithm,
                                       "lr": 0.2, "epochs": 2, "batch_size": 32, "grad_clip": 1.0})
    out = tmp_path / "run"
    summary = train(config, out, progress=False)
    assert summary["status"] == "finished" and summary["epochs_completed"] == 2
    assert summary["analog_layers"] and all(
        layer["operations"]["serial_operations"] == 0 for layer in summary["analog_layers"].values()
    )
    # Every layer reports how its arrays' pulse updates were counted (the auto rule's choices).
    written = json.loads((out / "summary.json").read_text())
    strategies = {"trains-listed", "trains-products", "moments", "columns"}
    for layer in written["analog_layers"].values():
        used = {name for counts in layer["update_strategies"].values() for name in counts}
        assert used and used <= strategies, layer["update_strategies"]
        assert sum(layer["operations"]["strategies"].values()) == sum(
            sum(counts.values()) for counts in layer["update_strategies"].values())
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "split", "loss", "accuracy", "lr", "wall_time_s"]
    assert [(r["epoch"], r["split"]) for r in rows] == [
        (str(e), s) for e in range(3) for s in ("train", "val", "test")
    ]  # epoch 0: evaluations before training
    classification = dataset["kind"] != "regression"
    assert all((r["accuracy"] != "") == classification for r in rows)
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    assert (out / "learning_curve.png").stat().st_size > 1000
    if model["kind"] == "char_lstm":
        from analogtrain.training.checkpoints import load_checkpoint

        state = load_checkpoint(out / "checkpoint.pt")
        assert any(key.startswith("lstm.layers.1.tile") for key in state["model"])


def test_char_lstm_layers_are_analog(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("abc " * 200)
    config = TrainingConfig.from_dict({"model": {"kind": "char_lstm", "hidden_size": 4},
                                       "dataset": {"kind": "text", "path": str(path), "seq_len": 8},
                                       "algorithm": {"algorithm": "sgd"}})
    model = build_model(config, load_dataset(config.dataset), torch.device("cpu"))
    assert isinstance(model.lstm, AnalogLSTM) and isinstance(model.decoder, AnalogLinear)
    assert model.lstm.layers[0].tile.algorithm.weight.shape == (16, 5 + 4)  # 4·H × (vocab + H)
