"""Seconds per training batch of the Fig. 3 LSTM (FP, analog SGD, SHD) and the projected study time.

The network and devices are exactly those of ``analogtrain reproduce fig3``
(:mod:`analogtrain.studies.fig3`): LSTM2-64WP (2 × 64 LSTM, dropout 0.2, linear read-out),
sequences of 100 characters, batch 32, on War and Peace; linear-step devices with device-to-device
and cycle-to-cycle variation, read noise, 7/9-bit DAC/ADC and the stochastic pulse update (BL 10).
A batch is what :func:`analogtrain.training.loop.train` does per batch: ``zero_grad``,
forward, cross-entropy, backward, (gradient clipping,) ``optimizer.step()`` — for SHD the pulse
updates of A and the transfers to C. Evaluation (forward only, no gradients) is timed per
sequence as well, because every epoch ends with a pass over the validation and test splits.

The projection adds, for every run of the grid (1 FP + SGD and SHD at each γ level):
``epochs × (train batches × s/batch + eval sequences × s/sequence)`` plus the initial evaluation
of all three splits, and divides the total by the number of parallel workers (a run is the unit
of work, so the wall time is at least the longest run).

    python benchmarks/lstm_study.py [--data ../shared/data/warpeace_input.txt] [--steps 5] [--repeats 3]
                                    [--gamma 0.3] [--epochs 50] [--workers N] [--threads 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from analogtrain.training.datasets import load_dataset
from analogtrain.studies.fig3 import Fig3Config, base_training_config, sgd_algorithm, shd_algorithm
from analogtrain.training.models import build_model
from analogtrain.training.config import TrainingConfig
from analogtrain.nn.optimizer import AnalogSGD

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "warpeace_input.txt"


def training_config(study: Fig3Config, kind: str, gamma: float) -> TrainingConfig:
    base = base_training_config(study)
    if kind == "sgd":
        base["algorithm"] = sgd_algorithm(study, gamma)
    elif kind == "shd":
        base["algorithm"] = shd_algorithm(study, gamma)
    return TrainingConfig.from_dict(base)


def time_case(config: TrainingConfig, data, steps: int, repeats: int, grad_clip: float | None) -> dict:
    t0 = time.perf_counter()
    model = build_model(config, data, torch.device("cpu"))
    build_s = time.perf_counter() - t0
    optimizer = AnalogSGD(model, lr=config.lr)
    size = config.batch_size
    inputs, targets = data.train.inputs, data.train.targets
    generator = torch.Generator().manual_seed(0)

    def batch():
        index = torch.randint(0, len(inputs), (size,), generator=generator)
        optimizer.zero_grad()
        logits = model(inputs[index])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[index].reshape(-1))
        loss.backward()
        if grad_clip is not None:
            optimizer.clip_grad_norm_(grad_clip)  # as the training loop: digital and analog gradients
        optimizer.step()

    model.train()
    batch()  # warm-up
    per_batch = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            batch()
        per_batch.append((time.perf_counter() - start) / steps)

    model.eval()
    eval_x = data.val.inputs[: min(len(data.val), 256)]
    with torch.no_grad():
        model(eval_x[:8])
        start = time.perf_counter()
        model(eval_x)
        per_sequence = (time.perf_counter() - start) / len(eval_x)
    return {"s_per_batch": statistics.median(per_batch), "s_per_batch_all": per_batch,
            "s_per_eval_sequence": per_sequence, "build_s": build_s}


def project(study: Fig3Config, data, times: dict, workers: int) -> dict:
    batches = -(-len(data.train) // study.batch_size)
    eval_sequences = len(data.val) + len(data.test)
    runs = {"fp": 1, "sgd": len(study.gammas), "shd": len(study.gammas)}
    per_run = {}
    for kind, t in times.items():
        epoch = batches * t["s_per_batch"] + eval_sequences * t["s_per_eval_sequence"]
        initial = (len(data.train) + eval_sequences) * t["s_per_eval_sequence"] + t["build_s"]
        per_run[kind] = {"epoch_s": epoch, "run_s": initial + study.epochs * epoch}
    total = sum(runs[k] * per_run[k]["run_s"] for k in runs)
    longest = max(p["run_s"] for p in per_run.values())
    wall = max(longest, total / workers)
    return {"train_batches_per_epoch": batches, "eval_sequences_per_epoch": eval_sequences,
            "runs": runs, "per_run": per_run, "core_seconds": total, "workers": workers,
            "projected_wall_s": wall, "projected_wall_h": wall / 3600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="War and Peace text [default: %(default)s]")
    parser.add_argument("--steps", type=int, default=5, help="batches per timing [default: 5]")
    parser.add_argument("--repeats", type=int, default=3, help="timings per case (median) [default: 3]")
    parser.add_argument("--gamma", type=float, default=0.3, help="asymmetry level of the analog cases")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the projected study [default: 50]")
    parser.add_argument("--max-chars", type=int, default=None, help="project a study on this prefix instead")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parallel workers of the projection [default: CPU cores]")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run [default: 1]")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    changes = {k: v for k, v in {"epochs": args.epochs, "max_chars": args.max_chars}.items() if v is not None}
    study = Fig3Config(data=args.data, **changes)
    data = load_dataset(training_config(study, "fp", args.gamma).dataset)
    print(f"LSTM2-64WP, batch {study.batch_size} × {study.seq_len} characters, vocabulary {data.in_features}; "
          f"{torch.get_num_threads()} thread(s), {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__}")
    grad_clip = training_config(study, "fp", args.gamma).grad_clip
    times = {}
    for kind in ("fp", "sgd", "shd"):
        times[kind] = time_case(training_config(study, kind, args.gamma), data, args.steps, args.repeats, grad_clip)
        ratio = times[kind]["s_per_batch"] / times["fp"]["s_per_batch"]
        print(f"  {kind:<4} {times[kind]['s_per_batch']:8.3f} s/batch  ({ratio:5.1f}× FP)   "
              f"eval {1e3 * times[kind]['s_per_eval_sequence']:7.2f} ms/sequence   build {times[kind]['build_s']:.2f} s")
    projection = project(study, data, times, args.workers)
    budget = f"first {study.max_chars:,} characters" if study.max_chars else "full text"
    print(f"projected study ({budget}, {study.epochs} epochs, 13 runs, {projection['train_batches_per_epoch']} "
          f"batches/epoch): {projection['core_seconds'] / 3600:.1f} core-hours, "
          f"{projection['projected_wall_h']:.1f} h wall on {args.workers} worker(s)")
    for kind, p in projection["per_run"].items():
        print(f"  one {kind} run: {p['epoch_s'] / 60:.1f} min/epoch, {p['run_s'] / 3600:.2f} h")
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": torch.get_num_threads(), "gamma": args.gamma,
                                               "study": study.to_dict(), "times": times,
                                               "projection": projection}, indent=2))


if __name__ == "__main__":
    main()
