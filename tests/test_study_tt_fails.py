"""Study tt-fails (reduced: two imbalances, the two transfer algorithms): its claims hold, and the
claims would fail if the reference were calibrated in both arms (checked on the returned data)."""

from __future__ import annotations

import torch

from analogtrain.studies.algorithms_tt_fails import regression_run, tt_fails


def test_tt_fails_claims_hold_on_a_reduced_run():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        study = tt_fails(up_downs=(0.0, 0.3), algorithms=("tiki-taka", "residual-learning"))
    finally:
        torch.set_num_threads(threads)
    assert study.all_hold, study.claims
    assert len(study.data) == 2 * 2 * 2
    # at up_down = 0 the symmetry point is 0: calibrating changes nothing
    for algorithm in ("tiki-taka", "residual-learning"):
        same = [r["relative_loss"] for r in study.data if r["algorithm"] == algorithm and r["up_down"] == 0.0]
        assert same[0] == same[1]


def test_uncalibrated_sgd_also_degrades():
    calibrated = regression_run("sgd", 0.3, True, steps=300)
    uncalibrated = regression_run("sgd", 0.3, False, steps=300)
    assert uncalibrated > 10 * calibrated
