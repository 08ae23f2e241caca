"""The analysis scripts of ``benchmarks/`` run on a small finished run (smoke) and compute what
they say they compute."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from analogtrain.training.loop import train
from analogtrain.training.config import TrainingConfig

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shd_text_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("shd_run")
    corpus = root / "corpus.txt"
    corpus.write_text("to be or not to be, that is the question. " * 60)
    config = TrainingConfig.from_dict({
        "model": {"kind": "char_lstm", "hidden_size": 6, "num_layers": 2, "dropout": 0.1},
        "dataset": {"kind": "text", "path": str(corpus), "seq_len": 16},
        "algorithm": {"algorithm": "shd"}, "lr": 0.5, "lr_milestones": [1], "lr_gamma": 0.1,
        "epochs": 1, "batch_size": 16, "grad_clip": 1.0,
    })
    train(config, root / "run", progress=False)
    return root / "run"


def test_shd_lr_step_scales_are_proportional_to_the_rate(shd_text_run):
    """On one state with the same pending pairs, k_A and k_C are linear in the learning rate."""
    script = _load("shd_lr_step")
    from analogtrain.training.datasets import load_dataset
    from analogtrain.training.checkpoints import load_checkpoint
    from analogtrain.training.loop import Trainer

    state = load_checkpoint(shd_text_run / "checkpoint.pt")
    config = TrainingConfig.from_dict(state["config"])
    data = load_dataset(config.dataset)
    trainer = Trainer(config, data, shd_text_run.parent / "scratch", torch.device("cpu"), False)
    trainer.restore(state)
    batch = data.train.inputs[:8], data.train.targets[:8]
    loss, _, _ = trainer.loss(trainer.model(batch[0]), batch[1])
    loss.backward()
    tiles = [t for t in script.analog_tiles(trainer.model) if hasattr(t.algorithm, "c_main")]
    assert len(tiles) == 3  # two LSTM layers and the decoder
    for tile in tiles:
        k_a, k_c, bl_a, bl_c = script.scales(tile, 0.5)
        k_a2, k_c2, _, _ = script.scales(tile, 0.05)
        assert len(k_a) == 8 * 16  # one per vector read: every time step of every sequence
        assert len(k_c) == tile.in_features
        torch.testing.assert_close(torch.tensor(k_a2), 0.1 * torch.tensor(k_a), rtol=1e-5, atol=0.0)
        torch.testing.assert_close(torch.tensor(k_c2), 0.1 * torch.tensor(k_c), rtol=1e-5, atol=0.0)
        assert bl_a >= 1 and bl_c >= 1


def test_shd_lr_step_runs_on_a_finished_run(shd_text_run):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "shd_lr_step.py"), str(shd_text_run), "--batches", "2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    sections = re.findall(r"^lr (\S+): mean training loss", result.stdout, flags=re.M)
    assert sections == ["0.5", "0.05"]  # the run's rate and rate × lr_gamma
    assert len(re.findall(r"transfer k median", result.stdout)) == 6


def test_gpu_check_runs_on_cpu_at_a_tiny_size(capsys):
    """``benchmarks/gpu_check.py --device cpu --tiny`` prints one table with every benchmark's rows,
    each with a finite positive ratio; ``--device cuda`` without a GPU is refused (exit 2)."""
    script = _load("gpu_check")
    assert script.main(["--device", "cpu", "--tiny"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| update_step") or line.startswith("| network_step")]
    assert sum(line.startswith("| update_step") for line in rows) == 2 * 2 * 1  # 2 settings × 2 batches × 1 size
    assert sum(line.startswith("| network_step") for line in rows) == 2 * 2 * 2  # io × networks × algorithms
    ratios = [float(line.rsplit("|", 2)[-2].strip().rstrip("×")) for line in rows]
    assert all(0 < r < 1e4 for r in ratios)
    if not torch.cuda.is_available():
        assert script.main(["--device", "cuda"]) == 2
