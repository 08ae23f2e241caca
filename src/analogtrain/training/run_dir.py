"""Run directories: where a run (training, a figure, a sweep) writes, checked before any work.

DESIGN.md §4: a run writes one directory and never overwrites an existing one unless asked to.

* :func:`plan_output_dir` / :class:`OutputDir`: by default a new, uniquely named directory under
  ``./runs/`` (:func:`default_path`); an explicit ``--out`` that exists is refused unless
  ``overwrite``, in which case it is replaced (:func:`remove_dir`) when the results are ready.
* :func:`refuse_existing`: the one error for an existing directory.
* :func:`remove_dir`: delete a directory (or file) to replace it, refusing a root, the home
  directory, the working directory or one that holds it.
* :func:`is_output_dir` / :func:`check_replaceable`: ``--overwrite`` replaces only an analogtrain
  output directory (or an empty directory), recognised by its marker files (:data:`MARKERS`);
  anything else (a file, a directory of photos) is refused with a ConfigError.
* :class:`Replacement`: ``--overwrite`` never deletes first. The new run writes into a sibling
  temporary directory (``.NAME.new-PID``); :meth:`Replacement.commit` renames the old directory
  aside (``.NAME.old-PID``), renames the new one in, then deletes the old one;
  :meth:`Replacement.abort` deletes the temporary directory. A failed or interrupted overwrite
  leaves the previous run as it was.
* :func:`slug` / :func:`timestamp`: pieces of generated directory names.
"""

from __future__ import annotations

import contextlib
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


#: Marker files of an analogtrain output directory: ``config.json`` with one of ``summary.json``,
#: ``metrics.csv`` or ``checkpoint.pt`` (a training run, ``device show``, a ``reproduce`` study),
#: or one of the files alone that only analogtrain writes: ``sweep.json`` (a sweep),
#: ``fig3.json`` (the Fig. 3 study), ``fit.json`` (``device fit``), ``report.md`` +
#: subdirectories of studies (``reproduce single-parameter``).
MARKERS_WITH_CONFIG = ("summary.json", "metrics.csv", "checkpoint.pt")
MARKERS_ALONE = ("sweep.json", "fig3.json", "fit.json")
MARKERS = ("config.json",) + MARKERS_WITH_CONFIG + MARKERS_ALONE


def is_output_dir(path: str | os.PathLike) -> bool:
    """True if ``path`` is a real directory (not a link) that analogtrain wrote, or is empty."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return False
    names = {child.name for child in path.iterdir()}
    if not names:
        return True
    if any(name in names for name in MARKERS_ALONE):
        return True
    if "config.json" in names and any(name in names for name in MARKERS_WITH_CONFIG):
        return True
    # reproduce single-parameter: report.md and one study directory (config.json + summary.json) per study
    if "report.md" in names and any(is_output_dir(path / name) and (path / name / "config.json").is_file()
                                    for name in names if (path / name).is_dir()):
        return True
    return False


def _refuse_special(path: Path) -> None:
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved in {Path(resolved.anchor), Path.home().resolve()} or resolved == cwd or resolved in cwd.parents:
        raise ConfigError(f"--out: refusing to replace '{path}' (it holds the working directory or is a root)")


def check_replaceable(path: str | os.PathLike) -> None:
    """ConfigError unless ``path`` is absent or an analogtrain output directory (see :data:`MARKERS`)."""
    path = Path(path)
    if not exists(path):
        return
    _refuse_special(path)
    if not is_output_dir(path):
        kind = "a directory" if path.is_dir() and not path.is_symlink() else "a file or link"
        raise ConfigError(
            f"--out: refusing to overwrite '{path}': it is {kind} that is not an analogtrain output "
            f"directory (none of its marker files {list(MARKERS)}); remove it yourself or choose another --out"
        )


class Replacement:
    """Write a new output directory beside ``path`` and swap it in (see the module docstring)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        check_replaceable(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.work = self.path.with_name(f".{self.path.name}.new-{os.getpid()}")
        if exists(self.work):
            shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir()
        self.done = False

    def commit(self) -> Path:
        """Swap the new directory in: old aside, new in, old deleted; return ``path``."""
        if self.done:
            return self.path
        aside = None
        if exists(self.path):
            check_replaceable(self.path)
            aside = self.path.with_name(f".{self.path.name}.old-{os.getpid()}")
            if exists(aside):
                shutil.rmtree(aside, ignore_errors=True)
            os.rename(self.path, aside)
        try:
            os.rename(self.work, self.path)
        except BaseException:
            if aside is not None:
                os.rename(aside, self.path)
            raise
        self.done = True
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        """Delete the new directory, leaving ``path`` as it was."""
        if not self.done:
            shutil.rmtree(self.work, ignore_errors=True)
            self.done = True


def exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def refuse_existing(path: Path, hint: str = "") -> None:
    """ConfigError if ``path`` exists (``hint``: more ways out than ``--overwrite``)."""
    if exists(path):
        raise ConfigError(f"--out: output directory '{path}' already exists; pass --overwrite to replace it{hint}")


def remove_dir(path: Path) -> None:
    """Delete ``path`` (a directory tree, a file or a link) so that a run can replace it."""
    path = Path(path)
    _refuse_special(path)
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
        if overwrite and not default:
            check_replaceable(path)

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
            check_replaceable(self.path)
            remove_dir(self.path)
        self.path.mkdir(parents=True, exist_ok=False)
        return self.path

    @contextlib.contextmanager
    def writing(self):
        """Yield the directory to write the results into; on success it becomes :attr:`path`.

        An existing directory (``overwrite``) is replaced only when the block succeeds (written
        beside it and swapped in, :class:`Replacement`); on an error the new files are deleted
        and the old directory is left as it was.
        """
        if self.default or not exists(self.path):
            yield self.create()
            return
        if not self.overwrite:
            refuse_existing(self.path)
        replacement = Replacement(self.path)
        try:
            yield replacement.work
        except BaseException:
            replacement.abort()
            raise
        replacement.commit()


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
