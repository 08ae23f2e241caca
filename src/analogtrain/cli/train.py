"""``analogtrain train CONFIG``: train a model on analog arrays (or in floating point)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from analogtrain.cli.common import CliError, handle_errors
from analogtrain.training.run_dir import default_path

#: Exit status after Ctrl-C (the shell's convention for SIGINT).
INTERRUPTED_EXIT_CODE = 130


@click.command("train")
@click.argument("config_file", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory [default: a new directory runs/train-CONFIG-DATE-TIME].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace the output directory if it exists.")
@click.option("--device", "device", default="cpu", show_default=True, metavar="cpu|cuda[:N]",
              help="Where tensors live.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def train(config_file: Path, out: Path | None, resume: bool, overwrite: bool, device: str, quiet: bool) -> None:
    """Train the model described by CONFIG (YAML or JSON; see examples/digits_shd.yaml).

    Writes config.json, metrics.csv, learning_curve.png, checkpoint.pt (every epoch) and
    summary.json. Ctrl-C finishes the current batch and writes a checkpoint; --resume continues
    from it exactly (same final weights and metrics as an uninterrupted run).
    """
    from analogtrain.training.loop import TrainingInterrupted
    from analogtrain.training.loop import train as run_training
    from analogtrain.training.config import TrainingConfig

    config = TrainingConfig.from_file(config_file)
    if out is None:
        if resume:
            raise CliError("--resume needs --out DIR (the directory of the run to continue)")
        out = default_path(f"train-{config_file.stem}")
    try:
        summary = run_training(config, out, resume=resume, overwrite=overwrite, device=device, progress=not quiet)
    except TrainingInterrupted as stop:
        click.echo(
            f"Interrupted: checkpoint written to {stop.checkpoint}; continue with "
            f"`analogtrain train {config_file} --out {out} --resume`",
            err=True,
        )
        sys.exit(INTERRUPTED_EXIT_CODE)
    except FloatingPointError as error:
        raise CliError(f"{error}; try a smaller lr") from None
    final = summary.get("final", {})
    parts = []
    for split in ("train", "val", "test"):
        if split in final:
            metrics = final[split]
            text = f"{split} loss {metrics['loss']:.4f}"
            if metrics.get("accuracy") is not None:
                text += f", accuracy {100 * metrics['accuracy']:.2f}%"
            parts.append(text)
    click.echo(f"{summary['algorithm']}: {summary['epochs_completed']} epochs; " + "; ".join(parts))
    click.echo(f"results in {out}")
