"""``analogtrain data fetch NAME --out PATH``: download a dataset the studies use."""

from __future__ import annotations

import click

from analogtrain.cli.common import AnalogGroup, handle_errors


@click.group("data", cls=AnalogGroup)
def data() -> None:
    """Datasets: download the texts the studies train on."""


@data.command("fetch")
@click.argument("name", type=click.Choice(["war-and-peace"]))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Text file to write (UTF-8). Refused if it exists, unless --overwrite.")
@click.option("--url", default=None, metavar="URL",
              help="Download from here instead of Project Gutenberg (a mirror; http, https or file).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="Network timeout in seconds.")
@handle_errors
def fetch(name, out, url, overwrite, timeout):
    """Download NAME from Project Gutenberg, strip the licence header and footer, check the text
    (expected opening and closing passages, length) and write it to --out.

    war-and-peace: Leo Tolstoy, War and Peace, eBook #2600 — the text of the character-level LSTM
    study (`analogtrain reproduce fig3 --data PATH`).
    """
    from analogtrain.training.data_fetch import fetch_text

    summary = fetch_text(name, out, url=url, overwrite=overwrite, timeout=timeout, progress=True)
    click.echo(f"wrote {summary['path']}: {summary['characters']:,} characters "
               f"({summary['distinct_characters']} distinct), sha256 {summary['sha256']}")
    click.echo(f"from {summary['url']} (licence header and footer removed; checks passed)")
