"""Measured pulse responses: reading them (CSV or arrays) and inferring the pulse directions.

Input: the weight (normalised conductance) read after each pulse of alternating up and down
sweeps — a CSV file with columns ``pulse,conductance[,direction]`` or the same as arrays. Row k
holds the reading after pulse number ``pulse[k]``; the ``pulse[k] − pulse[k−1]`` pulses between two
rows all had direction ``direction[k]`` (+1 up, −1 down; the first row's is ignored). Without a
direction column the directions are inferred (:func:`infer_directions`) from the sign of
successive differences, made robust to read noise by a hysteresis ("zigzag") segmentation: a sweep
ends at its running extreme once the readings have retreated from it by more than
``turn_threshold`` × (range of the data); the turn is placed at the last reading within 3 noise
standard deviations of that extreme (the noise is estimated from second differences).
:mod:`analogtrain.devices.fitting` fits a model to such data.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analogtrain.errors import ConfigError

#: Fewest readings accepted.
MIN_POINTS = 10


@dataclasses.dataclass
class PulseData:
    """Readings of a pulse-response measurement (see module docstring)."""

    pulse: np.ndarray  # (n,) pulse numbers, strictly increasing
    conductance: np.ndarray  # (n,) readings
    direction: np.ndarray  # (n,) +1/−1 for the pulses before each row (row 0: 0)
    inferred: bool  # directions were inferred

    @property
    def counts(self) -> np.ndarray:
        """Pulses between consecutive rows (row 0: 0)."""
        return np.concatenate([[0], np.diff(self.pulse)]).astype(np.int64)



def load_pulse_data(source: Any, turn_threshold: float = 0.1) -> PulseData:
    """Parse a CSV path, a mapping of columns, a sequence of 2–3 columns or a (n, 2|3) array."""
    if isinstance(source, PulseData):
        return source
    if not 0.0 < turn_threshold < 1.0:
        raise ConfigError(f"turn_threshold must be in (0, 1), got {turn_threshold!r}")
    if isinstance(source, (str, Path)):
        columns = _read_csv(Path(source))
    elif isinstance(source, Mapping):
        columns = {str(k).strip().lower(): v for k, v in source.items()}
    elif isinstance(source, np.ndarray) and source.ndim == 2:
        columns = _positional(list(source.T))
    elif isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        columns = _positional(list(source))
    else:
        raise ConfigError(
            "pulse data must be a CSV path, a mapping or a sequence of columns "
            f"(pulse, conductance[, direction]), got {type(source).__name__}"
        )
    for name in ("pulse", "conductance"):
        if name not in columns:
            raise ConfigError(f"pulse data lacks the column {name!r}; needs pulse, conductance[, direction]")
    pulse = _column("pulse", columns["pulse"])
    conductance = _column("conductance", columns["conductance"])
    if len(pulse) != len(conductance):
        raise ConfigError(
            f"columns pulse ({len(pulse)}) and conductance ({len(conductance)}) differ in length"
        )
    if len(pulse) < MIN_POINTS:
        raise ConfigError(f"pulse data needs at least {MIN_POINTS} readings, got {len(pulse)}")
    steps = np.diff(pulse)
    if np.any(steps <= 0) or np.any(steps != np.round(steps)):
        raise ConfigError("column pulse must hold strictly increasing whole pulse numbers")
    if "direction" in columns and columns["direction"] is not None:
        direction = _column("direction", columns["direction"])
        if len(direction) != len(pulse):
            raise ConfigError(f"column direction has {len(direction)} values, expected {len(pulse)}")
        direction = direction.copy()
        direction[0] = 0.0
        if not np.all(np.isin(direction[1:], (-1.0, 1.0))):
            raise ConfigError("column direction must hold +1 (up) or -1 (down)")
        inferred = False
    else:
        direction = infer_directions(conductance, turn_threshold)
        inferred = True
    return PulseData(pulse, conductance, direction, inferred)


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ConfigError(f"pulse data file {str(path)!r} does not exist")
    with path.open(newline="") as handle:
        reader = csv.reader(row for row in handle if row.strip() and not row.lstrip().startswith("#"))
        try:
            header = next(reader)
        except StopIteration:
            raise ConfigError(f"pulse data file {str(path)!r} is empty") from None
        names = [h.strip().lower() for h in header]
        rows = list(reader)
    values: dict[str, list[float]] = {name: [] for name in names}
    for number, row in enumerate(rows, start=2):
        if len(row) != len(names):
            raise ConfigError(f"{path}: line {number} has {len(row)} fields, the header {len(names)}")
        for name, text in zip(names, row):
            try:
                values[name].append(float(text))
            except ValueError:
                raise ConfigError(f"{path}: line {number}, column {name!r}: not a number: {text!r}") from None
    return {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}


def _positional(columns: list) -> dict[str, Any]:
    if len(columns) not in (2, 3):
        raise ConfigError(
            f"pulse data needs 2 or 3 columns (pulse, conductance[, direction]), got {len(columns)}"
        )
    names = ("pulse", "conductance", "direction")
    return dict(zip(names, columns))


def _column(name: str, values: Any) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"column {name!r} must hold numbers") from None
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"column {name!r} must hold finite numbers (no NaN or inf)")
    return array


def infer_directions(g: np.ndarray, turn_threshold: float = 0.1) -> np.ndarray:
    """Per-row pulse directions of alternating sweeps from the readings alone (module docstring)."""
    g = np.asarray(g, dtype=np.float64)
    span = float(g.max() - g.min())
    if span <= 0:
        raise ConfigError("cannot infer pulse directions: the readings do not change")
    theta = turn_threshold * span
    second = np.diff(g, 2)
    # Robust read-noise estimate: second differences of a smooth curve are noise of variance 6σ².
    noise = 0.0
    if len(second):
        noise = 1.4826 * float(np.median(np.abs(second - np.median(second)))) / math.sqrt(6.0)
    band = 3.0 * noise
    n = len(g)
    direction = np.zeros(n)
    trend, last, ext, low, high = 0, 0, 0, 0, 0

    def turn_index(extreme: int, upto: int, sign: int) -> int:
        # Last reading in [extreme, upto] within `band` of the extreme (in the sweep's sense).
        window = g[extreme : upto + 1]
        close = np.nonzero(sign * (g[extreme] - window) <= band)[0]
        return extreme + int(close[-1])

    for k in range(1, n):
        if trend == 0:
            high = k if g[k] > g[high] else high
            low = k if g[k] < g[low] else low
            if g[k] - g[low] > theta:  # rising from the lowest point so far
                direction[1 : low + 1] = -1.0
                trend, last = 1, low
                ext = low + int(np.argmax(g[low : k + 1]))
            elif g[high] - g[k] > theta:
                direction[1 : high + 1] = 1.0
                trend, last = -1, high
                ext = high + int(np.argmin(g[high : k + 1]))
            continue
        if trend * (g[k] - g[ext]) > 0:
            ext = k
        elif trend * (g[ext] - g[k]) > theta:
            turn = turn_index(ext, k, trend)
            direction[last + 1 : turn + 1] = trend
            trend, last = -trend, turn
            segment = g[turn : k + 1]
            ext = turn + int(np.argmax(segment) if trend > 0 else np.argmin(segment))
    if trend == 0:
        raise ConfigError(
            f"cannot infer pulse directions: the readings never move by more than turn_threshold "
            f"({turn_threshold}) of their range; give a direction column"
        )
    direction[last + 1 :] = trend
    direction[0] = 0.0
    return direction
