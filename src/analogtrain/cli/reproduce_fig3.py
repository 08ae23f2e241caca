"""``analogtrain reproduce fig3``: the War-and-Peace LSTM study (paper Fig. 3) on a Dask cluster."""

from __future__ import annotations

import click

from analogtrain.cli.common import handle_errors


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4f}"


@click.command("fig3", short_help="War-and-Peace LSTM: analog SGD vs SHD, increasing asymmetry (Fig 3)")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="War and Peace as plain text (get it with: analogtrain data fetch war-and-peace --out PATH).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Study directory (re-running into it resumes; another study's directory needs --overwrite).")
@click.option("--epochs", type=int, default=None,
              help="Epochs of every run [default: 50; with --quick: 4].")
@click.option("--quick", is_flag=True,
              help="First 100,000 characters, 4 epochs, sequences of 50: the whole grid in < 10 min on 2 cores.")
@click.option("--max-chars", type=int, default=None, metavar="N",
              help="Train on the first N characters only [default: all; with --quick: 100,000].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Address of a running Dask scheduler; its workers must see --data and --out.")
@click.option("--workers", type=int, default=None, metavar="K",
              help="Worker processes of the local cluster [default: one per CPU core].")
@click.option("--device", default="cpu", show_default=True, help="Torch device of the runs (cpu, cuda).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it holds something else.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@handle_errors
def fig3(data, out, epochs, quick, max_chars, scheduler, workers, device, overwrite, quiet):
    """Fig. 3: a 2×64 LSTM on War and Peace trained in floating point, with analog SGD and with
    SHD, on linear-step devices of increasing asymmetry γ ∈ {0, 0.05, 0.1, 0.3, 0.6, 1}.

    Writes fig3.png (A: SGD, B: SHD, insets: pulse responses), pulse_response.png, results.csv
    (one row per run and epoch), summary.json (final test cross-entropy of every run and the
    paper's claims, measured) and sweep/ (one directory per run).
    """
    from analogtrain.studies.fig3 import Fig3Config, quick_config, run_fig3

    from analogtrain.training.loop import resolve_device

    resolve_device(device)  # before anything is written or a cluster started
    changes = {k: v for k, v in {"epochs": epochs, "max_chars": max_chars}.items() if v is not None}
    config = quick_config(data, **changes) if quick else Fig3Config(data=data, **changes)
    summary = run_fig3(config, out, scheduler=scheduler, workers=workers, overwrite=overwrite, device=device,
                       progress=not quiet)
    click.echo(f"Fig. 3 study in {out} ({summary['wall_time_s']:.0f} s): final test cross-entropy (nats/char)")
    for name, record in summary["runs"].items():
        status = "" if record["status"] == "finished" else f"  [{record['status']}: {record.get('error') or ''}]"
        click.echo(f"  {name:<16} {_fmt(record['final_test_cross_entropy'])}{status}")
    after = summary.get("text", {}).get("characters_after_book_end")
    if after:
        click.echo(f"note: the text goes on for {after:,} characters after the book's closing words "
                   f"({summary['text']['book_closing_words']!r}); they are part of the test split. "
                   f"--max-chars {summary['text']['book_end']} ends the text there.")
    click.echo("claims:")
    for claim in summary["claims"]:
        mark = {True: "holds", False: "does NOT hold", None: "not measured"}[claim["holds"]]
        click.echo(f"  [{mark}] {claim['claim']}")
    click.echo(f"figures: {out}/fig3.png, {out}/pulse_response.png; tables: {out}/results.csv, {out}/summary.json")
