"""The ``analogtrain`` command: a click group whose subcommands live in sibling modules.

Adding a command is one import and one ``cli.add_command`` in the marked block below. Every
command added to ``cli`` reports bad input (a :class:`~analogtrain.errors.ConfigError`, a click
usage error) as one ``Error: ...`` line on stderr with exit status 2 (see
:class:`analogtrain.cli.common.AnalogGroup`). Heavy imports (torch, matplotlib) belong inside the
command functions, so ``analogtrain --help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import click

from analogtrain import __version__
from analogtrain.cli.common import AnalogGroup

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=AnalogGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="analogtrain", message="%(prog)s %(version)s")
def cli() -> None:
    """Simulate training of neural networks on analog resistive crossbar arrays.

    Runs write one directory (config, metrics, figures, summary); by default a new one under
    ./runs/, and an existing directory is replaced only with --overwrite.
    """


# --- subcommands: one import + one add_command each ------------------------------------------
from analogtrain.cli.device import device  # noqa: E402

cli.add_command(device)
from analogtrain.cli.train import train  # noqa: E402

cli.add_command(train)
from analogtrain.cli.reproduce import reproduce  # noqa: E402

cli.add_command(reproduce)
from analogtrain.cli.sweep import sweep  # noqa: E402

cli.add_command(sweep)
from analogtrain.cli.data import data  # noqa: E402

cli.add_command(data)
# (add further commands here, e.g.:
#   from analogtrain.cli.reproduce import reproduce; cli.add_command(reproduce))
# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``analogtrain``)."""
    cli.main(args=argv, prog_name="analogtrain")


if __name__ == "__main__":  # python -m analogtrain.cli.main
    main()
