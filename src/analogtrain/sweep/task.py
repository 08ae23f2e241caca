"""What a Dask worker does for one run of a sweep.

:func:`execute_run` is the task submitted for every run. It is *idempotent*: when the run's
directory holds a checkpoint (``checkpoint.*``) it calls the training function with
``resume=True``; when it holds only the remains of an attempt that died before its first
checkpoint it starts that run afresh (``overwrite=True`` — nothing of value is lost); otherwise it
starts a new run. So a second attempt — after the run raised and Dask retried it, or after the
worker running it was killed and the scheduler moved it to another worker — continues from the
last checkpoint and loses at most the epoch that was in progress. Every attempt is logged to
``logs/<name>.log`` beside ``runs/`` (start, end or failure with its traceback).

The worker must see the sweep's output directory (the same filesystem as the client): it writes
the run's checkpoints, metrics and summary there as training goes, which is what makes results
appear the moment a run finishes and what lets a retried run resume.

A *runner* (the training function) has the signature of
:func:`analogtrain.training.loop.train`: ``runner(config, out_dir, *, resume, overwrite,
device, progress) -> summary dict``; it refuses an existing directory unless resuming or
overwriting, keeps its checkpoint in ``out_dir/checkpoint.*`` and writes ``summary.json`` (with
``"status": "finished"`` when done) at the end. It may carry a ``check_config`` attribute
(:func:`config_checker`): the sweep then checks every run's config with it before any run
starts, and the runner is handed what it returns.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from analogtrain.errors import ConfigError
from analogtrain.jsonio import read_json
from analogtrain.sweep.spec import DEFAULT_RUNNER, resolve_runner

#: Topic of the Dask events a run sends when it starts (the client counts running runs with them).
EVENT_TOPIC = "analogtrain-sweep"

LOGS_DIR = "logs"

#: Errors a retry would only repeat: bad input, and a divergence (an exact resume diverges again).
NOT_RETRIED = (ConfigError, FloatingPointError)
ERROR_FILE = "error.txt"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.csv"


def load_runner(runner: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``; a clear ConfigError if it cannot be found."""
    module_name, _, attr = resolve_runner(runner).partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"runner: cannot import module {module_name!r} ({error})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"runner: module {module_name!r} has no function {attr!r}")
    return function


def config_checker(runner: str) -> Callable[[dict[str, Any]], Any] | None:
    """The runner's ``check_config`` attribute, if it has one: it turns a run's config mapping into
    what the runner takes (e.g. a :class:`~analogtrain.training.config.TrainingConfig`), raising
    ConfigError for a bad one, so that a sweep can check every run before any starts."""
    return getattr(load_runner(runner), "check_config", None)


def parse_config(runner: str, config: dict[str, Any]) -> Any:
    """The config object the runner takes: ``check_config(config)`` where it has one, else the dict."""
    check = config_checker(runner)
    return check(config) if check is not None else config


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _log(log: Path, line: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        os.fsync(handle.fileno())


_TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial")


def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether a run directory holds a checkpoint to resume from: a file ``checkpoint.*`` that is
    not a half-written temporary one (``.tmp``, ``.part``)."""
    return any(p.is_file() and p.suffix not in _TEMPORARY_SUFFIXES for p in Path(run_dir).glob("checkpoint.*"))


def _worker_threads() -> int | None:
    try:
        from distributed import get_worker

        worker = get_worker()
    except Exception:  # not on a Dask worker
        return None
    state = getattr(worker, "state", None)
    return getattr(state, "nthreads", None) or getattr(worker, "nthreads", None)


def _send_event(message: dict[str, Any]) -> None:
    try:
        from distributed import get_worker

        get_worker().log_event(EVENT_TOPIC, message)
    except Exception:  # not on a Dask worker (called directly) or an older distributed
        pass


def execute_run(
    run_dir: str,
    log: str,
    name: str,
    config: dict[str, Any],
    runner: str = DEFAULT_RUNNER,
    device: str = "cpu",
    torch_threads: int | None = None,
) -> dict[str, Any]:
    """Train one run into ``run_dir`` (resuming whatever is there); return a small result record.

    ``torch_threads``: torch intra-op threads (None: the Dask worker's thread count). Raises what
    the training raises, after logging it to ``log``, so that Dask's ``retries`` apply; the errors
    of :data:`NOT_RETRIED` (the same on every attempt) are returned as ``{"error": ...,
    "traceback": ...}`` instead.
    """
    path, log_path = Path(run_dir), Path(log)
    threads = torch_threads or _worker_threads()
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    resume = has_checkpoint(path)
    fresh_over_remains = not resume and path.exists()
    host, pid = socket.gethostname(), os.getpid()
    how = "resume" if resume else ("restart" if fresh_over_remains else "new")
    _log(log_path, f"{_now()} start host={host} pid={pid} ({how})")
    _send_event({"run": name, "event": "start", "pid": pid})
    start = time.perf_counter()
    try:
        function = load_runner(runner)
        summary = function(parse_config(runner, config), path, resume=resume, overwrite=fresh_over_remains,
                           device=device, progress=False)
    except BaseException as error:
        elapsed = time.perf_counter() - start
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        _log(log_path, f"{_now()} failed after {elapsed:.1f} s: {type(error).__name__}: {error}\n"
                       + "".join("    " + line + "\n" for line in text.splitlines()))
        _send_event({"run": name, "event": "failed"})
        if isinstance(error, NOT_RETRIED):
            # Bad input (or a divergence, which an exact resume repeats) fails the same way every
            # time: record it, do not let Dask retry it.
            return {"name": name, "wall_time_s": elapsed, "host": host, "pid": pid, "summary": None,
                    "error": f"{type(error).__name__}: {error}", "traceback": text}
        raise
    elapsed = time.perf_counter() - start
    _log(log_path, f"{_now()} end after {elapsed:.1f} s")
    _send_event({"run": name, "event": "end"})
    return {"name": name, "wall_time_s": elapsed, "host": host, "pid": pid,
            "summary": summary if isinstance(summary, dict) else None}


def is_complete(run_dir: str | Path) -> bool:
    """The run's summary.json exists and says it finished (a summary without a status counts)."""
    summary = read_json(Path(run_dir) / SUMMARY_FILE)
    return isinstance(summary, dict) and summary.get("status", "finished") == "finished"


def count_attempts(log: str | Path) -> int:
    """How many attempts a run has started (lines ``... start host=...`` of its log)."""
    log = Path(log)
    if not log.is_file():
        return 0
    return sum(1 for line in log.read_text().splitlines() if " start host=" in line)
