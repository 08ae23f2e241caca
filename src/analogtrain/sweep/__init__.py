"""Sweeps: many training runs from one base config, on a Dask cluster, resumable.

* :mod:`~analogtrain.sweep.spec` — the sweep file: base config, grid / list of dotted-key
  overrides, run names and config hashes;
* :mod:`~analogtrain.sweep.task` — what a worker does for one run (idempotent: always resumes);
* :mod:`~analogtrain.sweep.scheduler` — :func:`run_sweep`: a LocalCluster or an existing
  scheduler, retries, progress, skipping finished runs;
* :mod:`~analogtrain.sweep.results` — ``results.csv`` (one row per run and epoch) and
  ``summary.json``.
"""

from analogtrain.sweep.results import load_results_csv, read_metrics
from analogtrain.sweep.scheduler import run_sweep
from analogtrain.sweep.spec import DEFAULT_RUNNER, RunSpec, SweepSpec, apply_overrides, config_hash, set_path

__all__ = [
    "DEFAULT_RUNNER",
    "RunSpec",
    "SweepSpec",
    "apply_overrides",
    "config_hash",
    "load_results_csv",
    "read_metrics",
    "run_sweep",
    "set_path",
]
