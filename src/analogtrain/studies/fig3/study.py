"""Running the Fig. 3 study: its sweep of training runs, the directory, results, claims and figures
(see :mod:`analogtrain.studies.fig3`)."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path
from typing import Any

from analogtrain.errors import ConfigError
from analogtrain.jsonio import read_json, write_json
from analogtrain.studies.fig3.claims import _r, claims, final_test
from analogtrain.studies.fig3.config import (
    HYPERPARAMETERS,
    Fig3Config,
    base_training_config,
    run_names,
    sgd_algorithm,
    shd_algorithm,
)
from analogtrain.studies.fig3.plot import plot_fig3, plot_pulse_responses, pulse_responses
from analogtrain.sweep import SweepSpec, run_sweep
from analogtrain.sweep.results import metric_order, read_metrics, write_results_csv
from analogtrain.training.config import TextConfig
from analogtrain.training.data_fetch import get_source
from analogtrain.training.datasets import read_text
from analogtrain.training.run_dir import check_replaceable, refuse_existing, remove_dir


def build_sweep(config: Fig3Config):
    """The :class:`~analogtrain.sweep.SweepSpec` of the study (FP, then SGD and SHD per level)."""
    runs = []
    for name, (algorithm, gamma) in run_names(config).items():
        if algorithm == "fp":
            runs.append({"name": name})
        else:
            builder = sgd_algorithm if algorithm == "sgd" else shd_algorithm
            runs.append({"name": name, "set": {"algorithm": builder(config, gamma)}})
    return SweepSpec(name="fig3", base=base_training_config(config), runs=runs, retries=2)


# ---------------------------------------------------------------------------------------------
# Running


def prepare_directory(out: Path, config: Fig3Config, overwrite: bool) -> None:
    """Refuse an existing directory that is not this study's (or holds another config) unless overwrite."""
    marker = out / "fig3.json"
    if out.exists() or out.is_symlink():
        if overwrite:
            check_replaceable(out)  # only an analogtrain output directory (run_dir.MARKERS)
            remove_dir(out)
        elif marker.is_file():
            if read_json(marker) != config.to_dict():
                raise ConfigError(
                    f"--out: '{out}' holds a Fig. 3 study with other settings; pass --overwrite to replace it "
                    "or choose another directory"
                )
        elif not (out.is_dir() and not any(out.iterdir())):
            refuse_existing(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(marker, config.to_dict())


def run_fig3(
    config: Fig3Config,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    device: str = "cpu",
    progress: bool = True,
    insets: bool = True,
) -> dict[str, Any]:
    """Run (or resume) the study into ``out``; return the summary (also written to summary.json)."""
    path = Path(config.data).expanduser()
    if not path.is_file():
        raise ConfigError(f"--data: text file '{config.data}' does not exist "
                          "(get it with: analogtrain data fetch war-and-peace --out PATH)")
    out = Path(out)
    spec = build_sweep(config)
    spec.expand()  # validates every run's config before anything is written
    # An empty or too short --data fails here, before anything is written (the dataset's own
    # check names the file and the split that is too short).
    from analogtrain.studies.fig3.config import base_training_config
    from analogtrain.training.config import TrainingConfig
    from analogtrain.training.datasets import load_dataset

    load_dataset(TrainingConfig.from_dict(base_training_config(config)).dataset)
    prepare_directory(out, config, overwrite)
    start = time.time()
    sweep_summary = run_sweep(spec, out / "sweep", scheduler=scheduler, workers=workers, device=device,
                              progress=progress)
    return write_outputs(config, out, sweep_summary, wall_time_s=time.time() - start, insets=insets)


# ---------------------------------------------------------------------------------------------
# Results and claims


def text_report(config: Fig3Config) -> dict[str, Any]:
    """What the study trained and tested on: the characters used and where War and Peace's closing
    words fall in them. Text after the book's last sentence (a file with something appended) lands
    in the test split and raises the test cross-entropy of every run alike."""
    text = read_text(TextConfig(path=config.data, seq_len=config.seq_len, max_chars=config.max_chars))
    closing = get_source("war-and-peace").markers[-1]
    matches = list(re.finditer(r"\s+".join(map(re.escape, closing.split())) + r"\W?", text))  # any line breaks
    report: dict[str, Any] = {"characters": len(text), "book_closing_words": closing,
                              "characters_after_book_end": None}
    if matches:
        book_end = matches[-1].end()
        report["characters_after_book_end"] = len(text[book_end:].rstrip())
        report["book_end"] = book_end
    return report


def curves(config: Fig3Config, out: Path) -> dict[str, list[dict[str, Any]]]:
    """run name -> per-epoch rows (epoch, train_loss, val_loss, test_loss, ...) from its metrics.csv."""
    return {name: read_metrics(out / "sweep" / "runs" / name / "metrics.csv") for name in run_names(config)}


def write_outputs(config: Fig3Config, out: Path, sweep_summary: dict[str, Any], *, wall_time_s: float,
                  insets: bool = True) -> dict[str, Any]:
    """results.csv, summary.json and the figures from the runs' metrics."""
    names = run_names(config)
    rows = curves(config, out)
    statuses = {r["name"]: r for r in sweep_summary.get("runs", [])}
    table, metric_keys = [], []
    for name, (algorithm, gamma) in names.items():
        for row in rows[name]:
            table.append({"run": name, "algorithm": algorithm, "gamma": gamma,
                          "status": statuses.get(name, {}).get("status"), **row})
            metric_keys += [k for k in row if k != "epoch" and k not in metric_keys]
    metric_keys.sort(key=metric_order)
    write_results_csv(out / "results.csv", table, ["run", "algorithm", "gamma", "status", "epoch", *metric_keys])

    finals = {name: final_test(rows[name], config.epochs) for name in names}
    responses = pulse_responses(config) if insets else {}
    plot_fig3(config, rows, responses, out / "fig3.png")
    if responses:
        plot_pulse_responses(config, responses, out / "pulse_response.png")
    summary = {
        "study": "Fig. 3: LSTM2-64WP on War and Peace, analog SGD vs SHD on devices of increasing asymmetry",
        "config": config.to_dict(),
        "hyperparameters": HYPERPARAMETERS,
        "final_test_cross_entropy": {name: _r(v) for name, v in finals.items()},
        "runs": {name: {"algorithm": a, "gamma": g, "status": statuses.get(name, {}).get("status"),
                        "final_test_cross_entropy": _r(finals[name]),
                        "error": statuses.get(name, {}).get("error"),
                        "wall_time_s": (statuses.get(name, {}).get("summary") or {}).get("wall_time_s")}
                 for name, (a, g) in names.items()},
        "claims": claims(config, finals, rows),
        "text": text_report(config),
        "sweep": {"counts": sweep_summary.get("counts"), "cluster": sweep_summary.get("cluster")},
        "wall_time_s": round(wall_time_s, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "files": ["results.csv", "fig3.png", "pulse_response.png", "sweep/"],
    }
    write_json(out / "summary.json", summary)
    return summary
