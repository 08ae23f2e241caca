"""Sweep files: dotted-key overrides, grid and list expansion, names, hashes, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analogtrain.errors import ConfigError
from analogtrain.sweep.spec import SweepSpec, apply_overrides, config_hash, get_path, run_name, set_path

BASE = {"model": {"kind": "mlp", "hidden": [32]}, "algorithm": {"algorithm": "sgd", "device": {"dw_min": 0.01}},
        "lr": 0.1, "epochs": 2, "layers": [{"a": 1}, {"a": 2}]}


def test_set_path_nested_lists_and_new_keys():
    config = apply_overrides(BASE, {"algorithm.device.dw_min": 0.002, "layers.1.a": 5, "model.activation": "tanh"})
    assert get_path(config, "algorithm.device.dw_min") == 0.002
    assert config["layers"] == [{"a": 1}, {"a": 5}]
    assert config["model"] == {"kind": "mlp", "hidden": [32], "activation": "tanh"}
    assert BASE["algorithm"]["device"]["dw_min"] == 0.01  # the base is never modified
    config = apply_overrides(BASE, {"algorithm": None})
    assert config["algorithm"] is None
    set_path(config, "algorithm.device.dw_min", 0.5)  # a path through null makes a mapping
    assert config["algorithm"] == {"device": {"dw_min": 0.5}}


@pytest.mark.parametrize("key, message", [
    ("lr.value", "holds float"),
    ("layers.x", "is a list; use an index"),
    ("layers.7.a", "out of range"),
    ("a..b", "empty component"),
    ("", "non-empty dotted path"),
])
def test_set_path_errors_name_the_key(key, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(BASE, {key: 1})


def test_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1.0, 2]}) == config_hash({"b": [1, 2.0], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 1.5})
    assert len(config_hash({})) == 64


def test_grid_times_list_expansion_order_names():
    spec = SweepSpec.from_dict({
        "base": BASE,
        "grid": {"lr": [0.01, 0.1], "algorithm.device.dw_min": [0.001, 0.002]},
        "runs": [{"name": "fp", "set": {"algorithm": None}}, {"set": {"epochs": 3}}],
    }, name="s")
    runs = spec.expand()
    assert len(runs) == 8
    assert [r.name for r in runs[:2]] == ["fp_lr-0.01_algorithm.device.dw_min-0.001",
                                          "fp_lr-0.01_algorithm.device.dw_min-0.002"]
    assert runs[4].name == "epochs-3_lr-0.01_algorithm.device.dw_min-0.001"
    assert runs[4].config["epochs"] == 3 and runs[4].config["lr"] == 0.01
    assert len({r.config_hash for r in runs}) == 8
    # Expansion is deterministic: the same names and hashes every time.
    assert [(r.name, r.config_hash) for r in spec.expand()] == [(r.name, r.config_hash) for r in runs]


def test_no_grid_no_runs_is_one_base_run():
    runs = SweepSpec.from_dict({"base": BASE}).expand()
    assert [r.name for r in runs] == ["base"] and runs[0].config == BASE


def test_long_names_are_cut_and_hashed():
    overrides = {f"key{i}": "x" * 20 for i in range(8)}
    name = run_name(overrides, "abcdef0123456789")
    assert len(name) <= 80 and name.endswith("-abcdef01")


def test_duplicate_names_and_configs_are_refused():
    with pytest.raises(ConfigError, match="both named 'a'"):
        SweepSpec.from_dict({"base": BASE, "runs": [{"name": "a"}, {"name": "a", "set": {"lr": 1.0}}]}).expand()
    with pytest.raises(ConfigError, match="same config"):
        SweepSpec.from_dict({"base": BASE, "runs": [{"name": "a"}, {"name": "b", "set": {"lr": 0.1}}]}).expand()


@pytest.mark.parametrize("data, message", [
    ({}, "base: missing"),
    ({"base": BASE, "grids": {}}, "unknown key"),
    ({"base": BASE, "grid": {"lr": []}}, "grid.lr: expected a non-empty list"),
    ({"base": BASE, "grid": {"lr": 0.1}}, "grid.lr: expected a non-empty list"),
    ({"base": BASE, "runs": [{"nam": "x"}]}, r"runs\[0\]: unknown key"),
    ({"base": BASE, "runs": [{"name": "a/b"}]}, r"runs\[0\].name"),
    ({"base": BASE, "runs": [{"set": [1]}]}, r"runs\[0\].set"),
    ({"base": BASE, "retries": -1}, r"retries: must be an integer in \[0, 100\]"),
    ({"base": BASE, "runner": "os.system"}, "runner: must be 'package.module:function'"),
    ({"base": BASE, "grid": {f"k{i}": list(range(10)) for i in range(6)}}, "at most 100000"),
    ({"base": 3}, "base: expected a training config mapping"),
])
def test_bad_sweep_files(data, message):
    with pytest.raises(ConfigError, match=message):
        SweepSpec.from_dict(data)


def test_from_file_with_base_path(tmp_path):
    (tmp_path / "train.json").write_text(json.dumps(BASE))
    (tmp_path / "my sweep.yaml").write_text("base: train.json\ngrid:\n  lr: [0.5, 1]\n")
    spec = SweepSpec.from_file(tmp_path / "my sweep.yaml")
    assert spec.name == "my-sweep" and spec.base == BASE
    assert [r.config["lr"] for r in spec.expand()] == [0.5, 1]
    with pytest.raises(ConfigError, match="does not exist"):
        SweepSpec.from_file(tmp_path / "missing.yaml")


def test_example_sweep_file_is_valid():
    from analogtrain.training.config import TrainingConfig

    example = Path(__file__).resolve().parents[1] / "examples" / "sweep_digits.yaml"
    spec = SweepSpec.from_file(example)
    runs = spec.expand()
    assert [r.name for r in runs] == [f"{a}_lr-{lr}" for a in ("fp", "sgd", "shd") for lr in ("0.3", "1", "3")]
    algorithms = [TrainingConfig.from_dict(r.config).algorithm for r in runs]
    assert [a.algorithm if a else None for a in algorithms[::3]] == [None, "sgd", "shd"]


def test_runner_under_its_old_module_path_still_loads(tmp_path):
    """Sweep files written before experiments/ was split name the default runner by its old path."""
    from analogtrain.sweep.spec import DEFAULT_RUNNER
    from analogtrain.sweep.task import config_checker, load_runner
    from analogtrain.training.config import TrainingConfig
    from analogtrain.training.loop import train

    (tmp_path / "old.yaml").write_text("runner: analogtrain.experiments.training:train\nbase: {}\n")
    assert SweepSpec.from_file(tmp_path / "old.yaml").runner == DEFAULT_RUNNER
    assert load_runner("analogtrain.experiments.training:train") is train
    assert config_checker(DEFAULT_RUNNER) == TrainingConfig.from_dict
