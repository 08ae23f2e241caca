"""Time one analog training step next to the same step of a floating-point torch.nn.Linear.

One step of an n × n layer is forward ``y = W x``, backward ``z = Wᵀ δ`` and the weight update:

* analog: :class:`analogtrain.crossbar.CrossbarArray` forward and backward reads through the
  chosen periphery, then the stochastic pulse update of ``ΔW = −η δ xᵀ`` (soft-bounds devices
  with device-to-device and cycle-to-cycle variation, BL = 31, update management on, η = 0.01);
* floating point: ``torch.nn.Linear(n, n, bias=False)`` with ``torch.optim.SGD``: zero_grad,
  forward, ``backward(δ)`` (input gradient included, like the analog backward read), step.

Inputs are U(−1, 1). Errors are N(0, 1)/batch in the "mean-reduced" setting (the gradient of a
batch-mean loss: few pulses) and N(0, 1) in the "dense" setting (probabilities saturate: BL = 31
and the most pulses per step). Each row reports the median over ``--repeats`` steps after
warm-up, in milliseconds, the ratio analog/floating point, and the strategy that counted the
pulses (for ``auto``: the one its rule chose).

Usage (see benchmarks/README.md)::

    python benchmarks/update_step.py --threads 1                 # the table: 128/256/512 × 1/32/128, both settings
    python benchmarks/update_step.py --sizes 512 --batches 128 --strategies auto,exact
    python benchmarks/update_step.py --json > results.jsonl
    python benchmarks/update_step.py --compare before.jsonl      # a Markdown before/after table
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import torch

from analogtrain.crossbar import CrossbarArray, IOConfig, UpdateConfig
from analogtrain.devices import SoftBoundsDevice
from analogtrain.errors import ConfigError

DEVICE = SoftBoundsDevice(
    dw_min=0.001, w_max=0.6, w_min=-0.6, dw_min_dtod=0.3, dw_min_std=0.3,
    w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.01,
)
LR = 0.01
BL = 31


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="128,256,512", help="comma-separated array sizes n (n × n)")
    parser.add_argument("--batches", default="1,32,128", help="comma-separated batch sizes")
    parser.add_argument("--strategies", default="auto",
                        help="comma-separated update strategies (auto, trains, moments, exact, none)")
    parser.add_argument("--kernel", choices=("auto", "torch"), default="auto",
                        help="UpdateConfig.kernel: compiled CPU loops where they exist, or the tensor code")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per row (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before timing")
    parser.add_argument("--exact-repeats", type=int, default=2,
                        help="timed steps for the slow exact strategy (warm-up 1)")
    parser.add_argument("--skip-exact-above", default=None, metavar="SIZE/BATCH",
                        help="skip the exact strategy where n > SIZE or batch > BATCH")
    parser.add_argument("--dense", default="all", metavar="SIZE/BATCH",
                        help="the dense-pulse setting: at every size × batch ('all', the default), at one "
                             "SIZE/BATCH, or 'none'")
    parser.add_argument("--dense-strategies", default="auto", help="strategies of the dense-pulse rows")
    parser.add_argument("--compare", default=None, metavar="JSONL",
                        help="also print a Markdown table of these rows next to an earlier run's --json output")
    parser.add_argument("--io", choices=("preset", "ideal"), default="preset",
                        help="periphery of the analog reads: 'preset' = 7-bit DAC, 9-bit ADC, read noise "
                             "0.06, noise and bound management; 'ideal' = exact products")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    args = parser.parse_args(argv)
    args.sizes = [int(v) for v in args.sizes.split(",") if v]
    args.batches = [int(v) for v in args.batches.split(",") if v]
    args.strategies = [v.strip() for v in args.strategies.split(",") if v.strip()]
    args.dense_strategies = [v.strip() for v in args.dense_strategies.split(",") if v.strip()]
    args.skip_exact_above = _size_batch(args.skip_exact_above, "--skip-exact-above", parser)
    args.dense = "all" if args.dense == "all" else _size_batch(args.dense, "--dense", parser)
    for strategy in args.strategies + args.dense_strategies:
        try:
            UpdateConfig(strategy=strategy)  # validates the name
        except ConfigError as error:
            parser.error(str(error))
    if args.repeats < 1 or args.exact_repeats < 1 or args.warmup < 0:
        parser.error("--repeats and --exact-repeats must be ≥ 1, --warmup ≥ 0")
    return args


def _size_batch(text, flag, parser):
    if text is None or text.lower() == "none":
        return None
    try:
        size, batch = (int(v) for v in text.split("/"))
    except ValueError:
        parser.error(f"{flag} expects SIZE/BATCH, e.g. 256/32, got {text!r}")
    return size, batch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_data(size, batch, setting, generator, device, count=4):
    """A few (x, δ) batches to cycle through (fresh data every step, drawn before timing)."""
    data = []
    for _ in range(count):
        x = torch.rand(batch, size, generator=generator) * 2 - 1
        d = torch.randn(batch, size, generator=generator)
        if setting == "mean-reduced":
            d = d / batch
        data.append((x.to(device), d.to(device)))
    return data


def time_analog(size, batch, strategy, kernel, setting, io, steps, warmup, seed, device):
    array = CrossbarArray(size, size, DEVICE, update=UpdateConfig(bl=BL, strategy=strategy, kernel=kernel),
                          forward_io=io, backward_io=io.replace(bound_management="none"),
                          seed=seed, torch_device=device)
    generator = torch.Generator().manual_seed(seed + 1)
    array.program(torch.empty(size, size).uniform_(-0.3, 0.3, generator=generator))
    data = make_data(size, batch, setting, generator, device)
    parts = {"forward": [], "backward": [], "update": [], "step": []}
    pulses = []
    for step in range(warmup + steps):
        x, d = data[step % len(data)]
        synchronize(device)
        t0 = time.perf_counter()
        array.forward(x)
        synchronize(device)
        t1 = time.perf_counter()
        array.backward(d)
        synchronize(device)
        t2 = time.perf_counter()
        count = array.pulse_update(x, d, LR)
        synchronize(device)
        t3 = time.perf_counter()
        if step >= warmup:
            parts["forward"].append(t1 - t0)
            parts["backward"].append(t2 - t1)
            parts["update"].append(t3 - t2)
            parts["step"].append(t3 - t0)
            pulses.append(count)
    result = {key: 1e3 * statistics.median(values) for key, values in parts.items()}
    result["pulses"] = statistics.median(pulses)
    result["counted_by"] = "+".join(sorted(array.operations.strategies))
    return result


def time_floating_point(size, batch, setting, steps, warmup, seed, device):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(size, size, bias=False).to(device)
    optimizer = torch.optim.SGD(layer.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed + 1)
    data = [(x.requires_grad_(True), d) for x, d in make_data(size, batch, setting, generator, device)]
    times = []
    for step in range(warmup + steps):
        x, d = data[step % len(data)]
        synchronize(device)
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        x.grad = None
        layer(x).backward(d)
        optimizer.step()
        synchronize(device)
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def rows(args):
    """(setting, size, batch, strategy) of every row, in table order."""
    for size in args.sizes:
        for batch in args.batches:
            for strategy in args.strategies:
                yield "mean-reduced", size, batch, strategy
    if args.dense == "all":
        for size in args.sizes:
            for batch in args.batches:
                for strategy in args.dense_strategies:
                    yield "dense", size, batch, strategy
    elif args.dense is not None:
        size, batch = args.dense
        for strategy in args.dense_strategies:
            yield "dense", size, batch, strategy


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    io = IOConfig.preset() if args.io == "preset" else IOConfig()
    header = (f"{'setting':<13} {'size':>5} {'batch':>5} {'strategy':<9} {'counted by':<16} {'pulses':>10} "
              f"{'fwd':>7} {'bwd':>7} {'update':>8} {'analog_ms':>10} {'fp_ms':>8} {'ratio':>7}")
    if not args.json:
        print(f"# analogtrain update_step: torch {torch.__version__}, device {device}, "
              f"threads {torch.get_num_threads()}, io {args.io}, lr {LR}, bl {BL}, "
              f"{platform.processor() or platform.machine()}")
        print("# times in ms per step (median); fwd/bwd/update are the analog parts")
        print(header)
    fp_cache: dict[tuple, float] = {}
    records = []
    for setting, size, batch, mode in rows(args):
        slow = mode == "exact"
        if slow and args.skip_exact_above is not None:
            max_size, max_batch = args.skip_exact_above
            if size > max_size or batch > max_batch:
                continue
        steps = args.exact_repeats if slow else args.repeats
        warmup = min(args.warmup, 1) if slow else args.warmup
        analog = time_analog(size, batch, mode, args.kernel, setting, io, steps, warmup, args.seed, device)
        key = (setting, size, batch)
        if key not in fp_cache:
            fp_cache[key] = time_floating_point(size, batch, setting, max(args.repeats, 5), args.warmup + 1,
                                                args.seed, device)
        fp_ms = fp_cache[key]
        record = {
            "size": size, "batch": batch, "strategy": mode, "counted_by": analog["counted_by"], "setting": setting,
            "kernel": args.kernel,
            "analog_ms": round(analog["step"], 4), "fp_ms": round(fp_ms, 4),
            "ratio": round(analog["step"] / fp_ms, 2),
            "forward_ms": round(analog["forward"], 4), "backward_ms": round(analog["backward"], 4),
            "update_ms": round(analog["update"], 4), "pulses": analog["pulses"], "repeats": steps,
            "io": args.io, "lr": LR, "bl": BL, "device": str(device), "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        }
        records.append(record)
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            print(f"{setting:<13} {size:>5} {batch:>5} {mode:<9} {analog['counted_by']:<16} {analog['pulses']:>10.0f} "
                  f"{analog['forward']:>7.2f} {analog['backward']:>7.2f} {analog['update']:>8.2f} "
                  f"{analog['step']:>10.2f} {fp_ms:>8.3f} {analog['step'] / fp_ms:>7.1f}", flush=True)
    if args.compare:
        print(comparison_table(load_rows(args.compare), records))
    return 0


#: Targets of issue 14 (ratio analog/FP): batch 1 ≤ 15×, batch ≥ 32 ≤ 10×, 512² batch 128 mean-reduced ≤ 4×.
def target(row: dict) -> float:
    if row["batch"] == 1:
        return 15.0
    if row["size"] == 512 and row["batch"] == 128 and row["setting"] == "mean-reduced":
        return 4.0
    return 10.0


def load_rows(path: str) -> list[dict]:
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip().startswith("{")]


def comparison_table(before: list[dict], after: list[dict]) -> str:
    """A Markdown table: per row the earlier and the new analog time, FP time and ratio, the target,
    and the change of the analog time (rows matched by setting, size and batch; an earlier run's
    ``mode`` column counts as its strategy)."""
    earlier = {(r["setting"], r["size"], r["batch"]): r for r in before}
    lines = ["| setting | size | batch | counted by | before: analog ms (FP ms, ratio) | after: analog ms "
             "(FP ms, ratio) | target | analog time |", "|---|---|---|---|---|---|---|---|"]
    for row in after:
        old = earlier.get((row["setting"], row["size"], row["batch"]))
        was = f"{old['analog_ms']:.2f} ({old['fp_ms']:.2f}, {old['ratio']:.1f}×)" if old else "—"
        change = f"{100 * (row['analog_ms'] / old['analog_ms'] - 1):+.0f} %" if old else "—"
        verdict = "meets" if row["ratio"] <= target(row) else "**misses**"
        lines.append(f"| {row['setting']} | {row['size']} | {row['batch']} | {row['counted_by']} | {was} | "
                     f"{row['analog_ms']:.2f} ({row['fp_ms']:.2f}, {row['ratio']:.1f}×) | ≤ {target(row):g}×: "
                     f"{verdict} | {change} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
