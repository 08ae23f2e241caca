"""Sweeps on Dask: results, failures, killed workers, resumption, re-runs, an external cluster, the CLI.

The runs use the stand-in training function ``tests/sweep_toy.py`` (same signature and
directory rules as the real training, closed-form "losses"), so each sweep takes seconds.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from analogtrain.cli.sweep import sweep as sweep_command
from analogtrain.errors import ConfigError
from analogtrain.sweep import SweepSpec, load_results_csv, read_metrics, run_sweep
from analogtrain.sweep import scheduler as scheduler_module
from sweep_toy import loss_at

TOY = "sweep_toy:train"  # tests/sweep_toy.py: conftest.py puts tests/ on the workers' PYTHONPATH


def toy_spec(runs, grid=None, base=None, retries=1, name="toy") -> SweepSpec:
    return SweepSpec.from_dict({"base": base or {"epochs": 3}, "grid": grid or {}, "runs": runs,
                                "runner": TOY, "retries": retries}, name=name)


def rows_by_run(out: Path) -> dict[str, list[dict]]:
    table: dict[str, list[dict]] = {}
    for row in load_results_csv(out / "results.csv"):
        table.setdefault(row["run"], []).append(row)
    return table


def log_lines(out: Path, name: str) -> list[str]:
    return (out / "logs" / f"{name}.log").read_text().splitlines()


def _no_cluster(*args, **kwargs):
    raise AssertionError("a finished sweep must not start a cluster")


def test_failures_and_killed_workers(tmp_path):
    """One sweep: ordinary runs, a run that raises (recorded; the others finish), a run whose worker
    is killed mid-run (retried, resumed from its checkpoint, every epoch present exactly once)."""
    out = tmp_path / "sweep"
    spec = toy_spec(
        runs=[{"name": "ok"}, {"name": "bad", "set": {"fail": True}}, {"name": "die", "set": {"die_at_epoch": 2}}],
        grid={"lr": [0.05, 0.2]}, retries=1,
    )
    finished = []
    summary = run_sweep(spec, out, workers=2, progress=False, on_run_finished=finished.append)
    assert summary["counts"] == {"runs": 6, "finished": 4, "failed": 2, "pending": 0}
    assert sorted(r["name"] for r in finished) == sorted(r.name for r in spec.expand())

    records = {r["name"]: r for r in summary["runs"]}
    for name in ("bad_lr-0.05", "bad_lr-0.2"):
        assert records[name]["status"] == "failed"
        assert "toy run failed on purpose" in records[name]["error"]
        assert "failed on purpose" in (out / "runs" / name / "error.txt").read_text()
        # The first attempt and one retry; one more start if the worker running an attempt was
        # the one a "die" run killed (Dask reschedules what that worker was running).
        assert records[name]["attempts"] >= 2
    for name in ("ok_lr-0.05", "ok_lr-0.2", "die_lr-0.05", "die_lr-0.2"):
        assert records[name]["status"] == "finished" and not (out / "runs" / name / "error.txt").exists()
    for name in ("die_lr-0.05", "die_lr-0.2"):
        lines = log_lines(out, name)
        starts = [line for line in lines if " start " in line]
        # Killed once, then resumed from its checkpoint. Dask may start a rescheduled task more
        # than once when both workers die close together; every later start must be a resume.
        assert len(starts) >= 2 and starts[0].endswith("(new)")
        assert all(start.endswith("(resume)") for start in starts[1:])
        assert records[name]["summary"]["attempts"] >= 2

    table = rows_by_run(out)
    assert set(table) == {"ok_lr-0.05", "ok_lr-0.2", "die_lr-0.05", "die_lr-0.2"}
    for name, rows in table.items():
        assert [r["epoch"] for r in rows] == [1, 2, 3]  # exactly once each, in order
        lr = rows[0]["lr"]
        for r in rows:
            assert r["test_loss"] == pytest.approx(loss_at({"lr": lr, "seed": 0}, r["epoch"], "test"), rel=1e-12)
    saved = json.loads((out / "summary.json").read_text())
    assert saved["counts"] == summary["counts"]

    # Re-running retries only the failed runs (they fail again); finished ones are left alone.
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if "ok_" in str(p) and p.is_file()}
    again = run_sweep(spec, out, workers=1, progress=False)
    assert sorted(again["ran_now"]) == ["bad_lr-0.05", "bad_lr-0.2"]
    assert sorted(again["skipped_finished"]) == ["die_lr-0.05", "die_lr-0.2", "ok_lr-0.05", "ok_lr-0.2"]
    assert before == {p: p.stat().st_mtime_ns for p in before}


def test_rerun_resumes_interrupted_and_then_does_no_work(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    spec = toy_spec(runs=[], grid={"lr": [0.05, 0.1, 0.2]})
    first = run_sweep(spec, out, workers=2, progress=False)
    assert first["counts"]["finished"] == 3
    complete = read_metrics(out / "runs" / "lr-0.1" / "metrics.csv")

    # Make lr-0.1 look interrupted after epoch 1: checkpoint at 1, no summary.
    run = out / "runs" / "lr-0.1"
    (run / "summary.json").unlink()
    (run / "checkpoint.json").write_text(json.dumps({"epoch": 1}))
    second = run_sweep(spec, out, workers=1, progress=False)
    assert second["ran_now"] == ["lr-0.1"]
    assert log_lines(out, "lr-0.1")[-2].endswith("(resume)")
    resumed = read_metrics(run / "metrics.csv")
    assert [(r["epoch"], r["test_loss"]) for r in resumed] == [(r["epoch"], r["test_loss"]) for r in complete]

    # A finished sweep: no cluster, no task, no file of a run touched.
    monkeypatch.setattr(scheduler_module, "dask_client", _no_cluster)
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()}
    third = run_sweep(spec, out, workers=2, progress=False)
    assert third["ran_now"] == [] and len(third["skipped_finished"]) == 3
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}
    assert {r["run"] for r in load_results_csv(out / "results.csv")} == {"lr-0.05", "lr-0.1", "lr-0.2"}


def test_output_directory_rules(tmp_path, monkeypatch):
    monkeypatch.setattr(scheduler_module, "dask_client", _no_cluster)
    spec = toy_spec(runs=[{"name": "a"}])
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a sweep directory; pass --overwrite"):
        run_sweep(spec, other, progress=False)
    assert (other / "notes.txt").read_text() == "mine"

    # A sweep directory whose run was made with another config is refused, naming the run.
    out = tmp_path / "sweep"
    (out / "runs" / "a").mkdir(parents=True)
    (out / "sweep.json").write_text(json.dumps({"spec": {}, "runs": {"a": {"config_hash": "0" * 64, "overrides": {}}}}))
    with pytest.raises(ConfigError, match="run 'a' in .* was made with a different config"):
        run_sweep(spec, out, progress=False)
    with pytest.raises(ConfigError, match="--workers"):
        run_sweep(spec, tmp_path / "new", workers=0, progress=False)
    with pytest.raises(ConfigError, match="epochs must be an integer"):
        run_sweep(toy_spec(runs=[{"name": "x", "set": {"epochs": 0}}]), tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists()  # bad input: nothing written


def test_read_metrics_keeps_each_epoch_once(tmp_path):
    path = tmp_path / "metrics.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "split", "loss", "accuracy", "lr", "wall_time_s"])
        writer.writerows([[0, "train", 4.0, "", 1.0, 0], [1, "train", 3.0, 0.1, 1.0, 5],
                          [1, "test", 3.5, 0.2, 1.0, 5],
                          [1, "train", 2.9, 0.1, 1.0, 9], [1, "test", 3.4, 0.2, 1.0, 9]])  # epoch 1 redone
    rows = read_metrics(path)
    assert rows == [{"epoch": 0, "train_loss": 4.0, "train_accuracy": None, "lr": 1.0, "wall_time_s": 0},
                    {"epoch": 1, "train_loss": 2.9, "train_accuracy": 0.1, "lr": 1.0, "wall_time_s": 9,
                     "test_loss": 3.4, "test_accuracy": 0.2}]


def _write_sweep_file(tmp_path: Path, runs: str = "") -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(f"runner: {TOY}\nbase: {{epochs: 2}}\ngrid:\n  lr: [0.05, 0.2]\n{runs}")
    return path


def test_cli(tmp_path):
    runner = CliRunner()
    sweep_file = _write_sweep_file(tmp_path, "runs:\n  - {name: good}\n  - {name: bad, set: {fail: true}}\nretries: 0\n")
    out = tmp_path / "out"
    result = runner.invoke(sweep_command, [str(sweep_file), "--out", str(out), "--workers", "2", "--quiet"])
    assert result.exit_code == 1, result.output
    assert "2 finished, 2 failed" in result.output and "2 run(s) failed" in result.output
    assert "good_lr-0.05  finished" in result.output
    assert (out / "runs" / "bad_lr-0.2" / "error.txt").is_file()

    bad = tmp_path / "bad.yaml"
    bad.write_text("base: {epochs: 2}\ngrid: {lr: 0.1}\n")
    result = runner.invoke(sweep_command, [str(bad), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "grid.lr: expected a non-empty list" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x").exists()
    result = runner.invoke(sweep_command, [str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "does not exist" in result.output


@pytest.fixture()
def external_cluster(tmp_path):
    """A `dask scheduler` and a `dask worker` (2 processes) started on loopback; stopped afterwards."""
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask", "scheduler"]  # = `dask scheduler` of this environment
    worker_cmd = [sys.executable, "-m", "dask", "worker"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    logs = (tmp_path / "scheduler.log").open("w"), (tmp_path / "worker.log").open("w")
    scheduler = subprocess.Popen(dask + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                         "--scheduler-file", str(scheduler_file)],
                                 stdout=logs[0], stderr=subprocess.STDOUT, env=env)
    worker = None
    try:
        deadline = time.time() + 60
        while not scheduler_file.is_file() or not scheduler_file.read_text().strip():
            assert scheduler.poll() is None and time.time() < deadline, "dask scheduler did not start"
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen(worker_cmd + [address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                                "--host", "127.0.0.1"],
                                  stdout=logs[1], stderr=subprocess.STDOUT, env=env)
        yield address
    finally:
        for process in (worker, scheduler):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        for handle in logs:
            handle.close()


def test_external_scheduler_and_workers(tmp_path, external_cluster):
    sweep_file = _write_sweep_file(tmp_path, "runs:\n  - {name: a}\n  - {name: b, set: {die_at_epoch: 1}}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(sweep_command, [str(sweep_file), "--out", str(out), "--scheduler", external_cluster,
                                                "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"scheduler {external_cluster}" in result.output
    table = rows_by_run(out)
    assert sorted(table) == ["a_lr-0.05", "a_lr-0.2", "b_lr-0.05", "b_lr-0.2"]
    assert all([r["epoch"] for r in rows] == [1, 2] for rows in table.values())
    # Unchanged re-run against the same cluster: nothing to do.
    again = CliRunner().invoke(sweep_command, [str(sweep_file), "--out", str(out), "--scheduler", external_cluster,
                                               "--quiet"])
    assert again.exit_code == 0 and "0 run now, 4 already finished" in again.output


def test_unreachable_scheduler_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setattr(scheduler_module, "CONNECT_TIMEOUT_S", 2)
    sweep_file = _write_sweep_file(tmp_path)
    result = CliRunner().invoke(sweep_command, [str(sweep_file), "--out", str(tmp_path / "o"),
                                                "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    assert result.exit_code == 2 and "cannot connect to the Dask scheduler" in result.output


def test_real_training_runs(tmp_path):
    """The default runner (analogtrain.training.loop.train) on the digits MLP."""
    spec = SweepSpec.from_dict({
        "base": {"model": {"kind": "mlp", "hidden": [16]}, "dataset": {"kind": "digits"}, "lr": 0.5, "epochs": 2,
                 "batch_size": 32, "seed": 0},
        "runs": [{"name": "fp"},
                 {"name": "sgd", "set": {"algorithm": {"algorithm": "sgd", "device": {"model": "constant-step",
                                                                                      "dw_min": 0.01}}}}],
    }, name="digits")
    summary = run_sweep(spec, tmp_path / "out", workers=2, progress=False)
    assert summary["counts"]["finished"] == 2, summary
    table = rows_by_run(tmp_path / "out")
    for name in ("fp", "sgd"):
        assert [r["epoch"] for r in table[name]] == [0, 1, 2]
        assert table[name][-1]["test_accuracy"] > 0.5
        assert (tmp_path / "out" / "runs" / name / "checkpoint.pt").is_file()
    record = {r["name"]: r for r in summary["runs"]}["sgd"]
    assert record["summary"]["status"] == "finished" and record["summary"]["algorithm"] == "sgd"


def test_checkpoint_detection_ignores_half_written_files(tmp_path):
    from analogtrain.sweep.task import has_checkpoint

    assert not has_checkpoint(tmp_path / "missing")
    (tmp_path / "checkpoint.tmp").write_text("half")
    assert not has_checkpoint(tmp_path)
    (tmp_path / "checkpoint.pt").write_text("whole")
    assert has_checkpoint(tmp_path)


def test_commands_are_registered():
    from analogtrain.cli.main import cli

    runner = CliRunner()
    for args in (["sweep", "--help"], ["data", "fetch", "--help"], ["reproduce", "fig3", "--help"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)
    result = runner.invoke(cli, ["sweep", "nope.yaml", "--out", "x"])
    assert result.exit_code == 2 and result.output.startswith("Error: ") and "does not exist" in result.output
