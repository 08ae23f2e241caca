"""``analogtrain sweep SWEEP.yaml --out DIR``: many training runs on a Dask cluster, resumable."""

from __future__ import annotations

import sys

import click

from analogtrain.cli.common import CliError, handle_errors


def _final_loss(record: dict) -> str:
    """The final test loss of a run's summary (``final.test.loss``), formatted; '' if absent."""
    final = (record.get("summary") or {}).get("final")
    test = final.get("test") if isinstance(final, dict) else None
    loss = test.get("loss") if isinstance(test, dict) else None
    return f"{loss:.4f}" if isinstance(loss, (int, float)) else ""


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Sweep directory: runs/<name>/ per run, results.csv, summary.json. Re-running into "
                   "the same directory skips finished runs and resumes interrupted ones.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786); its workers must "
                   "see --out. Default: a local cluster of --workers processes.")
@click.option("--workers", type=int, default=None, metavar="K",
              help="Worker processes of the local cluster [default: one per CPU core, at most one per run].")
@click.option("--device", default="cpu", show_default=True, help="Torch device of every run (cpu, cuda, cuda:1).")
@click.option("--overwrite", is_flag=True,
              help="Replace --out if it exists and is not this sweep's directory (or holds runs with other configs).")
@click.option("--quiet", is_flag=True, help="No progress bar or per-run lines.")
@handle_errors
def sweep(sweep_file, out, scheduler, workers, device, overwrite, quiet):
    """Run every configuration of SWEEP.yaml (a base training config and a grid or list of dotted-key
    overrides) as a training run in DIR/runs/<name>.

    Runs execute in parallel on a Dask cluster; a run that fails is recorded (runs/<name>/error.txt,
    summary.json) and does not stop the others. Exit status: 0 when every run finished, 1 when some
    failed, 2 on bad input.

    \b
    Example sweep file:
      name: digits-lr
      base: train.yaml            # or the training config itself, as a mapping
      grid:
        lr: [0.01, 0.05, 0.1]
        algorithm.kind: [sgd, shd]
    """
    from analogtrain.sweep import SweepSpec, run_sweep

    from analogtrain.training.loop import resolve_device

    resolve_device(device)  # --device tpu, or cuda without a GPU: exit 2 before starting a cluster
    spec = SweepSpec.from_file(sweep_file)
    if workers is not None and workers < 1:
        raise CliError(f"--workers: must be a positive integer, got {workers}")
    summary = run_sweep(spec, out, scheduler=scheduler, workers=workers, overwrite=overwrite, device=device,
                        progress=not quiet)
    counts = summary["counts"]
    click.echo(f"sweep {summary['sweep']!r}: {counts['finished']} finished, {counts['failed']} failed, "
               f"{counts['pending']} pending of {counts['runs']} runs "
               f"({len(summary['ran_now'])} run now, {len(summary['skipped_finished'])} already finished) "
               f"on {summary['cluster']}")
    width = max([len(r["name"]) for r in summary["runs"]] + [3])
    click.echo(f"  {'run':<{width}}  {'status':<8}  test loss")
    for record in summary["runs"]:
        line = f"  {record['name']:<{width}}  {record['status']:<8}  {_final_loss(record)}"
        if record.get("error"):
            line += f"  {record['error']}"
        click.echo(line)
    click.echo(f"results: {out}/results.csv, {out}/summary.json")
    if counts["failed"]:
        click.echo(f"Error: {counts['failed']} run(s) failed; see {out}/runs/<name>/error.txt", err=True)
        sys.exit(1)
