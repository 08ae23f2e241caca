"""Issue 16: reliability (one test per point of the issue, some more)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from analogtrain.config import load_mapping
from analogtrain.crossbar.array import CrossbarArray
from analogtrain.devices.presets import get_device
from analogtrain.errors import ConfigError
from analogtrain.training import checkpoints, loop
from analogtrain.training.config import TrainingConfig
from analogtrain.training.loop import train

SMALL = {"model": {"kind": "mlp", "hidden": [4]}, "dataset": {"kind": "regression", "n_train": 20, "n_val": 10,
                                                               "n_test": 10}, "epochs": 1, "batch_size": 10}


# 1. --overwrite
def test_overwrite_refuses_foreign_directory_and_keeps_previous_run_on_failure(tmp_path, monkeypatch):
    photos = tmp_path / "victim"
    photos.mkdir()
    (photos / "photo.jpg").write_bytes(b"\xff\xd8 precious")
    config = TrainingConfig.from_dict(SMALL)
    with pytest.raises(ConfigError, match="not an analogtrain output directory"):
        train(config, photos, overwrite=True, progress=False)
    assert (photos / "photo.jpg").read_bytes() == b"\xff\xd8 precious"

    prior = tmp_path / "prior"
    train(config, prior, progress=False)
    before = {p.name: p.read_bytes() for p in prior.iterdir()}

    def broken(self, splits=("val", "test")):
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(loop.Trainer, "evaluate_all", broken)
    with pytest.raises(RuntimeError):
        train(config, prior, overwrite=True, progress=False)
    assert {p.name: p.read_bytes() for p in prior.iterdir()} == before  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prior", "victim"]  # no temporary left
    monkeypatch.undo()
    train(config.replace(seed=1), prior, overwrite=True, progress=False)
    assert (prior / "summary.json").is_file() and '"seed": 1' in (prior / "config.json").read_text()


# 2. sizes
def test_oversized_arrays_and_models_are_refused_with_an_estimate(monkeypatch):
    with pytest.raises(ConfigError, match=r"would need about .*GiB"):
        CrossbarArray(100000, 100000, get_device("soft-bounds"))
    with pytest.raises(ConfigError, match="would need about"):
        loop.check_config({"model": {"kind": "mlp", "hidden": [1000000, 1000000]}})
    with pytest.raises(ConfigError, match="would need about"):
        loop.check_config({"dataset": {"kind": "regression", "in_features": 65536, "out_features": 65536}})
    monkeypatch.setenv("ANALOGTRAIN_MAX_BYTES", "1000")
    with pytest.raises(ConfigError, match="ANALOGTRAIN_MAX_BYTES"):
        CrossbarArray(100, 100, get_device("soft-bounds"))


# 3. float32 range
def test_values_outside_float32_and_tiny_dw_min_are_refused():
    with pytest.raises(ConfigError, match="lr.*float32"):
        TrainingConfig.from_dict({"lr": 1e39})
    with pytest.raises(ConfigError, match="w_max"):
        get_device("soft-bounds", w_max=1e39)
    with pytest.raises(ConfigError, match="dw_min_dtod"):
        get_device("soft-bounds", dw_min_dtod=1e300)
    with pytest.raises(ConfigError, match="dw_min_dtod"):
        get_device("soft-bounds", dw_min_dtod=100.0)
    with pytest.raises(ConfigError, match="dw_min.*float32 resolution"):
        get_device("soft-bounds", dw_min=1e-9)
    get_device("soft-bounds", dw_min=1e-6)


# 4. clear messages
def test_binary_config_and_bad_checkpoints_get_clear_messages(tmp_path):
    garbage = tmp_path / "run.yaml"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match="run.yaml.*not a text"):
        load_mapping(garbage)
    for content in (b"", b"PK\x03\x04 truncated", None):
        path = tmp_path / "checkpoint.pt"
        if content is None:
            torch.save({"something": torch.zeros(2)}, path)  # foreign
        else:
            path.write_bytes(content)
        with pytest.raises(ConfigError) as info:
            checkpoints.load_checkpoint(path)
        assert "is not an analogtrain checkpoint or is corrupt" in str(info.value)
        assert "weights_only" not in str(info.value)


# 5. resume after an interruption in the first evaluation
def test_run_interrupted_in_its_first_evaluation_can_be_resumed(tmp_path, monkeypatch):
    config = TrainingConfig.from_dict(SMALL)
    out = tmp_path / "run"
    original = loop.Trainer.evaluate_all

    def interrupted(self, splits=("val", "test")):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop.Trainer, "evaluate_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(config, out, progress=False)
    monkeypatch.setattr(loop.Trainer, "evaluate_all", original)
    summary = train(config, out, resume=True, progress=False)
    reference = train(config, tmp_path / "reference", progress=False)
    assert summary["final"] == reference["final"]


# 6. duplicate keys
def test_duplicate_yaml_keys_are_an_error_naming_the_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.1\nepochs: 2\nlr: 0.5\n")
    with pytest.raises(ConfigError, match="duplicate key 'lr'"):
        TrainingConfig.from_file(path)
    nested = tmp_path / "n.yaml"
    nested.write_text("model: {kind: mlp, hidden: [4], hidden: [8]}\n")
    with pytest.raises(ConfigError, match="duplicate key 'hidden'"):
        TrainingConfig.from_file(nested)


# 7. API
def test_numpy_scalars_dtype_zero_d_and_max_norm():
    config = TrainingConfig.from_dict({"lr": np.float64(0.05), "epochs": np.int64(2), "batch_size": np.int32(5)})
    assert config.lr == 0.05 and config.epochs == 2 and type(config.epochs) is int
    get_device("soft-bounds", dw_min=np.float64(0.01))
    with pytest.raises(ConfigError, match="dtype"):
        CrossbarArray(3, 4, get_device("soft-bounds"), dtype=torch.int64)
    array = CrossbarArray(3, 4, get_device("soft-bounds"))
    with pytest.raises(ConfigError):
        array.forward(torch.tensor(1.0))
    with pytest.raises(ConfigError):
        array.backward(torch.tensor(1.0))
    from analogtrain.nn.optimizer import AnalogSGD

    optimizer = AnalogSGD(torch.nn.Linear(2, 2), lr=0.1)
    for bad in (0.0, -1.0):
        with pytest.raises(ConfigError, match="max_norm"):
            optimizer.clip_grad_norm_(bad)
    with pytest.raises(ConfigError, match="grad_clip"):
        TrainingConfig.from_dict({"grad_clip": 0.0})


# 8. fsync
def test_checkpoints_and_json_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    checkpoints.save_checkpoint(tmp_path, {"x": torch.zeros(2)})
    assert events == ["fsync", "replace", "fsync"]  # the file, the rename, the directory
    events.clear()
    from analogtrain.jsonio import write_json

    write_json(tmp_path / "a.json", {"a": 1})
    assert events == ["fsync", "replace", "fsync"]


def test_sweep_bad_device_and_fig3_tiny_data_fail_before_writing(tmp_path):
    from click.testing import CliRunner

    from analogtrain.cli.main import cli

    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text("name: s\nbase: {epochs: 1}\ngrid: {lr: [0.1]}\n")
    for device in ("tpu",) + (() if torch.cuda.is_available() else ("cuda",)):
        result = CliRunner().invoke(cli, ["sweep", str(sweep_file), "--out", str(tmp_path / "o"), "--device", device])
        assert result.exit_code == 2 and "--device" in result.output
        assert not (tmp_path / "o").exists()
    for text in ("", "tiny text"):
        data = tmp_path / "wp.txt"
        data.write_text(text)
        result = CliRunner().invoke(cli, ["reproduce", "fig3", "--data", str(data), "--out", str(tmp_path / "f")])
        assert result.exit_code == 2, result.output
        assert not (tmp_path / "f").exists()
