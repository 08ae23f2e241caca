"""Helpers shared by every ``analogtrain`` command.

* :class:`AnalogGroup` / :class:`CliError` / :func:`handle_errors`: bad input — a
  :class:`~analogtrain.errors.ConfigError` (or other ``ValueError``) from the library, an unknown
  name, a malformed option — is reported as ONE line ``Error: ...`` on stderr with exit code 2,
  never a traceback. Set ``ANALOGTRAIN_DEBUG=1`` to get the traceback instead.
* Output directories: :func:`analogtrain.training.run_dir.plan_output_dir`; JSON files:
  :mod:`analogtrain.jsonio`.
* :func:`parse_overrides`: ``--set PARAM=VALUE`` options into keyword arguments.
* :func:`write_csv`: dict rows as CSV (NaN written as empty).
"""

from __future__ import annotations

import csv
import errno
import functools
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import click

from analogtrain.errors import ConfigError

#: Exit status of every command on bad input (as click's own usage errors).
ERROR_EXIT_CODE = 2

_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", None)


def _debug() -> bool:
    return os.environ.get("ANALOGTRAIN_DEBUG", "").strip() not in ("", "0", "false", "no")


# ---------------------------------------------------------------------------------------------
# Errors


class CliError(click.ClickException):
    """A bad-input error: shown as one ``Error: ...`` line on stderr, exit status 2."""

    exit_code = ERROR_EXIT_CODE

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _usage_to_cli_error(error: click.UsageError) -> CliError:
    message = _one_line(error.format_message())
    if error.ctx is not None:
        message = f"{message} (see '{error.ctx.command_path} --help')"
    return CliError(message)


def _as_cli_error(error: Exception) -> CliError | None:
    """The one-line error for a user-facing failure, or None to let it propagate."""
    if _debug() or isinstance(error, click.ClickException):
        return None
    if isinstance(error, ValueError):  # ConfigError is a ValueError
        return CliError(_one_line(str(error)))
    if isinstance(error, OSError) and error.errno != errno.EPIPE and error.filename is not None:
        return CliError(_one_line(f"{error.strerror or error}: '{error.filename}'"))
    return None


def handle_errors(func: Callable) -> Callable:
    """Decorator for a command callback: ConfigError / ValueError (and file-system errors such as
    an unwritable --out) become a one-line error with exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as error:
            converted = _as_cli_error(error)
            if converted is None:
                raise
            raise converted from None

    return wrapper


class AnalogGroup(click.Group):
    """A click group that reports every usage or parameter error as a single line (exit 2).

    Commands added to such a group (``group.add_command``) get the same treatment, so a new
    subcommand needs nothing more than raising :class:`~analogtrain.errors.ConfigError` on bad
    input. ``--help`` on a group without a subcommand still prints the help.
    """

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            if _NO_ARGS_IS_HELP is not None and isinstance(error, _NO_ARGS_IS_HELP):
                raise
            raise _usage_to_cli_error(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CliError:
            raise
        except click.UsageError as error:
            if _NO_ARGS_IS_HELP is not None and isinstance(error, _NO_ARGS_IS_HELP):
                raise
            raise _usage_to_cli_error(error) from None
        except click.ClickException:
            raise
        except Exception as error:
            converted = _as_cli_error(error)
            if converted is None:
                raise
            raise converted from None

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", AnalogGroup)
        return super().group(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# --set PARAM=VALUE


def parse_value(text: str) -> Any:
    """A ``--set`` value: JSON (numbers, lists, true/false, null), a float such as ``.5``/``inf``,
    else the string itself. JSON lists become tuples (e.g. the nodes of a piecewise device)."""
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
    return _tuples(value)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def parse_overrides(items: Iterable[str], option: str = "--set") -> dict[str, Any]:
    """``("dw_min=0.002", "up_down=0.1")`` -> ``{"dw_min": 0.002, "up_down": 0.1}``."""
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise ConfigError(f"{option} expects PARAM=VALUE (e.g. {option} dw_min=0.002), got {item!r}")
        overrides[name] = parse_value(raw)
    return overrides


# ---------------------------------------------------------------------------------------------
# Files


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]], fieldnames: Sequence[str]) -> Path:
    """Write dict rows as CSV with a header (NaN written as empty)."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return path
