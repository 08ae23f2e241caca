"""Collecting a sweep's results: ``results.csv`` (one row per run and epoch) and ``summary.json``.

Each run's ``metrics.csv`` (rows of epoch, split, loss, accuracy, wall time, ...) is read and turned
into one row per epoch, with a column per split and quantity (``train_loss``, ``test_loss``,
``test_accuracy``, ...). A row written twice for the same epoch and split (an epoch redone after a
resume) counts once — the last one — so every result appears exactly once. The row starts with the
run's name, its status and one column per override key, so the table can be filtered and pivoted
without looking anything up.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from analogtrain.jsonio import atomic_write_text

#: Files and columns.
RESULTS_CSV = "results.csv"
SUMMARY_JSON = "summary.json"
RUNS_DIR = "runs"

#: Columns of metrics.csv that belong to the epoch, not to a split: kept once, unprefixed.
EPOCH_COLUMNS = ("lr", "wall_time_s", "wall_time")

#: Run states recorded in the summary.
FINISHED, FAILED, PENDING = "finished", "failed", "pending"


def _number(text: str) -> Any:
    if text is None:
        return None
    text = text.strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    if value.is_integer() and "." not in text and "e" not in text.lower() and "inf" not in text.lower():
        return int(value)
    return value


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """One dict per epoch from a run's metrics.csv (``{split}_{column}`` keys); [] if absent.

    Without a ``split`` column the columns are kept as they are, as are :data:`EPOCH_COLUMNS`
    (learning rate, wall time). Rows without an ``epoch`` are
    ignored. Later rows for the same (epoch, split) replace earlier ones.
    """
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    epochs: dict[Any, dict[str, Any]] = {}
    for row in rows:
        epoch = _number(row.get("epoch", ""))
        if epoch is None:
            continue
        record = epochs.setdefault(epoch, {"epoch": epoch})
        split = (row.get("split") or "").strip()
        for key, text in row.items():
            if key in ("epoch", "split") or key is None:
                continue
            column = f"{split}_{key}" if split and key not in EPOCH_COLUMNS else key
            record[column] = _number(text)
    return [epochs[e] for e in sorted(epochs, key=lambda e: (isinstance(e, str), e))]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (int, str)):
        return value
    return json.dumps(value, sort_keys=True)


def results_rows(records: Sequence[Mapping[str, Any]], metrics: Mapping[str, list[dict[str, Any]]]
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and column order of results.csv from run records and their per-epoch metrics."""
    override_keys: list[str] = []
    metric_keys: list[str] = []
    rows: list[dict[str, Any]] = []
    for record in records:
        for key in record.get("overrides", {}):
            if key not in override_keys:
                override_keys.append(key)
        for epoch_row in metrics.get(record["name"], []):
            for key in epoch_row:
                if key != "epoch" and key not in metric_keys:
                    metric_keys.append(key)
    fixed = ["run", "status"]
    override_columns = [k if k not in fixed + ["epoch"] else f"set.{k}" for k in override_keys]
    for record in records:
        base = {"run": record["name"], "status": record.get("status", PENDING)}
        for key, column in zip(override_keys, override_columns):
            base[column] = record.get("overrides", {}).get(key)
        for epoch_row in metrics.get(record["name"], []):
            row = dict(base)
            row.update(epoch_row)
            rows.append(row)
    return rows, fixed + override_columns + ["epoch"] + sorted(metric_keys, key=metric_order)


def metric_order(key: str) -> tuple[int, str]:
    """Sort key of result columns: train, val, test, then the per-epoch columns (lr, wall time)."""
    order = ("train", "val", "valid", "test")
    for i, split in enumerate(order):
        if key.startswith(split + "_"):
            return i, key
    return len(order), key


def write_results_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    atomic_write_text(path, text.getvalue())


def load_results_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read a sweep's results.csv back (numbers parsed)."""
    with Path(path).open(newline="") as handle:
        return [{k: _number(v) if k not in ("run", "status") else v for k, v in row.items()}
                for row in csv.DictReader(handle)]
