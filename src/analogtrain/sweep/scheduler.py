"""Running a sweep on a Dask cluster: a local one of K worker processes, or an existing one.

:func:`run_sweep` lays out the sweep directory::

    DIR/sweep.json            the spec and, for every run ever planned here, its overrides and hash
    DIR/runs/<name>/          one training run (config, metrics.csv, checkpoints, summary.json)
    DIR/runs/<name>/error.txt the error of a run that failed (after its retries)
    DIR/logs/<name>.log       every attempt of the run: start (new, resumed), end or failure
    DIR/results.csv           one row per run and epoch (see :mod:`analogtrain.sweep.results`)
    DIR/summary.json          every run's status, final metrics or error, and the sweep's counts

and submits one task per run that is not finished yet. *Finished* means the run's ``summary.json``
exists and says so, and the run's config hash equals the planned one, so re-running a finished
sweep submits nothing, and re-running an interrupted one submits only what is left — each resumed
from its own checkpoint (see :func:`~analogtrain.sweep.task.execute_run`). A run that raises is
retried ``retries`` times, then recorded as failed with its error; it never stops the other runs.
A worker that dies (killed, out of memory) is replaced by Dask and its run is rescheduled on
another worker, resuming from the last checkpoint, so it loses at most the epoch in progress; the
scheduler gives up on a run after ``distributed.scheduler.allowed-failures`` such deaths (default
3) and records it as failed. ``results.csv`` and ``summary.json`` are rewritten as runs finish.

Every worker must see ``DIR`` (the same filesystem as the client). Interrupting the client stops
a local cluster at once; on an existing cluster the runs already executing finish in the
background (Dask cannot stop a running task), so wait for them before re-running the sweep.

An existing ``DIR`` that is not a sweep directory, or one whose runs were made with a different
config, is refused unless ``overwrite`` is given, which replaces it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from analogtrain.errors import ConfigError
from analogtrain.jsonio import atomic_write_text, read_json, write_json
from analogtrain.sweep import results as R
from analogtrain.sweep.progress import Progress
from analogtrain.sweep.spec import RunSpec, SweepSpec, validate_runs
from analogtrain.sweep.task import (
    ERROR_FILE,
    EVENT_TOPIC,
    METRICS_FILE,
    SUMMARY_FILE,
    LOGS_DIR,
    config_checker,
    count_attempts,
    execute_run,
    is_complete,
)
from analogtrain.training.run_dir import check_replaceable, remove_dir

SWEEP_JSON = "sweep.json"
MAX_WORKERS = 1024

#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT_S = 20

#: Seconds between rewrites of results.csv / summary.json while runs are finishing.
WRITE_INTERVAL_S = 1.0


# ---------------------------------------------------------------------------------------------
# The sweep directory


def _run_dir(out: Path, name: str) -> Path:
    return out / R.RUNS_DIR / name


def _log_path(out: Path, name: str) -> Path:
    return out / LOGS_DIR / f"{name}.log"


def prepare_directory(out: Path, spec: SweepSpec, runs: Sequence[RunSpec], overwrite: bool) -> dict[str, Any]:
    """Check (and make) the sweep directory; return the run records to keep in sweep.json."""
    records: dict[str, Any] = {}
    if out.exists() or out.is_symlink():
        marker = out / SWEEP_JSON
        if overwrite:
            check_replaceable(out)  # only an analogtrain output directory (run_dir.MARKERS)
            remove_dir(out)
        elif marker.is_file():
            previous = read_json(marker)
            if not isinstance(previous, dict) or not isinstance(previous.get("runs"), dict):
                raise ConfigError(f"--out: '{marker}' is unreadable; pass --overwrite to start the sweep afresh")
            records = previous["runs"]
            for run in runs:
                old = records.get(run.name)
                if old is not None and old.get("config_hash") != run.config_hash and _run_dir(out, run.name).exists():
                    raise ConfigError(
                        f"--out: run {run.name!r} in '{out}' was made with a different config "
                        f"(overrides then: {old.get('overrides')}); pass --overwrite to start the sweep "
                        "afresh, or write the sweep to a new directory"
                    )
        elif out.is_dir() and not any(out.iterdir()):
            pass
        else:
            raise ConfigError(
                f"--out: output directory '{out}' already exists and is not a sweep directory; "
                "pass --overwrite to replace it"
            )
    (out / R.RUNS_DIR).mkdir(parents=True, exist_ok=True)
    for run in runs:
        records[run.name] = {"overrides": run.overrides, "config_hash": run.config_hash}
    write_json(out / SWEEP_JSON, {"spec": spec.to_dict(), "runs": records})
    return records


def is_finished(out: Path, run: RunSpec, records: Mapping[str, Any]) -> bool:
    """Finished: the run's summary.json says so and it was made with this run's config."""
    record = records.get(run.name)
    return (
        record is not None
        and record.get("config_hash") == run.config_hash
        and is_complete(_run_dir(out, run.name))
    )


# ---------------------------------------------------------------------------------------------
# Collection


class Collector:
    """Keeps every run's record and per-epoch metrics; writes results.csv and summary.json."""

    def __init__(self, out: Path, spec: SweepSpec, runs: Sequence[RunSpec], cluster: str) -> None:
        self.out, self.spec, self.runs, self.cluster = out, spec, list(runs), cluster
        self.records: dict[str, dict[str, Any]] = {}
        self.metrics: dict[str, list[dict[str, Any]]] = {}
        self.started = time.time()
        self.ran_now: list[str] = []
        self.skipped: list[str] = []
        self._last_write = 0.0
        for run in runs:
            self.records[run.name] = {"name": run.name, "status": R.PENDING, "overrides": run.overrides,
                                      "config_hash": run.config_hash, "error": None, "summary": None}
            self.metrics[run.name] = R.read_metrics(_run_dir(out, run.name) / METRICS_FILE)

    def finished(self, run: RunSpec, wall_time_s: float | None = None, skipped: bool = False) -> None:
        run_dir = _run_dir(self.out, run.name)
        record = self.records[run.name]
        record.update(status=R.FINISHED, error=None, summary=read_json(run_dir / SUMMARY_FILE),
                      attempts=count_attempts(_log_path(self.out, run.name)))
        if wall_time_s is not None:
            record["wall_time_s"] = wall_time_s
        with contextlib.suppress(FileNotFoundError):
            (run_dir / ERROR_FILE).unlink()
        self.metrics[run.name] = R.read_metrics(run_dir / METRICS_FILE)
        (self.skipped if skipped else self.ran_now).append(run.name)

    def failed(self, run: RunSpec, error: str, details: str) -> None:
        run_dir = _run_dir(self.out, run.name)
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / ERROR_FILE, f"{error}\n\n{details.rstrip()}\n")
        record = self.records[run.name]
        record.update(status=R.FAILED, error=error, summary=None, attempts=count_attempts(_log_path(self.out, run.name)))
        self.metrics[run.name] = R.read_metrics(run_dir / METRICS_FILE)
        self.ran_now.append(run.name)

    def counts(self) -> dict[str, int]:
        statuses = [r["status"] for r in self.records.values()]
        return {"runs": len(statuses), R.FINISHED: statuses.count(R.FINISHED),
                R.FAILED: statuses.count(R.FAILED), R.PENDING: statuses.count(R.PENDING)}

    def summary(self) -> dict[str, Any]:
        return {
            "sweep": self.spec.name,
            "out": str(self.out),
            "runner": self.spec.runner,
            "cluster": self.cluster,
            "written": _dt.datetime.now().isoformat(timespec="seconds"),
            "wall_time_s": time.time() - self.started,
            "counts": self.counts(),
            "ran_now": list(self.ran_now),
            "skipped_finished": list(self.skipped),
            "runs": [self.records[run.name] for run in self.runs],
        }

    def write(self, force: bool = True) -> dict[str, Any]:
        now = time.time()
        summary = self.summary()
        if force or now - self._last_write >= WRITE_INTERVAL_S:
            rows, columns = R.results_rows([self.records[r.name] for r in self.runs], self.metrics)
            R.write_results_csv(self.out / R.RESULTS_CSV, rows, columns)
            write_json(self.out / R.SUMMARY_JSON, summary)
            self._last_write = now
        return summary


# ---------------------------------------------------------------------------------------------
# The cluster


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int):
    """A connected Client: to ``scheduler`` if given, else to a new LocalCluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as error:
            raise ConfigError(f"--scheduler: cannot connect to the Dask scheduler at {scheduler!r} ({error})") from None
        try:
            yield client, f"scheduler {scheduler}"
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL)  # errors go to logs/ and error.txt
    client = Client(cluster)
    try:
        yield client, f"local cluster of {workers} worker process(es)"
    finally:
        client.close()
        cluster.close()


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    device: str = "cpu",
    progress: bool = True,
    torch_threads: int | None = None,
    on_run_finished: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run every unfinished run of ``spec`` into ``out``; return the sweep summary (also written).

    ``scheduler``: address of a running Dask scheduler (``tcp://host:port``); None starts a
    LocalCluster of ``workers`` processes (default: one per CPU core, at most one per run).
    ``torch_threads``: torch intra-op threads per run (default: cores / workers on a local cluster,
    the worker's thread count on an existing one). ``on_run_finished`` is called with each run's record as it ends.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= MAX_WORKERS):
        raise ConfigError(f"--workers: must be an integer in [1, {MAX_WORKERS}], got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"--scheduler: expected an address such as tcp://127.0.0.1:8786, got {scheduler!r}")
    if torch_threads is not None and (not isinstance(torch_threads, int) or torch_threads < 1):
        raise ConfigError(f"torch_threads: must be a positive integer, got {torch_threads!r}")
    runs = spec.expand()
    try:
        validator = config_checker(spec.runner)
    except ConfigError:  # a runner only the workers can import: they check their run's config
        validator = None
    if validator is not None:
        validate_runs(runs, validator)
    out = Path(out)
    records = prepare_directory(out, spec, runs, overwrite)

    todo = [run for run in runs if not is_finished(out, run, records)]
    cores = os.cpu_count() or 1
    n_workers = workers or max(1, min(len(todo), cores))
    where = f"scheduler {scheduler}" if scheduler else f"local cluster of {n_workers} worker process(es)"
    collector = Collector(out, spec, runs, where)
    todo_names = {run.name for run in todo}
    for run in runs:
        if run.name not in todo_names:
            collector.finished(run, skipped=True)
    if not todo:
        return collector.write()
    if torch_threads is None and not scheduler:
        torch_threads = max(1, cores // n_workers)

    for run in todo:  # a stale error of an earlier attempt is replaced by this one's outcome
        with contextlib.suppress(FileNotFoundError):
            (_run_dir(out, run.name) / ERROR_FILE).unlink()
    collector.write()
    bar = Progress(len(todo), progress)
    token = uuid.uuid4().hex[:8]
    try:
        with dask_client(scheduler, n_workers) as (client, where):
            collector.cluster = where
            with contextlib.suppress(Exception):
                client.subscribe_topic(EVENT_TOPIC, bar.event)
            futures = {}
            for run in todo:
                future = client.submit(
                    execute_run, str(_run_dir(out, run.name)), str(_log_path(out, run.name)), run.name,
                    run.config, spec.runner, device,
                    torch_threads, key=f"analogtrain-{spec.name}-{run.name}-{token}", retries=spec.retries,
                    pure=False,
                )
                futures[future] = run
            _drain(futures, collector, bar, on_run_finished)
    finally:
        bar.close()
        summary = collector.write()
    return summary


def _drain(futures: dict, collector: Collector, bar: Progress, on_run_finished) -> None:
    from distributed import wait

    pending = set(futures)
    while pending:
        try:
            done, pending = wait(pending, timeout=0.5, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        for future in done:
            run = futures[future]
            if future.status not in ("finished", "error", "cancelled"):
                # Lost with a worker that died after the run ended (its result lived there): Dask
                # recomputes it (the run resumes, finds itself finished and returns at once).
                pending.add(future)
                continue
            if future.status == "finished":
                result = future.result()
                if result.get("error"):
                    collector.failed(run, result["error"], result.get("traceback", ""))
                    bar.completed(run.name, False, f"failed: {result['error']}")
                else:
                    collector.finished(run, wall_time_s=result.get("wall_time_s"))
                    bar.completed(run.name, True, f"finished in {result.get('wall_time_s', 0):.1f} s")
            else:
                error, details = _describe_failure(future)
                if error is None:  # the status changed under us (lost, then recomputed): wait on
                    pending.add(future)
                    continue
                collector.failed(run, error, details)
                bar.completed(run.name, False, f"failed: {error}")
            if on_run_finished is not None:
                on_run_finished(dict(collector.records[run.name]))
            future.release()
        bar.refresh()
        collector.write(force=not pending)


def _describe_failure(future) -> tuple[str | None, str]:
    """(error text, traceback) of a failed future; (None, "") if it has no exception after all."""
    import traceback as _tb

    try:
        exception = future.exception()
    except Exception as error:  # cancelled, lost scheduler
        return f"{type(error).__name__}: {error}", ""
    if exception is None:
        return None, ""
    name = type(exception).__name__
    if name == "KilledWorker":
        error = ("KilledWorker: the worker running this run died too many times "
                 "(distributed.scheduler.allowed-failures); see logs/<name>.log")
    else:
        error = f"{name}: {exception}"
    try:
        details = "".join(_tb.format_tb(future.traceback()))
    except Exception:
        details = ""
    return error, details
