"""``analogtrain reproduce``: study commands, their output files, and bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from analogtrain.cli.main import cli
from analogtrain.studies.single_parameter import STUDIES


def invoke(*args):
    return CliRunner().invoke(cli, ["reproduce", *args])


def test_help_lists_every_study():
    result = invoke("--help")
    assert result.exit_code == 0
    for name in [*STUDIES, "single-parameter", "tt-fails", "reference-offset", "digital-shd", "algorithms"]:
        assert name in result.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["nope"], "unknown study 'nope'; valid studies: fig1, fig2, ecram"),
        (["fig2", "--tau", "0"], "transfer_every (τ) must be an integer in [1,"),
        (["fig1", "--lr", "0"], "lr (η) must be in (0.0, 1.0]"),
        (["fig2", "--eta-a", "-0.1"], "fast_lr (η_A) must be in (0.0, 1.0]"),
        (["variance", "--sigma", "-1"], "sigma (σ) must be in [0.0, inf]"),
        (["fig1", "--g0", "1.5"], "g0 (G₀) must be inside the device range [-1, 1]"),
        (["ecram", "--g0", "1.2"], "g0 (G₀) must be inside the device range [-0.8286, 1.1714]"),
        (["fig2", "--tau", "half"], "--transfer-every"),
    ],
)
def test_bad_input_is_one_error_line_without_traceback(tmp_path, args, fragment):
    out = tmp_path / "out"
    result = invoke(*args, "--out", str(out), "--no-progress")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_fig1_writes_figures_data_and_the_required_summary(tmp_path):
    out = tmp_path / "fig1"
    result = invoke("fig1", "--quick", "--steps", "200", "--reps", "2", "--out", str(out), "--no-progress")
    assert result.exit_code == 0, result.output
    assert {"fig1.png", "residuals.csv", "traces.csv", "summary.json", "config.json"} <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    assert isinstance(summary["g_symmetry"], float)
    for device in ("symmetric", "asymmetric"):
        pairs = summary["residual_vs_g0"][device]
        assert len(pairs) >= 17 and all(len(p) == 2 and p[1] >= 0 for p in pairs)
    assert all({"claim", "measured", "holds"} <= set(c) for c in summary["claims"])
    header = (out / "residuals.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "g0" and "asymmetric_residual" in header


def test_fig2_summary_has_final_distance_and_energy_ratio(tmp_path):
    out = tmp_path / "fig2"
    result = invoke("fig2", "--steps", "300", "--reps", "2", "--out", str(out), "--no-progress")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for case in ("symmetric", "asymmetric"):
        assert summary[case]["final_distance"] >= 0 and summary[case]["energy_ratio"] > 0
    assert (out / "fig2.png").stat().st_size > 10_000


def test_existing_output_needs_overwrite_and_seed_reproduces(tmp_path):
    out = tmp_path / "v"
    args = ["variance", "--steps", "60", "--reps", "2", "--seed", "7", "--out", str(out), "--no-progress"]
    assert invoke(*args).exit_code == 0
    first = json.loads((out / "summary.json").read_text())["residual_vs_sigma"]
    again = invoke(*args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert invoke(*args, "--overwrite").exit_code == 0
    assert json.loads((out / "summary.json").read_text())["residual_vs_sigma"] == first


def test_algorithms_writes_the_report_and_summary(tmp_path):
    """``reproduce algorithms`` at the hidden smoke budget (smaller than --quick, ~10 s): every study's
    directory, report.md with a line per claim, summary.json with claim / measured / holds."""
    out = tmp_path / "algorithms"
    result = invoke("algorithms", "--smoke", "--out", str(out), "--no-progress")
    assert result.exit_code == 0, result.output
    assert (out / "report.md").exists() and (out / "summary.json").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["studies"]) == {"tt-fails", "reference-offset", "digital-shd"}
    assert summary["claims_total"] == len(summary["claims"]) >= 5
    assert all({"claim", "measured", "holds", "study"} <= set(c) for c in summary["claims"])
    report = (out / "report.md").read_text()
    assert report.startswith("# Algorithm studies")
    for c in summary["claims"]:
        assert c["claim"].replace("|", "\\|") in report
    assert "![reference-offset](reference-offset/reference_offset.png)" in report
    for name in ("tt-fails", "reference-offset", "digital-shd"):
        study = json.loads((out / name / "summary.json").read_text())
        assert study["study"] == name and study["budget"] == "smoke" and study["claims"]
    assert (out / "reference-offset" / "reference_offset.png").stat().st_size > 5_000
    header = (out / "reference-offset" / "reference_offset.csv").read_text().splitlines()[0].split(",")
    assert {"algorithm", "states", "sigma_r", "mean_error", "se_error"} <= set(header)


def test_one_algorithm_study_and_overwrite(tmp_path):
    out = tmp_path / "tt"
    args = ["tt-fails", "--smoke", "--out", str(out), "--no-progress"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "tt-fails:" in result.output and {"summary.json", "config.json", "tt_fails.csv"} <= {
        p.name for p in out.iterdir()}
    again = invoke(*args)
    assert again.exit_code == 2 and "--overwrite" in again.output
