"""The ``analogtrain`` command line: ``--version``, ``device list / show / fit``, error handling."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import analogtrain
from analogtrain.cli.common import parse_overrides
from analogtrain.jsonio import write_json
from analogtrain.training.run_dir import plan_output_dir
from analogtrain.cli.main import cli
from analogtrain.devices.base import device_models
from analogtrain.devices.presets import PRESETS, get_device

SUMMARY_KEYS = {"device", "parameters", "symmetry_point", "states"}


def make_runner() -> CliRunner:
    """A runner that keeps stderr apart from stdout (click ≥ 8.2 does so by default)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def run(*args: str):
    return make_runner().invoke(cli, list(args), catch_exceptions=False)


def assert_clean_error(result, *words: str) -> None:
    """Non-zero exit, one error line on stderr naming ``words``, no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in result.output and "Traceback" not in result.stderr


def soft_bounds_symmetry_point(device) -> float:
    """Analytic w* of the nominal soft-bounds device: (Δw⁺ − Δw⁻)/(Δw⁺/w_max + Δw⁻/|w_min|)."""
    up = device.dw_min * (1.0 + min(device.up_down, 0.0))
    down = device.dw_min * (1.0 - max(device.up_down, 0.0))
    return (up - down) / (up / device.w_max + down / -device.w_min)


# --------------------------------------------------------------------------------------------
# version, help, list


def test_version_console_script():
    beside = Path(sys.executable).with_name("analogtrain")  # the venv running the tests
    exe = str(beside) if beside.is_file() else shutil.which("analogtrain")
    assert exe, "the console script analogtrain is not installed"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert analogtrain.__version__ in done.stdout


def test_version_option():
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"analogtrain {analogtrain.__version__}"


def _command_paths(command: click.Command, path=()):
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _command_paths(sub, path + (name,))


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_every_command(flag):
    paths = list(_command_paths(cli))
    assert ("device", "show") in paths and ("device", "fit") in paths and ("device", "list") in paths
    for path in paths:
        result = run(*path, flag)
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output, path


def test_list_shows_models_and_presets():
    result = run("device", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    by_name = {line.split()[0]: line.split() for line in lines if line.strip()}
    for name in device_models():
        assert by_name[name][1] == "model", name
        assert len(by_name[name]) > 2, "description missing"
    for name in PRESETS:
        assert name in by_name
        if name not in device_models():
            assert by_name[name][1] == "preset"
    assert len(lines) == len(set(device_models()) | set(PRESETS))


# --------------------------------------------------------------------------------------------
# show


def test_show_default_soft_bounds_writes_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if True:  # default output directory: ./runs/device-show-soft-bounds-<date>-<time>
        result = run("device", "show", "soft-bounds")
        assert result.exit_code == 0, result.output
        runs = list(Path("runs").iterdir())
        assert len(runs) == 1 and runs[0].name.startswith("device-show-soft-bounds-")
        out = runs[0]
        assert str(out) in result.output.strip().splitlines()[-1]
        for name in ("pulse_response.png", "pulse_response.csv", "config.json", "summary.json"):
            assert (out / name).is_file(), name
        png = (out / "pulse_response.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000

        device = get_device("soft-bounds")
        assert json.loads((out / "config.json").read_text()) == device.to_dict()
        summary = json.loads((out / "summary.json").read_text())
        assert SUMMARY_KEYS <= set(summary)
        assert summary["device"] == "soft-bounds"
        assert summary["parameters"] == device.to_dict()
        assert summary["states"] == pytest.approx((device.w_max - device.w_min) / device.dw_min)

        # Symmetry point: the model's mean over 100 devices, and the one measured from random
        # up/down pulses, both within a few standard errors of the analytic nominal value.
        expected = soft_bounds_symmetry_point(device)
        sym = summary["symmetry_point"]
        n = summary["devices"]
        assert n == 100
        assert sym["mean"] == pytest.approx(expected, abs=4 * sym["std"] / math.sqrt(n) + 1e-6)
        measured = summary["measured_symmetry_point"]
        assert measured["mean"] == pytest.approx(expected, abs=5 * measured["std"] / math.sqrt(n) + 1e-3)

        rows = (out / "pulse_response.csv").read_text().splitlines()
        assert rows[0] == "pulse,phase,mean,std,min,max"
        pulses = summary["pulses"]
        assert len(rows) == 1 + 2 * (2 * pulses + 1)
        phases = [row.split(",")[1] for row in rows[1:]]
        assert phases.count("up") == pulses + 1 and phases.count("down") == pulses
        assert phases.count("random") == 2 * pulses + 1


def test_show_with_overrides_moves_symmetry_point(tmp_path):
    out = tmp_path / "asym"
    result = run("device", "show", "soft-bounds", "--set", "up_down=0.2", "--set", "dw_min=0.002",
                 "--devices", "50", "--pulses", "600", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["up_down"] == 0.2 and config["dw_min"] == 0.002
    summary = json.loads((out / "summary.json").read_text())
    expected = soft_bounds_symmetry_point(get_device("soft-bounds", up_down=0.2, dw_min=0.002))
    assert expected == pytest.approx(0.2 / 1.8 * 0.6)
    assert summary["symmetry_point"]["mean"] == pytest.approx(expected, abs=1e-5)
    measured = summary["measured_symmetry_point"]
    assert measured["mean"] == pytest.approx(expected, abs=5 * measured["std"] / math.sqrt(50) + 2e-3)
    assert summary["pulses"] == 600 and summary["seed"] == 3


def test_show_symmetric_constant_step_has_null_symmetry_point(tmp_path):
    out = tmp_path / "const"
    result = run("device", "show", "constant-step", "--devices", "5", "--pulses", "20", "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["symmetry_point"]["mean"] is None and summary["symmetry_point"]["std"] is None
    assert "null" in (out / "summary.json").read_text() and "NaN" not in (out / "summary.json").read_text()


def test_show_same_seed_same_result(tmp_path):
    for name in ("a", "b"):
        assert run("device", "show", "soft-bounds", "--devices", "8", "--pulses", "30",
                   "--set", "dw_min_std=0.3", "--out", str(tmp_path / name)).exit_code == 0
    assert (tmp_path / "a" / "pulse_response.csv").read_text() == (tmp_path / "b" / "pulse_response.csv").read_text()


# --------------------------------------------------------------------------------------------
# bad input: one clean line, exit 2, nothing written


def test_invalid_parameter_value_is_one_clean_line(tmp_path):
    out = tmp_path / "bad"
    result = run("device", "show", "soft-bounds", "--set", "dw_min=-1", "--out", str(out))
    assert_clean_error(result, "dw_min")
    assert "(0" in result.stderr  # the valid range, e.g. "(0.0, inf]"
    assert not out.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "dw_min"], ["--set", "PARAM=VALUE"]),
        (["--set", "=3"], ["--set"]),
        (["--set", "no_such_param=1"], ["no_such_param", "dw_min"]),
        (["--set", "w_max=abc"], ["w_max"]),
        (["--devices", "0"], ["devices"]),
        (["--pulses", "-5"], ["pulses"]),
        (["--devices", "many"], ["--devices"]),
    ],
)
def test_malformed_options_are_one_clean_line(tmp_path, args, words):
    result = run("device", "show", "soft-bounds", *args, "--out", str(tmp_path / "x"))
    assert_clean_error(result, *words)
    assert not (tmp_path / "x").exists()


def test_unknown_device_names_valid_choices(tmp_path):
    result = run("device", "show", "no-such-device", "--out", str(tmp_path / "x"))
    assert_clean_error(result, "no-such-device", "soft-bounds", "constant-step")


def test_unknown_command_is_one_clean_line():
    assert_clean_error(run("device", "frobnicate"), "frobnicate")
    assert_clean_error(run("device", "show"), "NAME")


# --------------------------------------------------------------------------------------------
# output directories


def test_existing_output_directory_needs_overwrite(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("old results")
    args = ["device", "show", "soft-bounds", "--devices", "4", "--pulses", "10", "--out", str(out)]

    refused = run(*args)
    assert_clean_error(refused, "--overwrite", str(out))
    assert (out / "keep.txt").read_text() == "old results"
    assert not (out / "summary.json").exists()

    # issue 16: a directory that analogtrain did not write is never replaced
    foreign = run(*args, "--overwrite")
    assert_clean_error(foreign, "not an analogtrain output directory")
    assert (out / "keep.txt").read_text() == "old results"

    out = tmp_path / "run2"
    args = ["device", "show", "soft-bounds", "--devices", "4", "--pulses", "10", "--out", str(out)]
    assert run(*args).exit_code == 0
    (out / "keep.txt").write_text("old results")
    replaced = run(*args, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert not (out / "keep.txt").exists()
    assert (out / "summary.json").is_file()


def test_unwritable_output_directory_is_one_clean_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run("device", "show", "soft-bounds", "--devices", "2", "--pulses", "10",
                 "--out", str(blocker / "run"))
    assert_clean_error(result, "a-file")


def test_debug_environment_variable_shows_the_exception(monkeypatch):
    monkeypatch.setenv("ANALOGTRAIN_DEBUG", "1")
    result = make_runner().invoke(cli, ["device", "show", "soft-bounds", "--set", "dw_min=-1"])
    assert isinstance(result.exception, analogtrain.ConfigError)


def test_default_output_directories_are_unique(tmp_path):
    first = plan_output_dir(None, "device-show-x", root=tmp_path).create()
    second = plan_output_dir(None, "device-show-x", root=tmp_path).create()
    assert first != second and first.is_dir() and second.is_dir()
    assert first.parent == second.parent == tmp_path


def test_overwrite_refuses_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="refusing"):
        plan_output_dir(".", "x", overwrite=True).create()
    assert tmp_path.is_dir()


# --------------------------------------------------------------------------------------------
# helpers


def test_parse_overrides():
    assert parse_overrides(["dw_min=0.002", "bl=31", "up_down=-.1", "nodes=[[0, 1], [0.5, 2]]", "w_max=inf"]) == {
        "dw_min": 0.002,
        "bl": 31,
        "up_down": -0.1,
        "nodes": ((0, 1), (0.5, 2)),
        "w_max": math.inf,
    }


def test_write_json_writes_null_for_nan(tmp_path):
    path = write_json(tmp_path / "x.json", {"a": math.nan, "b": [1.0, math.inf]})
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None]}


# --------------------------------------------------------------------------------------------
# fit


def _synthetic_soft_bounds_csv(path: Path, dw=0.01, w_max=0.8, w_min=-0.6, noise=0.002, seed=1) -> Path:
    """Two up/down sweeps of 150 pulses of a soft-bounds device, read with Gaussian noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w, pulse, lines = 0.0, 0, ["pulse,conductance,direction"]
    lines.append(f"0,{w + noise * rng.standard_normal():.6f},0")
    for direction in (1, -1, 1, -1):
        for _ in range(150):
            w = w + dw * (1 - w / w_max) if direction > 0 else w - dw * (1 - w / w_min)
            pulse += 1
            lines.append(f"{pulse},{w + noise * rng.standard_normal():.6f},{direction}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_recovers_soft_bounds_parameters(tmp_path):
    data = _synthetic_soft_bounds_csv(tmp_path / "measured.csv")
    out = tmp_path / "fit"
    result = run("device", "fit", str(data), "--model", "soft-bounds", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "residual" in result.output and "w_max" in result.output and "dw_min" in result.output
    assert str(out) in result.output.splitlines()[-1]
    fit = json.loads((out / "fit.json").read_text())
    assert fit["model"] == "soft-bounds"
    assert {"parameters", "residual", "model"} <= set(fit)
    parameters = fit["parameters"]
    assert parameters["dw_min"] == pytest.approx(0.01, rel=0.05)
    assert parameters["w_max"] == pytest.approx(0.8, rel=0.05)
    assert parameters["w_min"] == pytest.approx(-0.6, rel=0.05)
    assert 0.001 < fit["residual"] < 0.004  # ≈ the read noise, 0.002
    png = (out / "fit.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000

    again = run("device", "fit", str(data), "--model", "soft-bounds", "--out", str(out))
    assert_clean_error(again, "--overwrite")
    assert run("device", "fit", str(data), "--model", "soft-bounds", "--out", str(out), "--overwrite").exit_code == 0


def test_fit_bad_input_is_one_clean_line(tmp_path):
    data = _synthetic_soft_bounds_csv(tmp_path / "measured.csv")
    assert_clean_error(run("device", "fit", str(data), "--model", "nope", "--out", str(tmp_path / "a")), "nope")
    assert_clean_error(run("device", "fit", str(tmp_path / "missing.csv"), "--model", "soft-bounds"), "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("pulse,conductance\n0,abc\n")
    assert_clean_error(run("device", "fit", str(bad), "--model", "soft-bounds", "--out", str(tmp_path / "b")))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
