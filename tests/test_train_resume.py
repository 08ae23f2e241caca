"""Acceptance 3: a run interrupted (Ctrl-C) and resumed ends bit for bit where the uninterrupted
run ends: same final weights (every array's conductances) and the same metrics (wall time aside).

Ctrl-C is real: the test sends SIGINT to its own process from the per-batch hook, the trainer
finishes that batch, writes checkpoint.pt and raises TrainingInterrupted.
"""

from __future__ import annotations

import os
import random
import signal

import pytest
import torch

from analogtrain.errors import ConfigError
from analogtrain.training import loop as training
from analogtrain.training.checkpoints import CHECKPOINT, load_checkpoint
from analogtrain.training.loop import TrainingInterrupted, train
from analogtrain.training.config import TrainingConfig
from analogtrain.training.report import read_metrics


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one intra-op thread is faster, and immune to oversubscribed CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


DEVICE = {"model": "soft-bounds", "dw_min": 0.02, "w_max": 1.0, "w_min": -1.0, "dw_min_dtod": 0.3,
          "dw_min_std": 0.3, "w_max_dtod": 0.2, "w_min_dtod": 0.2, "up_down_dtod": 0.05}
DIGITS_SHD = {
    "model": {"kind": "mlp", "hidden": [16]},
    "algorithm": {"algorithm": "shd", "device_a": DEVICE, "device_c": DEVICE, "transfer_every": 3},
    "lr": 1.0, "lr_milestones": [2], "lr_gamma": 0.5, "epochs": 3, "batch_size": 64, "seed": 4,
}


def _text_file(tmp_path):
    rng = random.Random(0)
    words = ["the", "analog", "array", "pulse", "device", "weight", "learns", "slowly", "and", "fast"]
    text = " ".join(rng.choice(words) for _ in range(700)) + "\n"
    path = tmp_path / "corpus.txt"
    path.write_text(text)
    return path


def _lstm_config(tmp_path):
    return {
        "model": {"kind": "char_lstm", "hidden_size": 8, "num_layers": 2, "dropout": 0.2},
        "dataset": {"kind": "text", "path": str(_text_file(tmp_path)), "seq_len": 20},
        "algorithm": {"algorithm": "sgd", "device": DEVICE},
        "lr": 0.5, "epochs": 2, "batch_size": 16, "seed": 1,
    }


def _interrupt_at(monkeypatch, epoch: int, batch: int):
    def hook(e, b):
        if (e, b) == (epoch, batch):
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(training, "_after_batch", hook)


def _final_state(out):
    return load_checkpoint(out / CHECKPOINT)["model"]


def _assert_same_run(a, b):
    state_a, state_b = _final_state(a), _final_state(b)
    assert state_a.keys() == state_b.keys()
    for key, value in state_a.items():
        other = state_b[key]
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, other), key
        else:  # analog tile extra state: nested dicts of tensors and numbers
            _assert_nested_equal(value, other, key)
    rows_a = [{k: v for k, v in r.items() if k != "wall_time_s"} for r in read_metrics(a / "metrics.csv")]
    rows_b = [{k: v for k, v in r.items() if k != "wall_time_s"} for r in read_metrics(b / "metrics.csv")]
    assert rows_a == rows_b


def _assert_nested_equal(a, b, path):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_nested_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_nested_equal(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.parametrize("where", ["mid-epoch", "epoch-end"])
def test_interrupted_and_resumed_digits_shd_is_bit_identical(tmp_path, monkeypatch, where):
    config = TrainingConfig.from_dict(DIGITS_SHD)
    full = tmp_path / "full"
    train(config, full, progress=False)
    # digits train split: 1259 examples, batch 64 -> 20 batches per epoch
    epoch, batch = (1, 7) if where == "mid-epoch" else (0, 20)
    _interrupt_at(monkeypatch, epoch, batch)
    part = tmp_path / "part"
    with pytest.raises(TrainingInterrupted) as stop:
        train(config, part, progress=False)
    assert stop.value.checkpoint == part / CHECKPOINT
    state = load_checkpoint(part / CHECKPOINT)
    assert (state["epoch"], state["batch"]) == ((1, 7) if where == "mid-epoch" else (1, 0))
    monkeypatch.setattr(training, "_after_batch", lambda e, b: None)
    summary = train(config, part, resume=True, progress=False)
    assert summary["status"] == "finished" and summary["epochs_completed"] == 3
    _assert_same_run(full, part)


def test_interrupted_and_resumed_char_lstm_with_dropout_is_bit_identical(tmp_path, monkeypatch):
    """The global generator (dropout) and the data order resume exactly too."""
    config = TrainingConfig.from_dict(_lstm_config(tmp_path))
    full = tmp_path / "full"
    train(config, full, progress=False)
    _interrupt_at(monkeypatch, 0, 3)
    part = tmp_path / "part"
    with pytest.raises(TrainingInterrupted):
        train(config, part, progress=False)
    monkeypatch.setattr(training, "_after_batch", lambda e, b: None)
    train(config, part, resume=True, progress=False)
    _assert_same_run(full, part)


def test_resume_with_a_different_config_says_what_differs(tmp_path):
    config = TrainingConfig.from_dict({**DIGITS_SHD, "epochs": 1, "model": {"kind": "mlp", "hidden": [4]}})
    out = tmp_path / "run"
    train(config, out, progress=False)
    changed = config.replace(lr=0.5)
    with pytest.raises(ConfigError, match=r"different config.*lr: 1\.0 != 0\.5"):
        train(changed, out, resume=True, progress=False)
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(config, tmp_path / "elsewhere", resume=True, progress=False)


def test_train_leaves_the_callers_generator_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(TrainingConfig.from_dict({**DIGITS_SHD, "epochs": 1, "algorithm": None}), tmp_path / "r", progress=False)
    assert torch.equal(torch.rand(3), expected)
