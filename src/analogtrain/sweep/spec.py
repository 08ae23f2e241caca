"""A sweep: one base training config and the overrides that make each run.

A sweep file (YAML or JSON) holds::

    name: digits-lr                    # optional; default: the file's stem
    base: train.yaml                   # the training config of `analogtrain train`: a mapping,
                                       # or a path (relative to the sweep file)
    grid:                              # optional: every combination of these values
      lr: [0.01, 0.05, 0.1]
      algorithm.kind: [sgd, shd]       # dotted key paths into the config; list items by index
    runs:                              # optional: an explicit list of runs
      - name: floating-point           # optional; default: made from the overrides
        set: {model.analog: false}
    retries: 2                         # optional: times dask re-runs a run that raised
    runner: analogtrain.training.loop:train   # optional: the training function

``runs`` and ``grid`` combine as a product: each listed run is paired with every grid point (a
missing ``runs`` is one run without overrides, a missing ``grid`` one point without). Override
values replace whatever the base holds at that path (a mapping replaces a whole sub-config).

Each run gets a **name** (its directory ``runs/<name>``) and a **config hash** (SHA-256 of its
resolved config as canonical JSON): the hash is how a re-run recognises a run it has already
done. Names are made from the overrides, ``lr=0.01,algorithm.kind=sgd`` -> ``lr-0.01_algorithm.kind-sgd``;
long ones are cut and suffixed with the hash so they stay unique and short.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from analogtrain.config import load_mapping
from analogtrain.errors import ConfigError
from analogtrain.training.run_dir import slug

#: The training function a run calls unless the sweep names another ("module:function").
DEFAULT_RUNNER = "analogtrain.training.loop:train"

#: Runners under the module paths of earlier versions, so that sweep files (and the ``sweep.json``
#: of sweep directories) written before a module moved still load: old name -> current name.
RUNNER_ALIASES = {"analogtrain.experiments.training:train": DEFAULT_RUNNER}

#: Longest readable run name before it is cut and suffixed with the config hash.
MAX_NAME_LENGTH = 80

#: Most runs one sweep may hold (a guard against a mistyped grid).
MAX_RUNS = 100_000

MAX_RETRIES = 100

_SPEC_KEYS = ("name", "base", "grid", "runs", "retries", "runner")
_RUN_KEYS = ("name", "set")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")
_RUNNER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")


def resolve_runner(runner: Any) -> Any:
    """The current name of a runner given under an old module path (:data:`RUNNER_ALIASES`)."""
    return RUNNER_ALIASES.get(runner, runner) if isinstance(runner, str) else runner


# ---------------------------------------------------------------------------------------------
# Dotted key paths


def split_key(key: str) -> list[str]:
    """``"algorithm.devices.0.gamma_up"`` -> ``["algorithm", "devices", "0", "gamma_up"]``."""
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"override key must be a non-empty dotted path such as 'algorithm.lr', got {key!r}")
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"override key {key!r}: empty component in the dotted path")
    return parts


def get_path(config: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted path (KeyError if absent)."""
    node: Any = config
    for part in split_key(key):
        if isinstance(node, Mapping):
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.lstrip("-").isdigit():
            node = node[int(part)]
        else:
            raise KeyError(key)
    return node


def set_path(config: dict[str, Any], key: str, value: Any) -> None:
    """Set the value at a dotted path in place.

    Missing mapping keys are created (the training config's own validation then rejects unknown
    ones, naming them); list items are addressed by index and must exist; a path may not go
    through a number or a string.
    """
    parts = split_key(key)
    node: Any = config
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[:depth]) or "<base>"
        if isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
                return
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        elif isinstance(node, list):
            if not part.lstrip("-").isdigit():
                raise ConfigError(f"override {key!r}: {where} is a list; use an index, got {part!r}")
            index = int(part)
            if not -len(node) <= index < len(node):
                raise ConfigError(
                    f"override {key!r}: index {index} out of range for {where} (a list of {len(node)})"
                )
            if last:
                node[index] = copy.deepcopy(value)
                return
            node = node[index]
        else:
            raise ConfigError(
                f"override {key!r}: {where} holds {type(node).__name__} {node!r}, not a mapping or list"
            )


def apply_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with every ``dotted.key: value`` of ``overrides`` set, in order."""
    config = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        set_path(config, key, value)
    return config


# ---------------------------------------------------------------------------------------------
# Naming and hashing


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces (floats as Python writes them); inf/NaN as strings."""
    return json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and abs(value) < 2**53:
            return int(value)  # 1.0 and 1 are the same setting
    return value


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex, 64 characters) of a config's canonical JSON."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, str)):
        return str(value)
    return canonical_json(value)


def run_name(overrides: Mapping[str, Any], digest: str) -> str:
    """A readable directory name for a run made from its overrides (``base`` when there are none)."""
    if not overrides:
        return "base"
    parts = [f"{slug(k.split('.')[-1] if len(k) > 24 else k)}-{slug(_format_value(v))}"
             for k, v in overrides.items()]
    name = "_".join(parts)
    if len(name) > MAX_NAME_LENGTH:
        name = f"{name[: MAX_NAME_LENGTH - 9].rstrip('-_.')}-{digest[:8]}"
    return name


# ---------------------------------------------------------------------------------------------
# The spec


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its name, the overrides that make it, and its resolved config."""

    name: str
    overrides: dict[str, Any]
    config: dict[str, Any]

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "overrides": self.overrides, "config_hash": self.config_hash,
                "config": self.config}


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A base training config and the runs made from it (see the module docstring)."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    runs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    retries: int = 2
    runner: str = DEFAULT_RUNNER

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ConfigError(f"name: must start with a letter or digit and hold only letters, digits and "
                              f"'._=+-', got {self.name!r}")
        if not isinstance(self.base, Mapping):
            raise ConfigError(f"base: expected a training config mapping, got {type(self.base).__name__}")
        if not isinstance(self.grid, Mapping):
            raise ConfigError(f"grid: expected a mapping of dotted keys to lists of values, got "
                              f"{type(self.grid).__name__}")
        for key, values in self.grid.items():
            split_key(key)
            if not isinstance(values, (list, tuple)) or len(values) == 0:
                raise ConfigError(f"grid.{key}: expected a non-empty list of values, got {values!r}")
        if not isinstance(self.runs, (list, tuple)):
            raise ConfigError(f"runs: expected a list of {{name, set}} mappings, got {type(self.runs).__name__}")
        for i, run in enumerate(self.runs):
            if not isinstance(run, Mapping):
                raise ConfigError(f"runs[{i}]: expected a mapping with keys {list(_RUN_KEYS)}, got {run!r}")
            unknown = set(run) - set(_RUN_KEYS)
            if unknown:
                raise ConfigError(f"runs[{i}]: unknown key(s) {sorted(unknown)}; valid: {list(_RUN_KEYS)}")
            sets = run.get("set", {})
            if not isinstance(sets, Mapping):
                raise ConfigError(f"runs[{i}].set: expected a mapping of dotted keys to values, got {sets!r}")
            for key in sets:
                split_key(key)
            if "name" in run and (not isinstance(run["name"], str) or not _NAME_RE.match(run["name"])):
                raise ConfigError(f"runs[{i}].name: must start with a letter or digit and hold only letters, "
                                  f"digits and '._=+-', got {run['name']!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or not 0 <= self.retries <= MAX_RETRIES:
            raise ConfigError(f"retries: must be an integer in [0, {MAX_RETRIES}], got {self.retries!r}")
        if not isinstance(self.runner, str) or not _RUNNER_RE.match(self.runner):
            raise ConfigError(f"runner: must be 'package.module:function', got {self.runner!r}")
        count = max(1, len(self.runs)) * math.prod(len(v) for v in self.grid.values())
        if count > MAX_RUNS:
            raise ConfigError(f"grid/runs: the sweep would hold {count} runs; at most {MAX_RUNS} are allowed")

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "sweep", root: str | Path | None = None) -> SweepSpec:
        """Build from a plain mapping; ``base`` may be a path, resolved against ``root``."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"sweep: expected a mapping with keys {list(_SPEC_KEYS)}, got {type(data).__name__}")
        unknown = set(data) - set(_SPEC_KEYS)
        if unknown:
            raise ConfigError(f"sweep: unknown key(s) {sorted(unknown)}; valid: {list(_SPEC_KEYS)}")
        if "base" not in data:
            raise ConfigError("base: missing; a sweep needs a base training config (a mapping or a file path)")
        base = data["base"]
        if isinstance(base, str):
            path = Path(base)
            if not path.is_absolute() and root is not None:
                path = Path(root) / path
            base = load_mapping(path)
        return cls(
            name=data.get("name", name),
            base=copy.deepcopy(base) if isinstance(base, Mapping) else base,
            grid=data.get("grid") or {},
            runs=data.get("runs") or [],
            retries=data.get("retries", 2),
            runner=resolve_runner(data.get("runner", DEFAULT_RUNNER)),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> SweepSpec:
        """Load a sweep file (``.yaml``, ``.yml`` or ``.json``)."""
        path = Path(path)
        data = load_mapping(path)
        return cls.from_dict(data, name=slug(path.stem), root=path.parent)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "grid": self.grid, "runs": self.runs,
                "retries": self.retries, "runner": self.runner}

    # -- expansion --------------------------------------------------------------------------
    def expand(self) -> list[RunSpec]:
        """Every run of the sweep, in a fixed order (listed runs outer, grid inner, last key fastest)."""
        listed = self.runs or [{}]
        keys = list(self.grid)
        points = [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]
        specs: list[RunSpec] = []
        seen: dict[str, int] = {}
        for i, run in enumerate(listed):
            for point in points:
                overrides = dict(run.get("set", {}))
                overrides.update(point)
                config = apply_overrides(self.base, overrides)
                digest = config_hash(config)
                if "name" in run:
                    name = run["name"] if not point else f"{run['name']}_{run_name(point, digest)}"
                    if len(name) > MAX_NAME_LENGTH:
                        name = f"{name[: MAX_NAME_LENGTH - 9].rstrip('-_.')}-{digest[:8]}"
                else:
                    name = run_name(overrides, digest)
                if name in seen:
                    raise ConfigError(
                        f"runs: two runs are both named {name!r} (runs[{seen[name]}] and runs[{i}]); "
                        "give them distinct names"
                    )
                seen[name] = i
                specs.append(RunSpec(name=name, overrides=overrides, config=config))
        hashes: dict[str, str] = {}
        for spec in specs:
            other = hashes.setdefault(spec.config_hash, spec.name)
            if other != spec.name:
                raise ConfigError(f"runs: {other!r} and {spec.name!r} have the same config; remove one")
        return specs


def validate_runs(runs: Sequence[RunSpec], validator) -> None:
    """Call ``validator(config_dict)`` on every run before any work; errors name the run."""
    for run in runs:
        try:
            validator(run.config)
        except ConfigError as error:
            raise ConfigError(f"run {run.name!r}: {error}") from None
