"""Study reference-offset (Rasch et al. 2024, Fig. 4 style): a reference that misses A's symmetry
point by σ_r harms TTv2/Tiki-Taka/SHD, not AGAD; the quick run's claims (marked slow)."""

from __future__ import annotations

import json
import math

import pytest

from analogtrain.studies.algorithms_reference_offset import BUDGETS, offset_run, reference_offset


def test_agad_cancels_a_constant_reference_offset_exactly_and_ttv2_does_not():
    # AGAD's increment is v − p: a constant offset of A's reads is in both and drops out, so the
    # whole trajectory is the same whatever σ_r; TTv2 integrates the offset into C.
    assert offset_run("agad", 20, 0.0, steps=300) == pytest.approx(offset_run("agad", 20, 0.6, steps=300), rel=1e-5)
    assert offset_run("ttv2", 20, 0.6, steps=300) > 1.5 * offset_run("ttv2", 20, 0.0, steps=300)


def test_a_small_study_measures_and_reports_every_claim():
    study = reference_offset(states=(20,), sigma_rs=(0.0, 0.6), algorithms=("sgd", "tiki-taka", "ttv2", "agad"),
                             steps=150, seeds=(0, 1))
    assert len(study.data) == 4 * 2
    assert all(len(r["errors"]) == 2 and r["mean_error"] > 0 and math.isfinite(r["se_error"]) for r in study.data)
    names = [c["claim"] for c in study.claims]
    assert any(n.startswith("ttv2") and "degrades" in n for n in names)
    assert any(n.startswith("agad") and "does not degrade" in n for n in names)
    assert all({"claim", "holds", "measured"} <= set(c) for c in study.claims)
    json.dumps(study.as_dict())


@pytest.mark.slow
def test_quick_run_claims():
    """The --quick grid (3 seeds; margins of 2 combined standard errors inside the claims).

    The claims that hold are asserted: TTv2, Tiki-Taka and SHD degrade with σ_r, AGAD does not.
    Two claims do not hold in this setting (see the study's docstring) and are only checked to be
    measured and reported: c-TTv2's robustness to σ_r (with the paper's chopper probability 0.1),
    and TTv2/c-TTv2/AGAD beating Tiki-Taka and SGD at few states."""
    study = reference_offset(**BUDGETS["quick"])
    claims = {c["claim"]: c for c in study.claims}
    for claim, c in claims.items():
        assert isinstance(c["holds"], bool) and c["measured"]
        if (claim.startswith("c-ttv2") and "does not degrade" in claim) or claim.startswith("at few states"):
            continue  # reported, does not hold here
        assert c["holds"], c
    assert sum("degrades" in claim for claim in claims) == 3 and any(claim.startswith("agad") for claim in claims)
