"""The algorithm studies (issue 15) as reproducible studies: budgets, tables, figures, claims.

=====================  ===========================================================================
``tt-fails``           Tiki-Taka / residual learning need A_ref at A's symmetry point (Wu et al. 2025)
``reference-offset``   weight error over device states × reference offset σ_r (Rasch et al. 2024, Fig. 4)
``digital-shd``        DigitalSHD as an optimizer of a floating-point MLP (Onen, Gokmen et al. 2022)
=====================  ===========================================================================

Each runs at one of three budgets: ``full`` (the default), ``quick`` (``--quick``) and ``smoke``
(the CLI test's, smaller still: its claims are measured and reported, not expected to hold).
:func:`run_algorithm_study` returns a
:class:`~analogtrain.studies.single_parameter.common.StudyResult`, so
:func:`~analogtrain.studies.report.write_study` and :func:`~analogtrain.studies.report.write_report`
write it like the single-parameter studies: data CSV, figures, ``summary.json`` with claims
``{"claim", "measured", "holds"}``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable

BUDGETS = ("full", "quick", "smoke")


@dataclasses.dataclass(frozen=True)
class AlgorithmStudyEntry:
    name: str
    title: str
    run: Callable[[str, int], Any]  # (budget, seed) -> AlgorithmStudy
    plot: Callable[[Any, Any], list[str]] | None = None


def _tt_fails(budget: str, seed: int):
    from analogtrain.studies.algorithms_tt_fails import tt_fails

    if budget == "full":
        return tt_fails(seed=seed)
    if budget == "quick":
        return tt_fails(up_downs=(0.0, 0.3), seed=seed)
    return tt_fails(up_downs=(0.0, 0.3), algorithms=("tiki-taka",), steps=100, seed=seed)


def _digital_shd(budget: str, seed: int):
    from analogtrain.studies.algorithms_digital_shd import digital_shd

    count, epochs = {"full": (3, 20), "quick": (2, 20), "smoke": (1, 2)}[budget]
    return digital_shd(seeds=tuple(seed + k for k in range(count)), epochs=epochs)


def _reference_offset(budget: str, seed: int):
    from analogtrain.studies.algorithms_reference_offset import BUDGETS as GRIDS, reference_offset

    grid = dict(GRIDS[budget])
    grid["seeds"] = tuple(seed + s for s in grid["seeds"])
    return reference_offset(**grid)


def _plot_reference_offset(result, out) -> list[str]:
    from analogtrain.studies.algorithms_reference_offset import plot_heatmaps

    return [plot_heatmaps(result.study, out / "reference_offset.png")]


def _plot_tt_fails(result, out) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for algorithm in result.study.settings["algorithms"]:
        for calibrated, style in ((True, "-o"), (False, "--s")):
            rows = [r for r in result.study.data if r["algorithm"] == algorithm and r["calibrated"] == calibrated]
            ax.semilogy([r["symmetry_point"] for r in rows], [max(r["relative_loss"], 1e-12) for r in rows], style,
                        label=f"{algorithm} ({'A_ref = SP' if calibrated else 'A_ref = 0'})")
    ax.set_xlabel("symmetry point of A's devices")
    ax.set_ylabel("f(W_T)/f(W_0)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "tt_fails.png", dpi=110)
    plt.close(fig)
    return ["tt_fails.png"]


ALGORITHM_STUDIES: dict[str, AlgorithmStudyEntry] = {
    e.name: e
    for e in (
        AlgorithmStudyEntry("tt-fails", "Tiki-Taka and residual learning with A_ref off the symmetry point "
                                        "(Wu et al., NeurIPS 2025)", _tt_fails, _plot_tt_fails),
        AlgorithmStudyEntry("reference-offset", "Weight error over device states x reference offset "
                                                "(Rasch et al., Nat. Commun. 2024, Fig. 4)",
                            _reference_offset, _plot_reference_offset),
        AlgorithmStudyEntry("digital-shd", "DigitalSHD on the digits MLP (Onen, Gokmen et al. 2022, outlook)",
                            _digital_shd),
    )
}


def _measured(claim: dict[str, Any]) -> str:
    """The claim's numbers as one line (the claim's own ``measured`` if it has one)."""
    if "measured" in claim:
        return str(claim["measured"])
    parts = []
    for key, value in claim.items():
        if key in ("claim", "holds"):
            continue
        parts.append(f"{key} = {_number(value)}")
    return "; ".join(parts)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_number(v)}" for k, v in value.items()) + "}"
    return str(value)


def _table(data: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows → CSV columns; list-valued fields (per-seed values) as ';'-joined text."""
    columns: dict[str, list[Any]] = {}
    for row in data:
        for key, value in row.items():
            if isinstance(value, (list, tuple)):
                value = ";".join(f"{v:.7g}" if isinstance(v, float) else str(v) for v in value)
            elif value is None:
                value = ""
            columns.setdefault(key, []).append(value)
    return columns


def run_algorithm_study(name: str, budget: str = "full", seed: int = 0):
    """Run the algorithm study ``name`` at ``budget``; returns a StudyResult (with ``.study``)."""
    from analogtrain.errors import ConfigError
    from analogtrain.studies.single_parameter.common import StudyResult

    if name not in ALGORITHM_STUDIES:
        raise ConfigError(f"algorithm study must be one of {list(ALGORITHM_STUDIES)}, got {name!r}")
    if budget not in BUDGETS:
        raise ConfigError(f"budget must be one of {list(BUDGETS)}, got {budget!r}")
    entry = ALGORITHM_STUDIES[name]
    start = time.perf_counter()
    study = entry.run(budget, seed)
    seconds = time.perf_counter() - start
    claims = [{"claim": c["claim"], "measured": _measured(c), "holds": bool(c["holds"]),
               **{k: v for k, v in c.items() if k not in ("claim", "measured", "holds")}} for c in study.claims]
    summary = {"budget": budget, "seed": seed, "claims": claims}
    result = StudyResult(name=name, title=entry.title, settings=dict(study.settings, budget=budget, seed=seed),
                         tables={name.replace("-", "_"): _table(study.data)}, summary=summary,
                         plot=entry.plot, seconds=seconds)
    result.study = study  # the raw data, for the figures
    return result
