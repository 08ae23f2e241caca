"""Acceptance 5: bad input gets a clear error naming the key (before any work), and the
``analogtrain train`` command exits non-zero with one ``Error:`` line and no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from analogtrain.cli.main import cli
from analogtrain.errors import ConfigError
from analogtrain.training.loop import train
from analogtrain.training.config import TrainingConfig

REPO = Path(__file__).resolve().parents[1]
SMALL = {"model": {"kind": "mlp", "hidden": [4]}, "epochs": 1, "batch_size": 64}


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one intra-op thread is faster, and immune to oversubscribed CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "data, words",
    [
        ({"lrr": 0.1}, ["lrr", "unknown key"]),
        ({"algorithm": {"algorithm": "shd", "device_a": {"model": "soft-bounds", "foo": 1}}},
         ["algorithm.device_a.foo", "unknown key"]),
        ({"epochs": "ten"}, ["epochs", "integer"]),
        ({"model": {"kind": "mlp", "hidden": "32"}}, ["model.hidden", "list"]),
        ({"lr": -1}, ["lr", "(0.0, inf]"]),
        ({"algorithm": {"algorithm": "sgd", "device": {"model": "soft-bounds", "dw_min": -0.1}}},
         ["algorithm.device", "dw_min", "(0.0, inf]"]),
        ({"algorithm": {"algorithm": "sgd", "update": {"bl": 0}}}, ["algorithm.update", "bl", "[1, 4096]"]),
        ({"dataset": {"kind": "digits", "val_fraction": 0.9}}, ["dataset", "val_fraction", "(0.0, 0.5]"]),
        ({"model": {"kind": "transformer"}}, ["model.kind", "mlp"]),
        ({"algorithm": {"algorithm": "adam"}}, ["algorithm.algorithm", "shd"]),
        ({"layers": {"fc9": None}}, ["layers.fc9", "fc1"]),
        ({"model": {"kind": "char_lstm"}}, ["char_lstm", "text"]),
    ],
)
def test_bad_config_names_the_key(data, words):
    with pytest.raises(ConfigError) as error:
        TrainingConfig.from_dict(data)
    for word in words:
        assert word in str(error.value), (word, str(error.value))


def _text_config(path, seq_len=20):
    return TrainingConfig.from_dict({"model": {"kind": "char_lstm", "hidden_size": 4, "num_layers": 1},
                                     "dataset": {"kind": "text", "path": str(path), "seq_len": seq_len},
                                     "epochs": 1})


def test_text_file_missing_empty_or_too_short(tmp_path):
    with pytest.raises(ConfigError, match="dataset.path: text file .* does not exist"):
        train(_text_config(tmp_path / "nope.txt"), tmp_path / "a", progress=False)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        train(_text_config(empty), tmp_path / "b", progress=False)
    short = tmp_path / "short.txt"
    short.write_text("x" * 300)  # the 5 % splits hold 15 characters; one sequence needs 21
    with pytest.raises(ConfigError, match=r"too short: its val split has 15 characters.*seq_len \+ 1 = 21"):
        train(_text_config(short), tmp_path / "c", progress=False)
    assert not any((tmp_path / name).exists() for name in "abc")  # nothing written


def test_existing_output_directory_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    config = TrainingConfig.from_dict(SMALL)
    with pytest.raises(ConfigError, match="already exists.*--overwrite"):
        train(config, out, progress=False)
    assert (out / "keep.txt").read_text() == "precious"
    # issue 16: --overwrite replaces only an analogtrain output directory, never a foreign one
    with pytest.raises(ConfigError, match="not an analogtrain output directory"):
        train(config, out, overwrite=True, progress=False)
    assert (out / "keep.txt").read_text() == "precious"
    run = tmp_path / "run2"
    train(config, run, progress=False)
    (run / "extra.txt").write_text("old")
    train(config, run, overwrite=True, progress=False)
    assert not (run / "extra.txt").exists() and (run / "summary.json").is_file()


def test_bad_device():
    with pytest.raises(ConfigError, match="--device"):
        train(TrainingConfig.from_dict(SMALL), "/nonexistent/never", device="tpu", progress=False)


# -- the command line ------------------------------------------------------------------------------


def _runner():
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def _invoke(*args):
    return _runner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _assert_clean_error(result, *words):
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in result.output + result.stderr


def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_bad_inputs_exit_nonzero_without_traceback(tmp_path):
    _assert_clean_error(_invoke("train", tmp_path / "missing.yaml", "--out", tmp_path / "o"), "does not exist")
    bad = _write(tmp_path / "bad.yaml", {**SMALL, "lr": "fast"})
    _assert_clean_error(_invoke("train", bad, "--out", tmp_path / "o"), "lr", "expected a number")
    nested = _write(tmp_path / "nested.yaml", {**SMALL, "algorithm": {"algorithm": "sgd", "device": {
        "model": "soft-bounds", "w_max": 0.5, "w_min": 0.6}}})
    _assert_clean_error(_invoke("train", nested, "--out", tmp_path / "o"), "algorithm.device", "w_min")
    text = _write(tmp_path / "text.yaml", {"model": {"kind": "char_lstm"},
                                           "dataset": {"kind": "text", "path": str(tmp_path / "none.txt")}})
    _assert_clean_error(_invoke("train", text, "--out", tmp_path / "o"), "dataset.path", "does not exist")
    assert not (tmp_path / "o").exists()


def test_cli_run_existing_dir_and_resume_errors(tmp_path):
    good = _write(tmp_path / "good.yaml", SMALL)
    out = tmp_path / "run"
    result = _invoke("train", good, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output + result.stderr
    assert "floating-point: 1 epochs" in result.stdout
    for name in ("config.json", "metrics.csv", "learning_curve.png", "checkpoint.pt", "summary.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "config.json").read_text()) == TrainingConfig.from_dict(SMALL).to_dict()
    _assert_clean_error(_invoke("train", good, "--out", out), "already exists", "--overwrite")
    changed = _write(tmp_path / "changed.yaml", {**SMALL, "batch_size": 32})
    _assert_clean_error(_invoke("train", changed, "--out", out, "--resume"), "different config",
                        "batch_size: 64 != 32")
    _assert_clean_error(_invoke("train", good, "--resume"), "--resume needs --out")
    result = _invoke("train", good, "--out", out, "--resume", "--quiet")  # finished run: nothing to do
    assert result.exit_code == 0, result.stderr


def test_ctrl_c_writes_a_checkpoint_and_exits_130(tmp_path):
    """A real SIGINT to the `analogtrain train` process: checkpoint, message, exit status 130."""
    config = _write(tmp_path / "long.yaml", {**SMALL, "epochs": 10_000})
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "analogtrain.cli.main", "train", str(config), "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        deadline = time.time() + 120
        while not (out / "checkpoint.pt").exists():  # wait for the first epoch
            assert process.poll() is None and time.time() < deadline, process.communicate()
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Interrupted: checkpoint written to" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 1 <= summary["epochs_completed"] < 10_000
