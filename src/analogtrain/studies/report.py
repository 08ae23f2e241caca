"""Writing studies to disk and the reproduction report.

A study's directory holds (DESIGN.md §4): ``config.json`` (the parameters it ran with), one CSV per
data table, its PNG figures and ``summary.json`` (the study's summary plus its ``claims``: a list
of ``{"claim", "measured", "holds"}``). :func:`write_report` gathers several studies into one
Markdown report with the figures inline and one line per claim — what the paper says, what this run
measured, holds or not — and a ``summary.json`` with all claims.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from analogtrain.jsonio import write_json


def write_table(path: Path, table: dict[str, Any]) -> Path:
    """Write equal-length columns as CSV with a header."""
    names = list(table)
    columns = [np.asarray(table[n]).reshape(-1) for n in names]
    length = max(len(c) for c in columns) if columns else 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for i in range(length):
            writer.writerow([_cell(c[i]) if i < len(c) else "" for c in columns])
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return "" if not math.isfinite(value) else f"{value:.7g}"
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_study(result, out_dir: str | Path) -> dict[str, list[str]]:
    """Write one study's config, data, figures and summary into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = {"data": [], "figures": [], "summary": []}
    write_json(out / "config.json", {"study": result.name, "settings": result.settings})
    for name, table in result.tables.items():
        files["data"].append(write_table(out / f"{name}.csv", table).name)
    if result.plot is not None:
        files["figures"] = result.plot(result, out)
    summary = {"study": result.name, "title": result.title, **result.summary,
               "all_claims_hold": result.all_hold, "seconds": round(result.seconds, 2)}
    files["summary"].append(write_json(out / "summary.json", summary).name)
    return files


def claims_table(claims: Iterable[dict]) -> str:
    """Markdown table: one line per claim (paper, measured, holds)."""
    lines = ["| claim (paper) | measured in this run | holds |", "| --- | --- | --- |"]
    for c in claims:
        mark = "✅ yes" if c["holds"] else "❌ no"
        lines.append(f"| {_escape(c['claim'])} | {_escape(c['measured'])} | {mark} |")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_report(
    out_dir: str | Path,
    studies: list[tuple[Any, str, dict[str, list[str]]]],
    title: str = "Single-parameter studies",
    preamble: str = "",
) -> Path:
    """Write ``report.md`` and ``summary.json`` gathering ``(result, subdirectory, files)`` per study."""
    out = Path(out_dir)
    claims = [dict(c, study=r.name) for r, _, _ in studies for c in r.claims]
    held = sum(c["holds"] for c in claims)
    lines = [f"# {title}", ""]
    if preamble:
        lines += [preamble, ""]
    lines += [f"**{held} of {len(claims)} claims hold.**", "", "## All claims", "",
              "| study | claim (paper) | measured in this run | holds |", "| --- | --- | --- | --- |"]
    for c in claims:
        mark = "✅ yes" if c["holds"] else "❌ no"
        lines.append(f"| {c['study']} | {_escape(c['claim'])} | {_escape(c['measured'])} | {mark} |")
    for result, subdir, files in studies:
        lines += ["", f"## {result.name}: {result.title}", "",
                  f"Run time {result.seconds:.1f} s; data and figures in `{subdir}/`.", ""]
        for figure in files.get("figures", []):
            lines += [f"![{result.name}]({subdir}/{figure})", ""]
        lines += [claims_table(result.claims)]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    write_json(out / "summary.json", {
        "title": title,
        "claims": claims,
        "claims_holding": held,
        "claims_total": len(claims),
        "all_claims_hold": held == len(claims),
        "studies": {r.name: {"directory": subdir, "all_claims_hold": r.all_hold, "seconds": round(r.seconds, 2)}
                    for r, subdir, _ in studies},
    })
    return path
