"""Time per training batch: floating point vs analog SGD vs SHD (or any algorithms), measured in the same run.

Networks (issue 4, acceptance 6):

* MLP 784-256-128-10 (sigmoid), batch 32, random MNIST-shaped data (pixels in [0, 1], 10 classes);
* character LSTM: 2 layers of 64 units, vocabulary 150 (one-hot), sequence 100, batch 32, linear
  decoder; floating point is ``torch.nn.LSTM``.

Analog runs use soft-bounds devices with device-to-device and cycle-to-cycle variation and the
default pulse update (mode "aggregate", BL 31, update and bit-length management). One batch is
``zero_grad`` + forward + loss + backward + ``optimizer.step()`` (the pulse updates and, for SHD,
the transfers). Each case is warmed up, then timed over ``--steps`` batches, ``--repeats`` times;
the variants are interleaved within every repeat, and the median per-batch time is reported with
the median of the per-repeat ratios to floating point. Targets: MLP analog ≤ 3× FP, LSTM analog
≤ 2.5× torch.nn.LSTM. On a shared machine, ``--threads 1`` gives the steadiest numbers.

``--algorithms`` picks the analog variants by preset name (default ``sgd,shd``: the output is
then as before); e.g. ``--algorithms sgd,shd,ttv2,c-ttv2,agad,residual-learning,mixed-precision``
times each successor next to SGD (:func:`analogtrain.algorithms.algorithm_preset`, same device).

    python benchmarks/network_step.py [--steps 20] [--repeats 5] [--threads N] [--device cpu]
                                      [--algorithms sgd,shd] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from torch import nn

from analogtrain.algorithms import AnalogSGDConfig, SHDConfig, algorithm_preset, algorithm_presets
from analogtrain.crossbar import IOConfig
from analogtrain.devices import SoftBoundsDevice
from analogtrain.nn import AnalogSGD, convert

DEVICE = SoftBoundsDevice(dw_min=0.001, w_max=0.6, w_min=-0.6, dw_min_dtod=0.3, dw_min_std=0.3,
                          w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.01)
TARGETS = {"mlp": 3.0, "lstm": 2.5}
DEFAULT_ALGORITHMS = ("sgd", "shd")
LABELS = {"sgd": "analog SGD", "shd": "SHD", "tiki-taka": "Tiki-Taka", "ttv2": "TTv2", "c-ttv2": "c-TTv2",
          "agad": "AGAD", "residual-learning": "residual learning", "mixed-precision": "mixed precision"}


def algorithms(io: str, names: tuple[str, ...] = DEFAULT_ALGORITHMS) -> dict:
    """The analog variants (preset names, see module docstring). ``io="preset"``: the field's
    default periphery (7-bit DAC, 9-bit ADC, read noise 0.06, noise management; iterative bound
    management in the forward read only); ``io="ideal"``: exact reads."""
    if io == "ideal":
        reads = {}
    else:
        forward = IOConfig.preset()
        backward = forward.replace(bound_management="none")
        reads = {"forward_io": forward, "backward_io": backward}
    variants = {}
    for name in names:
        if name == "sgd":
            config = AnalogSGDConfig(device=DEVICE, **reads)
        elif name == "shd":
            config = SHDConfig(device_a=DEVICE, device_c=DEVICE,
                               **({} if io == "ideal" else {**reads, "transfer_io": reads["backward_io"]}))
        else:
            config = algorithm_preset(name, DEVICE)
            if reads:
                extra = {} if name == "mixed-precision" else {"transfer_io": reads["backward_io"]}
                config = config.replace(**reads, **extra)
        variants[LABELS.get(name, name)] = config
    return variants


class CharLSTM(nn.Module):
    def __init__(self, vocabulary=150, hidden=64, layers=2):
        super().__init__()
        self.vocabulary = vocabulary
        self.lstm = nn.LSTM(vocabulary, hidden, num_layers=layers, batch_first=True)
        self.decoder = nn.Linear(hidden, vocabulary)

    def forward(self, codes):
        out, _ = self.lstm(nn.functional.one_hot(codes, self.vocabulary).float())
        return self.decoder(out)


def make_case(name: str, device: torch.device):
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.Sigmoid(), nn.Linear(256, 128), nn.Sigmoid(),
                              nn.Linear(128, 10))
        x = torch.rand(32, 784, generator=generator).to(device)
        y = torch.randint(0, 10, (32,), generator=generator).to(device)
    else:
        model = CharLSTM()
        x = torch.randint(0, 150, (32, 100), generator=generator).to(device)
        y = torch.randint(0, 150, (32, 100), generator=generator).to(device)
    return model, x, y


def make_step(model, optimizer, x, y):
    def step():
        optimizer.zero_grad()
        out = model(x)
        loss = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        optimizer.step()

    return step


def run(steps: int, repeats: int, device: torch.device, lr: float, io: str = "ideal",
        names: tuple[str, ...] = DEFAULT_ALGORITHMS) -> dict:
    """Per case: the three variants are timed in turn within every repeat (interleaved, so a change
    of the machine's speed during the run hits all of them alike); each repeat gives a ratio to
    that repeat's floating-point time, and the medians are reported."""

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    results = {}
    for case in ("mlp", "lstm"):
        model, x, y = make_case(case, device)
        fp = model.to(device)
        steps_of = {"floating point": make_step(fp, torch.optim.SGD(fp.parameters(), lr=lr), x, y)}
        for label, config in algorithms(io, names).items():
            analog = convert(model, config, torch_device=device)
            steps_of[label] = make_step(analog, AnalogSGD(analog, lr=lr), x, y)
        for step in steps_of.values():  # warm-up
            for _ in range(3):
                step()
        sync()
        times: dict[str, list[float]] = {label: [] for label in steps_of}
        for _ in range(repeats):
            for label, step in steps_of.items():
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                sync()
                times[label].append((time.perf_counter() - start) / steps)
        fp_times = times["floating point"]
        results[case] = {
            label: {"median_ms": 1e3 * statistics.median(t), "min_ms": 1e3 * min(t),
                    "ratio_to_fp": statistics.median([a / b for a, b in zip(t, fp_times)])}
            for label, t in times.items()
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="batches per timing repeat")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads [default: torch's]")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (sets the number of pulses)")
    parser.add_argument("--io", choices=("preset", "ideal"), default="ideal",
                        help="periphery of the analog reads (preset: 7-bit DAC, 9-bit ADC, read noise 0.06, "
                             "noise and bound management; ideal: exact products) [default: ideal]")
    parser.add_argument("--algorithms", default=",".join(DEFAULT_ALGORITHMS),
                        help=f"comma-separated analog variants, of {algorithm_presets()} [default: sgd,shd]")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--compare", default=None, metavar="JSON",
                        help="also print a Markdown before/after table against an earlier run's --json file")
    args = parser.parse_args()
    names = tuple(name.strip() for name in args.algorithms.split(",") if name.strip())
    unknown = [name for name in names if name not in algorithm_presets()]
    if unknown:
        parser.error(f"unknown algorithms {unknown}; valid: {algorithm_presets()}")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results = run(args.steps, args.repeats, device, args.lr, args.io, names)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, device {device}, "
          f"{torch.get_num_threads()} threads, {args.steps} batches × {args.repeats} repeats, lr {args.lr}, "
          f"io {args.io}")
    for case, rows in results.items():
        title = "MLP 784-256-128-10, batch 32" if case == "mlp" else "char LSTM 2×64, vocab 150, seq 100, batch 32"
        print(f"\n{title} (target: analog ≤ {TARGETS[case]}× floating point)")
        for label, row in rows.items():
            verdict = ""
            if label != "floating point":
                verdict = "  meets target" if row["ratio_to_fp"] <= TARGETS[case] else "  MISSES target"
            print(f"  {label:<24} {row['median_ms']:9.2f} ms/batch (min {row['min_ms']:8.2f})"
                  f"  {row['ratio_to_fp']:6.2f}×{verdict}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"threads": torch.get_num_threads(), "device": str(device), "io": args.io,
                       "results": results}, handle,
                      indent=2)
    if args.compare:
        with open(args.compare) as handle:
            print("\n" + comparison_table(json.load(handle)["results"], results, args.io))


#: Targets of issue 14 (ratio to floating point) by periphery and network.
ISSUE_TARGETS = {("preset", "mlp"): 2.5, ("preset", "lstm"): 2.0, ("ideal", "mlp"): 2.0}


def comparison_table(before: dict, after: dict, io: str) -> str:
    """Markdown: per network and variant the earlier and the new ms/batch and ratio to FP, the
    change of the analog time and the issue's target where it has one."""
    lines = [f"| network ({io} I/O) | variant | before: ms (ratio) | after: ms (ratio) | time | target |",
             "|---|---|---|---|---|---|"]
    for case, rows in after.items():
        for label, row in rows.items():
            old = before.get(case, {}).get(label)
            was = f"{old['median_ms']:.2f} ({old['ratio_to_fp']:.2f}×)" if old else "—"
            change = f"{100 * (row['median_ms'] / old['median_ms'] - 1):+.0f} %" if old else "—"
            goal = ISSUE_TARGETS.get((io, case)) if label != "floating point" else None
            verdict = "—" if goal is None else f"≤ {goal:g}×: {'meets' if row['ratio_to_fp'] <= goal else '**misses**'}"
            lines.append(f"| {case} | {label} | {was} | {row['median_ms']:.2f} ({row['ratio_to_fp']:.2f}×) | "
                         f"{change} | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
