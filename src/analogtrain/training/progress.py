"""Progress of long runs: a tqdm bar on a terminal, plain lines otherwise.

A bar redraws itself many times a second with carriage returns: right on a terminal, noise in a
log file, a pipe or a notebook's captured output. So :func:`progress_bar` shows one only when its
stream (stderr) is a terminal, and long runs report what matters — one line per epoch, per
finished run or per study — with :func:`progress_line` (stdout; above a bar when one is shown).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: the current ``sys.stderr``) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(total: int | None, desc: str, *, enabled: bool = True, file: TextIO | None = None,
                 **options: Any) -> tqdm:
    """A tqdm bar on ``file`` (default stderr), disabled unless ``enabled`` and ``file`` is a terminal."""
    file = sys.stderr if file is None else file
    options.setdefault("dynamic_ncols", True)
    return tqdm(total=total, desc=desc, file=file, disable=not (enabled and is_terminal(file)), **options)


def progress_line(text: str, *, enabled: bool = True, file: TextIO | None = None) -> None:
    """One plain line (default: on stdout), written above any bar shown, and flushed."""
    if not enabled:
        return
    file = sys.stdout if file is None else file
    tqdm.write(text, file=file)
    file.flush()
