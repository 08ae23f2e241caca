"""What a learning-rate step does to SHD's updates: the same state, the same batches, two rates.

Not a timing: an analysis of a character-level SHD run (``analogtrain train`` or a run of
``reproduce fig3``). From the run's checkpoint, the script trains a few batches at each learning
rate given (default: the run's rate and that rate times its ``lr_gamma``), each time from the same
state and on the same batches, and reports per SHD layer:

* the nominal pulse scale of the A update, ``k_A = η_A·max|x|·max|δ|/Δw_min`` per sample, and of
  the transfer write to C, ``k_C = η_C·max|v|/Δw_min`` per column (v = the column of A read, taken
  here as the exact column), as their medians and the fraction above the train length BL: with
  bit-length management a write of k > BL is capped at BL pulses per device (the probabilities
  saturate), so it no longer scales with the learning rate;
* the realised mean change per batch of A_main and of C_main.

    python benchmarks/shd_lr_step.py RUN_DIR [--batches 20] [--lrs 10 1] [--seed 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

from analogtrain.training.datasets import load_dataset
from analogtrain.training.checkpoints import load_checkpoint
from analogtrain.training.loop import Trainer
from analogtrain.training.config import TrainingConfig
from analogtrain.nn import analog_tiles


def scales(tile, lr: float) -> tuple[list[float], list[float], int, int]:
    """(k_A per pending sample, k_C per column, BL of A's update, BL of the transfer write)."""
    algorithm = tile.algorithm
    a_main, c_main = algorithm.a_main, algorithm.c_main
    eta_a, eta_c = algorithm.config.fast_lr * lr, algorithm.config.transfer_lr * lr
    k_a = []
    for x, d in tile._pending.pairs:
        k_a += (x.abs().amax(1) * d.abs().amax(1) * eta_a / a_main.device_model.granularity).tolist()
    column_max = algorithm.arrays()["A_main"].weight.abs().amax(0)  # A = A_main − A_ref, per column
    k_c = (column_max * eta_c / c_main.device_model.granularity).tolist()
    return k_a, k_c, a_main.update_config.bl, c_main.update_config.bl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="run directory holding checkpoint.pt (an SHD run)")
    parser.add_argument("--batches", type=int, default=20, help="training batches per rate")
    parser.add_argument("--lrs", type=float, nargs="+", default=None, help="learning rates to compare")
    parser.add_argument("--seed", type=int, default=5, help="seed of the batch draw")
    args = parser.parse_args()
    state = load_checkpoint(Path(args.run) / "checkpoint.pt")
    config = TrainingConfig.from_dict(state["config"])
    data = load_dataset(config.dataset)
    lrs = args.lrs or [config.lr, config.lr * config.lr_gamma]
    train = data.train
    print(f"{args.run}: epoch {state['epoch']}, {args.batches} batches of {config.batch_size} per rate")
    for lr in lrs:
        trainer = Trainer(config, data, Path(tempfile.mkdtemp()), torch.device("cpu"), False)
        trainer.restore(state)
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr
        tiles = [t for t in analog_tiles(trainer.model) if hasattr(t.algorithm, "c_main")]
        start = [(t.algorithm.a_main.conductance.clone(), t.algorithm.c_main.conductance.clone()) for t in tiles]
        collected = [([], [], 0, 0) for _ in tiles]
        generator = torch.Generator().manual_seed(args.seed)
        losses = []
        for _ in range(args.batches):
            index = torch.randint(0, len(train), (config.batch_size,), generator=generator)
            trainer.optimizer.zero_grad()
            loss, _, _ = trainer.loss(trainer.model(train.inputs[index]), train.targets[index])
            loss.backward()
            if config.grad_clip is not None:
                trainer.optimizer.clip_grad_norm_(config.grad_clip)
            for i, tile in enumerate(tiles):
                k_a, k_c, bl_a, bl_c = scales(tile, lr)
                collected[i] = (collected[i][0] + k_a, collected[i][1] + k_c, bl_a, bl_c)
            trainer.optimizer.step()
            losses.append(float(loss.detach()))
        print(f"\nlr {lr:g}: mean training loss of the batches {statistics.mean(losses):.4f}")
        for tile, (a0, c0), (k_a, k_c, bl_a, bl_c) in zip(tiles, start, collected):
            da = float((tile.algorithm.a_main.conductance - a0).abs().mean()) / args.batches
            dc = float((tile.algorithm.c_main.conductance - c0).abs().mean()) / args.batches
            above_a = sum(k > bl_a for k in k_a) / len(k_a)
            above_c = sum(k > bl_c for k in k_c) / len(k_c)
            print(f"  layer {tuple(a0.shape)}: A update k median {statistics.median(k_a):7.2f} "
                  f"({100 * above_a:5.1f} % > BL {bl_a}); transfer k median {statistics.median(k_c):7.1f} "
                  f"({100 * above_c:5.1f} % > BL {bl_c}); mean |ΔA_main| per batch {da:.2e}, "
                  f"|ΔC_main| {dc:.2e}")


if __name__ == "__main__":
    main()
