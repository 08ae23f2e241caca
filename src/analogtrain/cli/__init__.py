"""The ``analogtrain`` command line (click). Entry point: :func:`analogtrain.cli.main.main`."""

from analogtrain.cli.main import cli, main

__all__ = ["cli", "main"]
