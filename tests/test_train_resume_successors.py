"""A digits run of each successor algorithm, interrupted mid-epoch and resumed, ends bit for bit
where the uninterrupted run ends (digital buffers, choppers, AGAD's means, mixed precision's χ
and the chopper generator travel in the checkpoint)."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from analogtrain.training import loop as training
from analogtrain.training.checkpoints import CHECKPOINT, load_checkpoint
from analogtrain.training.config import TrainingConfig
from analogtrain.training.loop import TrainingInterrupted, train
from analogtrain.training.report import read_metrics

DEVICE = {"model": "soft-bounds", "dw_min": 0.02, "w_max": 1.0, "w_min": -1.0, "dw_min_dtod": 0.3,
          "dw_min_std": 0.3, "w_max_dtod": 0.2, "w_min_dtod": 0.2, "up_down_dtod": 0.05}
TRANSFER = {"device_a": DEVICE, "device_c": DEVICE, "transfer_io": {"out_noise": 0.02}}
ALGORITHMS = {
    "ttv2": {"algorithm": "ttv2", **TRANSFER, "transfer_update": {"bl": 2}},
    "c-ttv2": {"algorithm": "c-ttv2", **TRANSFER, "in_chop_prob": 0.3},
    "agad": {"algorithm": "agad", **TRANSFER, "in_chop_prob": 0.5, "tail_weight": 2.0, "significance": 0.2},
    "residual-learning": {"algorithm": "residual-learning", **TRANSFER},
    "mixed-precision": {"algorithm": "mixed-precision", "device": DEVICE, "forward_io": {"out_noise": 0.02}},
}


def _nested_equal(a, b, path=""):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _nested_equal(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _nested_equal(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_interrupted_and_resumed_run_is_bit_identical(name, tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainingConfig.from_dict({"model": {"kind": "mlp", "hidden": [16]}, "algorithm": ALGORITHMS[name],
                                           "lr": 1.0, "epochs": 2, "batch_size": 64, "seed": 4})
        full = tmp_path / "full"
        train(config, full, progress=False)

        def hook(epoch, batch):
            if (epoch, batch) == (1, 7):
                os.kill(os.getpid(), signal.SIGINT)

        monkeypatch.setattr(training, "_after_batch", hook)
        part = tmp_path / "part"
        with pytest.raises(TrainingInterrupted):
            train(config, part, progress=False)
        monkeypatch.setattr(training, "_after_batch", lambda e, b: None)
        train(config, part, resume=True, progress=False)
    finally:
        torch.set_num_threads(threads)
    _nested_equal(load_checkpoint(full / CHECKPOINT)["model"], load_checkpoint(part / CHECKPOINT)["model"])
    rows = [[{k: v for k, v in r.items() if k != "wall_time_s"} for r in read_metrics(out / "metrics.csv")]
            for out in (full, part)]
    assert rows[0] == rows[1]
