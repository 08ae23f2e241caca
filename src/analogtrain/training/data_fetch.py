"""Downloading public-domain texts from Project Gutenberg, without the licence header and footer.

Every Project Gutenberg plain-text eBook wraps the book between two marker lines::

    *** START OF THE PROJECT GUTENBERG EBOOK WAR AND PEACE ***      (older files: "OF THIS PROJECT")
    ... the book ...
    *** END OF THE PROJECT GUTENBERG EBOOK WAR AND PEACE ***

with the licence and the catalogue data outside them (and, in older files, a line "End of the
Project Gutenberg EBook of ..." just before the end marker). :func:`strip_gutenberg` keeps only
what lies between the markers; :func:`check_text` then checks the result against what is known of
the book (phrases it must contain, a minimum length, no licence text left), so a changed or wrong
download is caught before anything trains on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from analogtrain.errors import ConfigError
from analogtrain.training.progress import progress_bar

#: Largest download accepted (bytes).
MAX_BYTES = 64 * 2**20
CHUNK = 2**16
USER_AGENT = "analogtrain-data-fetch/1.0 (+https://www.gutenberg.org/policy/robot_access.html)"

_START = re.compile(r"^\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG E-?BOOK.*?\*{3}\s*$", re.I | re.M)
_END = re.compile(r"^\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG E-?BOOK.*?\*{3}\s*$", re.I | re.M)
_END_LINE = re.compile(r"^\s*End of (the )?Project Gutenberg'?s? E-?Book.*$", re.I | re.M)
_LICENCE_TRACES = ("PROJECT GUTENBERG LICENSE", "*** START OF", "*** END OF", "www.gutenberg.org/license")


@dataclasses.dataclass(frozen=True)
class TextSource:
    """A known text: where to get it and how to recognise it after stripping."""

    name: str
    url: str
    description: str
    #: Phrases the stripped text must contain (its opening and closing words, say).
    markers: tuple[str, ...]
    #: Fewest characters the stripped text may have.
    min_chars: int


SOURCES: dict[str, TextSource] = {
    "war-and-peace": TextSource(
        name="war-and-peace",
        url="https://www.gutenberg.org/cache/epub/2600/pg2600.txt",
        description="Leo Tolstoy, War and Peace (tr. Louise and Aylmer Maude), Project Gutenberg eBook #2600",
        markers=("Well, Prince, so Genoa and Lucca", "a dependence of which we are not conscious"),
        min_chars=3_000_000,
    ),
}


def get_source(name: str) -> TextSource:
    if name not in SOURCES:
        raise ConfigError(f"dataset must be one of {sorted(SOURCES)}, got {name!r}")
    return SOURCES[name]


def strip_gutenberg(text: str) -> str:
    """The book between the START and END marker lines (CRLF to LF, BOM and outer blank lines removed)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    start = _START.search(text)
    end = _END.search(text, start.end() if start else 0)
    if start is None or end is None:
        missing = "START" if start is None else "END"
        raise ConfigError(
            f"--url: the download is not a Project Gutenberg plain-text eBook: no '*** {missing} OF THE "
            "PROJECT GUTENBERG EBOOK ... ***' line was found"
        )
    body = text[start.end():end.start()]
    tail = None
    for tail in _END_LINE.finditer(body):
        pass
    if tail is not None and not body[tail.end():].strip():
        body = body[:tail.start()]
    return body.strip("\n ") + "\n"


def check_text(text: str, source: TextSource) -> dict[str, Any]:
    """Raise ConfigError unless ``text`` looks like ``source`` after stripping; return what was checked."""
    problems = []
    if len(text) < source.min_chars:
        problems.append(f"it has {len(text):,} characters, expected at least {source.min_chars:,}")
    missing = [m for m in source.markers if m not in text]
    if missing:
        problems.append(f"it lacks the expected passage(s) {missing}")
    traces = [t for t in _LICENCE_TRACES if t.lower() in text.lower()]
    if traces:
        problems.append(f"licence text remains ({traces})")
    if problems:
        raise ConfigError(f"--url: the downloaded text is not {source.description}: " + "; ".join(problems))
    return {"characters": len(text), "markers": list(source.markers), "min_chars": source.min_chars}


def download(url: str, timeout: float = 60.0, progress: bool = False) -> bytes:
    """The bytes at ``url`` (http, https or file), at most MAX_BYTES."""
    if not re.match(r"^(https?|file)://", url or ""):
        raise ConfigError(f"--url: must start with http://, https:// or file://, got {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            if total is not None and total > MAX_BYTES:
                raise ConfigError(f"--url: {url} is {total:,} bytes, more than the {MAX_BYTES:,} accepted")
            chunks, size = [], 0
            with progress_bar(total, "downloading", enabled=progress, unit="B", unit_scale=True,
                              leave=False) as bar:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise ConfigError(f"--url: {url} is larger than the {MAX_BYTES:,} bytes accepted")
                    chunks.append(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as error:
        raise ConfigError(f"--url: could not download {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise ConfigError(f"--url: could not download {url}: {reason}") from None
    return b"".join(chunks)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else ISO-8859-1 (Gutenberg's older files)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def fetch_text(name: str, out: str | os.PathLike, *, url: str | None = None, overwrite: bool = False,
               timeout: float = 60.0, progress: bool = False) -> dict[str, Any]:
    """Download text ``name`` (from ``url`` or its Gutenberg address), strip, check, write ``out`` (UTF-8).

    ``out`` must not exist unless ``overwrite``; it is written only after the checks pass, and
    atomically. Returns a summary: url, path, characters, distinct characters, sha256.
    """
    source = get_source(name)
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"--out: '{path}' is a directory; give the path of the text file to write")
    if path.exists() and not overwrite:
        raise ConfigError(f"--out: '{path}' already exists; pass --overwrite to replace it")
    url = url or source.url
    raw = download(url, timeout=timeout, progress=progress)
    text = strip_gutenberg(decode(raw))
    checks = check_text(text, source)
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return {
        "dataset": name,
        "url": url,
        "path": str(path),
        "bytes_downloaded": len(raw),
        "bytes": len(data),
        "characters": checks["characters"],
        "distinct_characters": len(set(text)),
        "sha256": hashlib.sha256(data).hexdigest(),
        "checks": checks,
    }
