"""Helpers shared by every ``analogtrain`` command.

* :class:`AnalogGroup` / :class:`CliError` / :func:`handle_errors`: bad input — a
  :class:`~analogtrain.errors.ConfigError` (or other ``ValueError``) from the library, an unknown
  name, a malformed option — is reported as ONE line ``Error: ...`` on stderr with exit code 2,
  never a traceback. Set ``ANALOGTRAIN_DEBUG=1`` to get the traceback instead.
* :func:`plan_output_dir` / :class:`OutputDir`: a run writes one directory; by default a new,
  uniquely named one under ``./runs/``; an existing directory is refused unless ``--overwrite``
  is given, in which case it is replaced. The check happens before any work, the directory is made
  only when there is something to write.
* :func:`parse_overrides`: ``--set PARAM=VALUE`` options into keyword arguments.
* :func:`write_json` / :func:`write_csv`: plain files (NaN/inf become JSON ``null``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import errno
import functools
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import click

from analogtrain.errors import ConfigError

#: Exit status of every command on bad input (as click's own usage errors).
ERROR_EXIT_CODE = 2

#: Where runs go when no ``--out`` is given (relative to the working directory).
DEFAULT_RUNS_ROOT = "runs"

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
# Output directories


def _timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _slug(text: str) -> str:
    keep = [c if (c.isalnum() or c in "-_.") else "-" for c in str(text)]
    slug = "".join(keep).strip("-.")
    return slug or "run"


class OutputDir:
    """A run's output directory, checked now and made by :meth:`create` when results are ready."""

    def __init__(self, path: Path, overwrite: bool, default: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.default = default

    def create(self) -> Path:
        """Make the directory (replacing an existing one only with ``--overwrite``); return it."""
        if self.default:
            # A uniquely named new directory: add -1, -2, ... if the name is taken meanwhile.
            base = self.path
            candidate, k = base, 0
            while True:
                try:
                    candidate.mkdir(parents=True, exist_ok=False)
                    self.path = candidate
                    return candidate
                except FileExistsError:
                    k += 1
                    candidate = base.with_name(f"{base.name}-{k}")
        if self.path.exists() or self.path.is_symlink():
            if not self.overwrite:
                raise ConfigError(_exists_message(self.path))
            _remove(self.path)
        self.path.mkdir(parents=True, exist_ok=False)
        return self.path


def _exists_message(path: Path) -> str:
    return f"--out: output directory '{path}' already exists; pass --overwrite to replace it"


def _remove(path: Path) -> None:
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    protected = {Path(resolved.anchor), Path.home().resolve()}
    if resolved in protected or resolved == cwd or resolved in cwd.parents:
        raise ConfigError(f"--out: refusing to replace '{path}' (it holds the working directory or is a root)")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def plan_output_dir(
    out: str | os.PathLike | None,
    prefix: str,
    overwrite: bool = False,
    root: str | os.PathLike = DEFAULT_RUNS_ROOT,
) -> OutputDir:
    """Check where a run will write, before doing any work.

    ``out`` None: ``<root>/<prefix>-YYYYmmdd-HHMMSS`` (``-k`` appended if taken), never an
    existing directory. Otherwise ``out`` itself, refused with a ConfigError if it exists and
    ``overwrite`` is false.
    """
    if out is None:
        return OutputDir(Path(root) / f"{_slug(prefix)}-{_timestamp()}", overwrite=False, default=True)
    path = Path(out)
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise ConfigError(_exists_message(path))
    return OutputDir(path, overwrite=overwrite, default=False)


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


def plain(value: Any) -> Any:
    """JSON-ready copy: tensors/arrays to lists, numpy/torch scalars to numbers, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # torch.Tensor, numpy array / scalar
        return plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (NaN and inf as ``null``)."""
    path = Path(path)
    path.write_text(json.dumps(plain(data), indent=2, allow_nan=False) + "\n")
    return path


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]], fieldnames: Sequence[str]) -> Path:
    """Write dict rows as CSV with a header (NaN written as empty)."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return path
