"""Progress of long runs: a tqdm bar only on a terminal; plain per-epoch lines otherwise."""

from __future__ import annotations

import io

from analogtrain.training import progress
from analogtrain.training.loop import train

CONFIG = {"model": {"kind": "mlp", "hidden": [8]}, "dataset": {"kind": "regression", "n_train": 200},
          "algorithm": None, "lr": 0.1, "epochs": 2, "batch_size": 20, "seed": 0}


def test_no_bar_off_a_terminal_one_line_per_epoch(tmp_path, capsys):
    """Under pytest's capture stderr is not a terminal: no bar refreshes, one plain line per epoch."""
    assert not progress.is_terminal()
    train(CONFIG, tmp_path / "run", progress=True)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all("train loss" in line and "val loss" in line and "test loss" in line for line in lines)
    assert "\r" not in out + err and "it/s" not in err


def test_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    """With stderr a terminal, the batches show as a bar there (and the epoch lines stay)."""
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    train(CONFIG, tmp_path / "run", progress=True)
    out, err = capsys.readouterr()
    assert "epoch 1/2" in err and "\r" in err  # tqdm redraws its line
    assert [line.split(":")[0] for line in out.splitlines()] == ["epoch 1/2", "epoch 2/2"]


def test_quiet_run_prints_nothing(tmp_path, capsys):
    train(CONFIG, tmp_path / "run", progress=False)
    assert capsys.readouterr() == ("", "")


def test_is_terminal_of_streams():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    closed = io.StringIO()
    closed.close()
    assert progress.is_terminal(Terminal()) and not progress.is_terminal(io.StringIO())
    assert not progress.is_terminal(closed) and not progress.is_terminal(object())
    bar = progress.progress_bar(3, "x", file=io.StringIO())
    assert bar.disable
    bar.close()
