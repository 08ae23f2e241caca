"""Settings and grid of the Fig. 3 study: :class:`Fig3Config`, the device family of asymmetry
γ, the algorithms and the training config of every run (see :mod:`analogtrain.studies.fig3`)."""


from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from analogtrain.config import Config, check_int, check_positive, check_range
from analogtrain.errors import ConfigError
from analogtrain.training.config import TrainingConfig

#: The learning-rate schedule of the full study: every run's learning rate is multiplied by
#: ``lr_decay`` (0.1) after 60 % and after 80 % of its epochs (epochs 30 and 40 of 50) — the usual
#: step schedule of SGD training. It is the same for every run (floating point, SGD, SHD, every
#: level). Measured on the floating-point run at full length, on validation data: with the
#: constant lr = 10 the validation cross-entropy flattens at ~1.38 after epoch 30 (the learning
#: rate's noise floor). --quick keeps the constant rate (4 short epochs leave no room for a schedule).
#: Kept for SHD too (one schedule for every run, not tuned toward a claim), though it does not
#: suit SHD everywhere: at 10× the quick budget (400,000 characters, 10 epochs, steps after
#: epochs 6 and 8) the step lowered the validation cross-entropy of FP and SGD but raised SHD's at
#: γ ≤ 0.3 (γ = 0.1: 1.956 → 2.042).
#: The rise is in the training loss too, from the first epoch after the step (γ = 0.1: 2.017 →
#: 2.078; the same run at a constant rate: 2.002), so it is not overfitting. Measured from that
#: run's state (benchmarks/README.md, "SHD and the learning-rate step"): SHD's transfer writes are
#: capped by the pulse train (k = η_C·max|v|/Δw_min ≈ 300 at lr 10 and ≈ 30 at lr 1, both ≫ BL =
#: 10), so the step shrinks C's per-batch change only ~1.8× while it shrinks A's ~3.5×: C keeps
#: getting near-full writes of an A whose gradient signal fell tenfold [inference: against the
#: same read noise and ADC step of the transfer reads].
LR_DECAY_AT = (0.6, 0.8)

#: Asymmetry levels γ of the linear-step device family (0: symmetric, 1: soft bounds).
GAMMAS = (0.0, 0.05, 0.1, 0.3, 0.6, 1.0)

#: SHD's k: read and transfer every column of A at each transfer (the algorithm uses min(k, n)).
ALL_COLUMNS = 2**20

#: How the hyper-parameters were chosen (written into summary.json).
HYPERPARAMETERS = (
    "Chosen once for every asymmetry level on validation data, never on test data and never per "
    "level, at a quick budget of the first 100,000 characters, 3 epochs, sequences of 100. "
    "(1) lr, shared by floating point, analog SGD and SHD: the floating-point network with "
    "gradient-norm clipping 1.0 and lr in {3, 10, 30, 100}: validation cross-entropy 3.178, "
    "3.173, 3.758, 21.2 -> lr = 10 (30 and 100 diverge). (2) SHD: eta_A = fast_lr*lr with "
    "fast_lr = 1 (the reference simulator's default); tau = transfer_every = 1 update; "
    "k = columns_per_transfer = all columns (every transfer reads all of A, one one-hot column "
    "per read: with one column per update each column would be transferred less than once in the "
    "quick budget); eta_C = transfer_lr*lr with transfer_lr chosen from {0.03, 0.1, 0.3, 1} by "
    "the validation cross-entropy of SHD on the middle level gamma = 0.3 alone: 3.102, 3.068, "
    "3.077, 3.086 -> transfer_lr = 0.1. The same values serve the full study and --quick "
    "(which then moved to sequences of 50 to afford twice the updates; see QUICK). "
    "(3) Full study only: every run's learning rate (SHD: eta_A and eta_C with it) is multiplied "
    "by 0.1 after 60 % and after 80 % of the epochs, the usual step schedule, chosen on the "
    "floating-point run at full length: with the constant rate its validation cross-entropy "
    "flattens at ~1.38 from epoch 30 on."
)


@dataclasses.dataclass(frozen=True)
class Fig3Config(Config):
    """Settings of the study (network, devices, budget, hyper-parameters); see module docstring.

    data: path of the text. max_chars: use only the first characters (None: all).
    epochs, batch_size, seq_len, hidden_size, num_layers, dropout: network and budget.
    lr: learning rate of floating point and of analog SGD; lr_decay_at, lr_decay: the learning rate
    (of every run, SHD's η_A and η_C with it) is multiplied by lr_decay after these fractions of
    the epochs (see :data:`LR_DECAY_AT`); SHD: lr with fast_lr, transfer_lr,
    transfer_every, columns_per_transfer (η_A = fast_lr·lr, η_C = transfer_lr·lr, τ, and k one-hot
    columns read and transferred per transfer; default all). See :data:`HYPERPARAMETERS`. grad_clip: gradient-norm
    clipping (digital gradients). gammas: the asymmetry levels. dw_min, w_max: step and range
    (w_min = −w_max). dtod, c2c: device-to-device and cycle-to-cycle spreads. out_noise,
    inp_bits, out_bits: read non-idealities. bl: pulse-train length. seed: one seed for every run.
    """

    config_name = "fig3"

    data: str = ""
    max_chars: int | None = None
    epochs: int = 50
    batch_size: int = 32
    seq_len: int = 100
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.2
    lr: float = 10.0
    lr_decay_at: tuple[float, ...] = LR_DECAY_AT
    lr_decay: float = 0.1
    fast_lr: float = 1.0
    transfer_lr: float = 0.1
    transfer_every: int = 1
    columns_per_transfer: int = ALL_COLUMNS
    grad_clip: float | None = 1.0
    gammas: tuple[float, ...] = GAMMAS
    dw_min: float = 0.001
    w_max: float = 0.6
    dtod: float = 0.3
    c2c: float = 0.3
    out_noise: float = 0.06
    inp_bits: int = 7
    out_bits: int = 9
    bl: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("gammas", "lr_decay_at"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        super().__post_init__()

    def validate(self) -> None:
        if not isinstance(self.data, str) or not self.data:
            raise ConfigError("--data: the path of the text file is required")
        if self.max_chars is not None:
            check_int("--max-chars", self.max_chars, 1000, 2**40)
        check_int("--epochs", self.epochs, 1, 10_000)
        check_int("batch_size", self.batch_size, 1, 4096)
        check_int("seq_len", self.seq_len, 2, 10_000)
        check_int("hidden_size", self.hidden_size, 1, 4096)
        check_int("num_layers", self.num_layers, 1, 8)
        check_range("dropout", self.dropout, 0.0, 1.0, high_inclusive=False)
        for name in ("lr", "fast_lr", "transfer_lr", "dw_min", "w_max"):
            check_positive(name, getattr(self, name))
        if not isinstance(self.lr_decay_at, tuple):
            raise ConfigError(f"lr_decay_at must be a list of fractions in (0, 1), got {self.lr_decay_at!r}")
        for i, fraction in enumerate(self.lr_decay_at):
            check_range(f"lr_decay_at[{i}]", fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
        check_range("lr_decay", self.lr_decay, 0.0, 1.0, low_inclusive=False)
        check_int("transfer_every", self.transfer_every, 1, 10**6)
        check_int("columns_per_transfer", self.columns_per_transfer, 1, 2**20)
        if self.grad_clip is not None:
            check_positive("grad_clip", self.grad_clip)
        if not isinstance(self.gammas, tuple) or not self.gammas:
            raise ConfigError(f"gammas must be a non-empty list of slopes in [0, 1], got {self.gammas!r}")
        for i, gamma in enumerate(self.gammas):
            check_range(f"gammas[{i}]", gamma, 0.0, 1.0)
        if len(set(self.gammas)) != len(self.gammas):
            raise ConfigError(f"gammas must be distinct, got {list(self.gammas)}")
        for name in ("dtod", "c2c"):
            check_range(name, getattr(self, name), 0.0, 1.0)
        check_range("out_noise", self.out_noise, 0.0, 10.0)
        check_int("inp_bits", self.inp_bits, 2, 24)
        check_int("out_bits", self.out_bits, 2, 24)
        check_int("bl", self.bl, 1, 4096)
        check_int("seed", self.seed, 0, 2**32 - 1)
        if self.dw_min >= self.w_max:
            raise ConfigError(f"dw_min must be smaller than w_max, got dw_min={self.dw_min}, w_max={self.w_max}")


#: --quick: a prefix of the text and a small budget (the whole grid in < 10 min on 2 cores).
#: The most asymmetric SHD runs need the most updates to leave the unigram plateau (test CE ≈ 3.14,
#: where every run starts): their A arrays are overdamped (A ≈ (net/total pulses)·w_max/γ) and C
#: moves at η_C·A. At sequences of 100 (~100 updates per run fit in 10 minutes) SHD at γ ≥ 0.6 was
#: still on the plateau after 84 updates, within ±0.02 of SGD; sequences of 50 halve the cost of an
#: update. With 3 epochs (168 updates) SHD at γ = 1 left the plateau in one run of the code and not
#: in another (3.1372 against SGD's 3.1373): the escape falls near update 170. 4 epochs (224
#: updates of 32 × 50 characters, the grid in ~8 minutes on 2 cores) put it clearly off the plateau
#: (3.04 against 3.15). The full study keeps sequences of 100.
QUICK = {"max_chars": 100_000, "epochs": 4, "seq_len": 50, "lr_decay_at": ()}


def quick_config(data: str, **changes: Any) -> Fig3Config:
    """The --quick study: :data:`QUICK` on top of the defaults, then ``changes``."""
    return Fig3Config(data=data, **{**QUICK, **changes})


# ---------------------------------------------------------------------------------------------
# The grid


def device(config: Fig3Config, gamma: float) -> dict[str, Any]:
    """The linear-step device of asymmetry level γ (plain dict, as in a training config)."""
    return {
        "model": "linear-step", "dw_min": config.dw_min, "w_max": config.w_max, "w_min": -config.w_max,
        "gamma_up": float(gamma), "gamma_down": float(gamma),
        "dw_min_dtod": config.dtod, "dw_min_std": config.c2c, "w_max_dtod": config.dtod, "w_min_dtod": config.dtod,
        "up_down": 0.0, "up_down_dtod": 0.0,
    }


def io(config: Fig3Config) -> dict[str, Any]:
    """Read non-idealities: DAC/ADC resolution and bounds, output noise, noise/bound management."""
    return {
        "inp_res": 1.0 / (2 ** config.inp_bits - 2), "inp_bound": 1.0,
        "out_res": 1.0 / (2 ** config.out_bits - 2), "out_bound": 12.0, "out_noise": config.out_noise,
        "noise_management": "abs_max", "bound_management": "iterative",
    }


def sgd_algorithm(config: Fig3Config, gamma: float) -> dict[str, Any]:
    read = io(config)
    return {"algorithm": "sgd", "device": device(config, gamma), "update": {"bl": config.bl},
            "forward_io": read, "backward_io": read, "reference": "zero"}


def shd_algorithm(config: Fig3Config, gamma: float) -> dict[str, Any]:
    read = io(config)
    return {"algorithm": "shd", "device_a": device(config, gamma), "device_c": device(config, gamma),
            "update": {"bl": config.bl}, "transfer_update": {"bl": config.bl},
            "forward_io": read, "backward_io": read, "transfer_io": read,
            "fast_lr": config.fast_lr, "transfer_lr": config.transfer_lr, "transfer_every": config.transfer_every,
            "columns_per_transfer": config.columns_per_transfer, "calibration": "ideal"}


def base_training_config(config: Fig3Config) -> dict[str, Any]:
    """The training config of the floating-point run; the analog runs add an ``algorithm``."""
    base = {
        "model": {"kind": "char_lstm", "hidden_size": config.hidden_size, "num_layers": config.num_layers,
                  "dropout": config.dropout},
        "dataset": {"kind": "text", "path": str(Path(config.data).expanduser().resolve()),
                    "seq_len": config.seq_len, "max_chars": config.max_chars},
        "algorithm": None,
        "lr": config.lr,
        "lr_milestones": lr_milestones(config),
        "lr_gamma": config.lr_decay,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "seed": config.seed,
    }
    if config.grad_clip is not None and _supports_grad_clip():
        base["grad_clip"] = config.grad_clip
    return base


def lr_milestones(config: Fig3Config) -> list[int]:
    """Epochs after which the learning rate decays: round(fraction·epochs), inside (0, epochs)."""
    return sorted({round(f * config.epochs) for f in config.lr_decay_at} & set(range(1, config.epochs)))


def _supports_grad_clip() -> bool:
    return "grad_clip" in {f.name for f in dataclasses.fields(TrainingConfig)}


def gamma_label(gamma: float) -> str:
    return f"{gamma:g}"


def run_names(config: Fig3Config) -> dict[str, tuple[str, float | None]]:
    """run name -> (algorithm, γ) for every run of the grid."""
    names: dict[str, tuple[str, float | None]] = {"fp": ("fp", None)}
    for algorithm in ("sgd", "shd"):
        for gamma in config.gammas:
            names[f"{algorithm}_gamma-{gamma_label(gamma)}"] = (algorithm, gamma)
    return names
