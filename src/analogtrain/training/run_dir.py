"""Run directories: where a run (training, a figure, a sweep) writes, checked before any work.

DESIGN.md §4: a run writes one directory and never overwrites an existing one unless asked to.

* :func:`plan_output_dir` / :class:`OutputDir`: by default a new, uniquely named directory under
  ``./runs/`` (:func:`default_path`); an explicit ``--out`` that exists is refused unless
  ``overwrite``, in which case it is replaced (:func:`remove_dir`) when the results are ready.
* :func:`refuse_existing`: the one error for an existing directory.
* :func:`remove_dir`: delete a directory (or file) to replace it, refusing a root, the home
  directory, the working directory or one that holds it.
* :func:`slug` / :func:`timestamp`: pieces of generated directory names.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
from pathlib import Path

from analogtrain.errors import ConfigError

#: Where runs go when no ``--out`` is given (relative to the working directory).
DEFAULT_RUNS_ROOT = "runs"


def timestamp() -> str:
    """Local time as ``YYYYmmdd-HHMMSS``."""
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def slug(text: str) -> str:
    """``text`` as a file name: runs of other characters than letters, digits and ``._+-`` become
    one ``-``; never empty (``run``)."""
    text = re.sub(r"[^A-Za-z0-9._+-]+", "-", str(text))
    return re.sub(r"-{2,}", "-", text).strip("-.") or "run"


def default_path(prefix: str, root: str | os.PathLike = DEFAULT_RUNS_ROOT) -> Path:
    """``<root>/<prefix>-YYYYmmdd-HHMMSS`` (the prefix made a :func:`slug`)."""
    return Path(root) / f"{slug(prefix)}-{timestamp()}"


def exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def refuse_existing(path: Path, hint: str = "") -> None:
    """ConfigError if ``path`` exists (``hint``: more ways out than ``--overwrite``)."""
    if exists(path):
        raise ConfigError(f"--out: output directory '{path}' already exists; pass --overwrite to replace it{hint}")


def remove_dir(path: Path) -> None:
    """Delete ``path`` (a directory tree, a file or a link) so that a run can replace it."""
    path = Path(path)
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved in {Path(resolved.anchor), Path.home().resolve()} or resolved == cwd or resolved in cwd.parents:
        raise ConfigError(f"--out: refusing to replace '{path}' (it holds the working directory or is a root)")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


class OutputDir:
    """A run's output directory, checked now and made by :meth:`create` when results are ready."""

    def __init__(self, path: Path, overwrite: bool, default: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.default = default

    def create(self) -> Path:
        """Make the directory (replacing an existing one only with ``overwrite``); return it."""
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
        if exists(self.path):
            if not self.overwrite:
                refuse_existing(self.path)
            remove_dir(self.path)
        self.path.mkdir(parents=True, exist_ok=False)
        return self.path


def plan_output_dir(
    out: str | os.PathLike | None,
    prefix: str,
    overwrite: bool = False,
    root: str | os.PathLike = DEFAULT_RUNS_ROOT,
) -> OutputDir:
    """Check where a run will write, before doing any work.

    ``out`` None: :func:`default_path` (``-k`` appended if taken), never an existing directory.
    Otherwise ``out`` itself, refused with a ConfigError if it exists and ``overwrite`` is false.
    """
    if out is None:
        return OutputDir(default_path(prefix, root), overwrite=False, default=True)
    path = Path(out)
    if not overwrite:
        refuse_existing(path)
    return OutputDir(path, overwrite=overwrite, default=False)
