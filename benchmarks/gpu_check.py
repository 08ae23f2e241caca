"""One prepared check for a GPU machine: the CUDA-marked tests, then the benchmarks, one table.

Runs, on ``--device`` (default cuda):

1. ``pytest -m cuda`` (every pulse-update strategy, the reads and the algorithms on CUDA tensors;
   ``tests/test_cuda.py`` and the other ``cuda``-marked tests);
2. ``benchmarks/update_step.py`` (128/256/512 × batch 1/32/128, mean-reduced and dense, preset
   periphery, default strategy) and ``benchmarks/network_step.py`` (MLP and char LSTM, analog SGD
   and SHD, preset and ideal periphery),

and prints one Markdown table of every timing row (analog ms, floating-point ms, ratio) after the
tests' summary line. ``--device cpu --tiny`` runs the same on CPU at a tiny size (the test suite
does, so the script stays runnable where there is no GPU).

    python benchmarks/gpu_check.py                 # on a GPU machine
    python benchmarks/gpu_check.py --device cpu --tiny
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import network_step  # noqa: E402  (benchmarks/ is not a package)
import update_step  # noqa: E402


def run_cuda_tests(tiny: bool) -> str:
    """The summary line of ``pytest -m cuda`` (skipped without CUDA; not run with ``--tiny``)."""
    if tiny:
        return "cuda-marked tests: not run (--tiny)"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", str(HERE.parent / "tests")],
                            capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return f"cuda-marked tests (exit {result.returncode}): {lines[-1] if lines else 'no output'}"


def update_rows(device: str, tiny: bool) -> list[dict]:
    args = ["--device", device, "--json", "--threads", "1"]
    if tiny:
        args += ["--sizes", "16", "--batches", "1,4", "--repeats", "1", "--warmup", "0"]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        update_step.main(args)
    rows = [json.loads(line) for line in output.getvalue().splitlines() if line.startswith("{")]
    return [{"benchmark": "update_step", "case": f"{r['setting']} {r['size']}² batch {r['batch']}",
             "variant": r["counted_by"], "analog_ms": r["analog_ms"], "fp_ms": r["fp_ms"], "ratio": r["ratio"]}
            for r in rows]


def network_rows(device: str, tiny: bool) -> list[dict]:
    rows = []
    steps, repeats = (1, 1) if tiny else (10, 3)
    for io_name in ("preset", "ideal"):
        results = network_step.run(steps, repeats, torch.device(device), 0.01, io_name)
        for case, variants in results.items():
            fp = variants["floating point"]["median_ms"]
            for label, row in variants.items():
                if label != "floating point":
                    rows.append({"benchmark": "network_step", "case": f"{case} ({io_name} I/O)", "variant": label,
                                 "analog_ms": round(row["median_ms"], 3), "fp_ms": round(fp, 3),
                                 "ratio": round(row["ratio_to_fp"], 2)})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | case | variant | analog ms | FP ms | ratio |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['benchmark']} | {r['case']} | {r['variant']} | {r['analog_ms']:.3f} | {r['fp_ms']:.3f} | "
              f"{r['ratio']:.2f}× |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="torch device of the benchmarks (cuda, cpu)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, one repeat (a smoke run)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("Error: --device cuda needs a CUDA device (none is available here); use --device cpu", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(torch.device(args.device)) if args.device.startswith("cuda") else "CPU"
    print(f"# gpu_check: torch {torch.__version__}, device {args.device} ({name})")
    print(run_cuda_tests(args.tiny))
    rows = update_rows(args.device, args.tiny) + network_rows(args.device, args.tiny)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
