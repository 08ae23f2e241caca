"""Train a model on analog arrays (or in floating point): the library behind ``analogtrain train``.

:func:`train` runs one :class:`~analogtrain.training.config.TrainingConfig` and writes
one directory::

    config.json         the full config (replayable: TrainingConfig.from_file)
    metrics.csv         epoch, split, loss, accuracy, lr, wall_time_s (epoch 0: before training;
                        "train" rows: running mean over the epoch's batches)
    learning_curve.png  loss (and accuracy) against epoch for every split
    checkpoint.pt       the latest state, written after every epoch and on Ctrl-C
    summary.json        final metrics, best validation epoch, timing, analog operation counts

Exact resume: the checkpoint carries the model (every array's conductances, per-device
parameters, counters, pointers and generator states), the optimizer and LR scheduler, the
data-order generator, the global torch generator (dropout), the position inside the epoch and
the metrics so far, so ``resume=True`` continues to the same final weights and metrics, bit for
bit on CPU, as an uninterrupted run (``wall_time_s`` excepted). Checkpoints are read with
``torch.load(weights_only=True)``: loading never runs code from the file.

Ctrl-C (SIGINT, in the main thread) finishes the current batch, writes the checkpoint and raises
:class:`TrainingInterrupted` (a ``KeyboardInterrupt``); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from analogtrain.errors import ConfigError
from analogtrain.training.checkpoints import CHECKPOINT, load_checkpoint, save_checkpoint
from analogtrain.training.datasets import Dataset, Split, load_dataset
from analogtrain.training.models import build_model, check_memory
from analogtrain.training.progress import progress_bar, progress_line
from analogtrain.training.config import TrainingConfig
from analogtrain.training.report import plot_learning_curve, summarize, write_metrics, write_summary
from analogtrain.nn.optimizer import AnalogSGD
from analogtrain.nn.tile import config_differences
from analogtrain.training.run_dir import Replacement, check_replaceable, exists, refuse_existing

class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``checkpoint`` is the file written before stopping."""

    def __init__(self, checkpoint: Path, epoch: int, batch: int) -> None:
        where = f"in epoch {epoch + 1} after batch {batch}" if batch else f"after epoch {epoch}"
        super().__init__(f"interrupted {where}; checkpoint {checkpoint}")
        self.checkpoint, self.epoch, self.batch = checkpoint, epoch, batch


def resolve_device(device: str | torch.device) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` (ConfigError if CUDA is asked for and absent)."""
    try:
        torch_device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"--device must be cpu or cuda[:N], got {device!r}") from None
    if torch_device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda[:N], got {device!r}")
    if torch_device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available; use --device cpu")
        if torch_device.index is not None and torch_device.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")
    return torch_device


class _Interrupts:
    """Defer the first SIGINT to the end of the current batch (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _after_batch(epoch: int, batch: int) -> None:
    """Hook called after every training batch (tests replace it to simulate Ctrl-C)."""


class Trainer:
    """State of one run; :func:`train` is the entry point."""

    def __init__(self, config: TrainingConfig, data: Dataset, out: Path, torch_device: torch.device,
                 progress: bool) -> None:
        self.config, self.data, self.out = config, data, out
        self.device, self.progress = torch_device, progress
        self.model = build_model(config, data, torch_device)
        self.optimizer = AnalogSGD(self.model, lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=list(config.lr_milestones), gamma=config.lr_gamma
        )
        self.data_generator = torch.Generator().manual_seed(config.seed + 1)
        self.epoch = 0  # completed epochs
        self.batch = 0  # batches done in the current epoch
        self.order: torch.Tensor | None = None
        self.running = {"loss_sum": 0.0, "correct": 0, "count": 0, "batches": 0}
        self.metrics: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self.interrupted = False

    # -- checkpoints ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "data": self.data_generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "order": self.order,
            "running": dict(self.running),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng,
            "metrics": [dict(row) for row in self.metrics],
            "elapsed": self.elapsed,
            "finished": self.epoch >= self.config.epochs,
        }

    def save(self) -> Path:
        return save_checkpoint(self.out, self.state())

    def restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.data_generator.set_state(state["rng"]["data"])
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self.order = state["order"]
        self.running = dict(state["running"])
        self.metrics = [dict(row) for row in state["metrics"]]
        self.elapsed = float(state["elapsed"])

    # -- one pass -------------------------------------------------------------------------------
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """(mean loss, correct predictions, predictions) of a batch."""
        if not self.data.classification:
            return F.mse_loss(output, target), 0, target.shape[0]
        logits = output.reshape(-1, output.shape[-1])
        labels = target.reshape(-1)
        correct = int((logits.argmax(dim=1) == labels).sum())
        return F.cross_entropy(logits, labels), correct, labels.numel()

    def evaluate(self, split: Split) -> tuple[float, float]:
        """Mean loss and accuracy over a split (model in eval mode; reads the trained weights)."""
        self.model.eval()
        total, correct, count = 0.0, 0, 0
        with torch.no_grad():
            for start in range(0, len(split), self.config.eval_batch_size):
                x = split.inputs[start : start + self.config.eval_batch_size].to(self.device)
                y = split.targets[start : start + self.config.eval_batch_size].to(self.device)
                loss, right, n = self.loss(self.model(x), y)
                total += float(loss) * n
                correct += right
                count += n
        self.model.train()
        accuracy = correct / count if self.data.classification else math.nan
        return total / count, accuracy

    def record(self, split: str, loss: float, accuracy: float) -> None:
        self.metrics.append({
            "epoch": self.epoch, "split": split, "loss": loss, "accuracy": accuracy,
            "lr": self.optimizer.param_groups[0]["lr"], "wall_time_s": round(self.elapsed, 3),
        })

    def evaluate_all(self, splits=("val", "test")) -> None:
        for name in splits:
            self.record(name, *self.evaluate(self.data.split(name)))

    def run_epoch(self, interrupts: _Interrupts) -> None:
        train = self.data.train
        if self.order is None:
            self.order = torch.randperm(len(train), generator=self.data_generator)
            self.batch = 0
            self.running = {"loss_sum": 0.0, "correct": 0, "count": 0, "batches": 0}
        size = self.config.batch_size
        batches = math.ceil(len(train) / size)
        bar = None
        if self.progress:  # a bar on a terminal only; the epoch's line below in any case
            bar = progress_bar(batches, f"epoch {self.epoch + 1}/{self.config.epochs}", initial=self.batch,
                               leave=False)
        self.model.train()
        start = time.perf_counter()
        try:
            while self.batch < batches:
                index = self.order[self.batch * size : (self.batch + 1) * size]
                x, y = train.inputs[index].to(self.device), train.targets[index].to(self.device)
                self.optimizer.zero_grad()
                loss, correct, count = self.loss(self.model(x), y)
                loss.backward()
                if self.config.grad_clip is not None:
                    self.optimizer.clip_grad_norm_(self.config.grad_clip)
                self.optimizer.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(f"training diverged: loss {value} in epoch {self.epoch + 1}")
                self.running["loss_sum"] += value
                self.running["batches"] += 1
                self.running["correct"] += correct
                self.running["count"] += count
                self.batch += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{self.running['loss_sum'] / self.running['batches']:.4f}")
                _after_batch(self.epoch, self.batch)
                if interrupts.requested and self.batch < batches:
                    self.elapsed += time.perf_counter() - start
                    start = time.perf_counter()
                    self.interrupted = True
                    path = self.save()
                    raise TrainingInterrupted(path, self.epoch, self.batch)
        finally:
            if bar is not None:
                bar.close()
            self.elapsed += time.perf_counter() - start
        accuracy = self.running["correct"] / self.running["count"] if self.data.classification else math.nan
        self.epoch += 1
        self.record("train", self.running["loss_sum"] / self.running["batches"], accuracy)
        self.evaluate_all()
        self.scheduler.step()
        self.order, self.batch = None, 0
        if self.progress:
            parts = []
            for row in self.metrics[-3:]:
                text = f"{row['split']} loss {row['loss']:.4f}"
                if not math.isnan(row["accuracy"]):
                    text += f" acc {100 * row['accuracy']:.2f}%"
                parts.append(text)
            progress_line(f"epoch {self.epoch}/{self.config.epochs}: " + ", ".join(parts))


def _prepare_out_dir(out: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """Check the output directory (before any work); the checkpoint to resume from, if any."""
    if resume:
        if overwrite:
            raise ConfigError("--resume and --overwrite cannot be combined")
        checkpoint = out / CHECKPOINT
        if not checkpoint.is_file():
            raise ConfigError(f"--resume: no checkpoint {str(checkpoint)!r} to resume from")
        return load_checkpoint(checkpoint)
    if not overwrite:
        refuse_existing(out, " or --resume to continue its run")
    else:
        check_replaceable(out)
    return None


def train(
    config: TrainingConfig | dict,
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) one training run into ``out_dir``; returns the summary (see module doc).

    Every check (config, output directory, resume compatibility, dataset, CUDA) happens before
    the directory is touched. The caller's global torch generator is left as it was.
    """
    if isinstance(config, dict):
        config = TrainingConfig.from_dict(config)
    if not isinstance(config, TrainingConfig):
        raise ConfigError(f"config must be a TrainingConfig, got {type(config).__name__}")
    out = Path(out_dir)
    torch_device = resolve_device(device)
    checkpoint = _prepare_out_dir(out, resume, overwrite)
    if checkpoint is not None:
        differences = config_differences(checkpoint["config"], config.to_dict())
        if differences:
            raise ConfigError(
                f"--resume: the checkpoint in '{out}' was written by a different config; differences "
                f"(checkpoint != given): " + "; ".join(differences)
            )
    check_memory(config, torch_device)  # before the dataset or the model is allocated
    data = load_dataset(config.dataset)
    forked = [torch_device] if torch_device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked):
        trainer = Trainer(config, data, out, torch_device, progress)
        torch.manual_seed(config.seed + 2)  # dropout and anything else drawing from the global generator
        replacement = None
        if checkpoint is not None:
            trainer.restore(checkpoint)
        else:
            if overwrite and exists(out):
                # Never delete first: the new run writes beside the old one and is swapped in
                # once it has its first checkpoint (run_dir.Replacement).
                replacement = Replacement(out)
                trainer.out = replacement.work
            else:
                out.mkdir(parents=True, exist_ok=False)
        with _Interrupts() as interrupts:
            try:
                if checkpoint is None:
                    (trainer.out / "config.json").write_text(config.to_json() + "\n")
                    # A checkpoint before anything is evaluated or trained: a run interrupted
                    # (even killed) during its first evaluation (epoch 0) can be resumed.
                    trainer.save()
                if not trainer.metrics and trainer.epoch == 0 and trainer.batch == 0:
                    trainer.evaluate_all(("train", "val", "test"))
                    trainer.save()
                    write_metrics(trainer.out, trainer.metrics)
                    if replacement is not None:
                        trainer.out = replacement.commit()
                        replacement = None
                    if interrupts.requested:
                        trainer.interrupted = True
                        raise TrainingInterrupted(trainer.out / CHECKPOINT, 0, 0)
                while trainer.epoch < config.epochs:
                    trainer.run_epoch(interrupts)
                    path = trainer.save()
                    write_metrics(trainer.out, trainer.metrics)
                    if interrupts.requested and trainer.epoch < config.epochs:
                        trainer.interrupted = True
                        raise TrainingInterrupted(path, trainer.epoch, 0)
            finally:
                if replacement is not None:  # failed before its first checkpoint: keep the old run
                    replacement.abort()
                else:
                    write_metrics(trainer.out, trainer.metrics)
                    plot_learning_curve(trainer.out, trainer.metrics, config)
                    summary = summarize(trainer, data)
                    write_summary(trainer.out, summary)
    return summary


#: A sweep checks every run's config with this before any run starts (see
#: :func:`analogtrain.sweep.task.config_checker`) and hands the runner the TrainingConfig it made.
def check_config(data: dict) -> TrainingConfig:
    """The config of a run (ConfigError if invalid or too large for this machine's memory)."""
    config = TrainingConfig.from_dict(data)
    check_memory(config)
    return config


train.check_config = TrainingConfig.from_dict  # train() itself checks the memory before allocating
