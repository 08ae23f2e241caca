"""Test cross-entropy of a finished character-level run, on the whole test split and on its two
parts: up to War and Peace's closing words and after them.

The shared War and Peace file continues after the book's last sentence; those characters fall in
the test split (see ``analogtrain.studies.fig3.text_report``). This script reads a run's
checkpoint (``analogtrain train`` or a ``reproduce fig3`` run directory), rebuilds its model and
data, and reports the per-character loss of both parts.

    python benchmarks/text_split_loss.py RUN_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from analogtrain.training.datasets import TEXT_SPLIT, load_dataset
from analogtrain.studies.fig3 import Fig3Config, text_report
from analogtrain.training.models import build_model
from analogtrain.training.checkpoints import load_checkpoint
from analogtrain.training.config import TrainingConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="run directory holding checkpoint.pt")
    args = parser.parse_args()
    state = load_checkpoint(Path(args.run) / "checkpoint.pt")
    config = TrainingConfig.from_dict(state["config"])
    data = load_dataset(config.dataset)
    model = build_model(config, data, torch.device("cpu"))
    model.load_state_dict(state["model"])
    model.eval()
    report = text_report(Fig3Config(data=config.dataset.path, max_chars=config.dataset.max_chars))
    n = report["characters"]
    test_start = int(n * TEXT_SPLIT[0]) + int(n * TEXT_SPLIT[1])
    split = data.test
    with torch.no_grad():
        losses = torch.cat([
            F.cross_entropy(model(split.inputs[i:i + 512]).reshape(-1, data.out_features),
                            split.targets[i:i + 512].reshape(-1), reduction="none")
            for i in range(0, len(split), 512)
        ])
    # Target t of the flattened split is character test_start + t + 1 of the text.
    book = torch.arange(losses.numel()) + test_start + 1 < (report.get("book_end") or n + 1)
    print(f"epoch {state['epoch']}: test cross-entropy {float(losses.mean()):.4f} nats/char over {losses.numel():,} "
          f"characters; up to the book's closing words {float(losses[book].mean()):.4f} ({int(book.sum()):,}); "
          + (f"after them {float(losses[~book].mean()):.4f} ({int((~book).sum()):,})" if bool((~book).any())
             else "nothing after them"))


if __name__ == "__main__":
    main()
