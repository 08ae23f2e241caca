"""The War-and-Peace LSTM study of the paper's Fig. 3, as a sweep of training runs.

Onen, Gokmen et al., "Neural Network Training with Asymmetric Crosspoint Elements",
Front. Artif. Intell. 5:891624 (2022), Fig. 3: a character-level LSTM trained with analog SGD
(panel A) and with SHD (panel B) on devices of increasing asymmetry; floating point for reference.

**Network** "LSTM2-64WP" (Gokmen, Rasch & Haensch 2018): one-hot characters → 2 stacked LSTM
layers of 64 units (dropout 0.2 between them and before the read-out) → linear read-out to the
vocabulary → cross-entropy; sequences of 100 characters, batch 32, gradient-norm clipping at 1.0
(digital gradients and the analog layers' Σ δᵀx alike), digital biases. The text is split 90/5/5
contiguously (vocabulary from the training part); the test cross-entropy is in nats per character.

**Devices** of increasing asymmetry at equal step size and range: linear-step devices (step at
w = 0 is ``dw_min``, falling linearly toward each device's own bounds with slope γ, so
``Δw± = dw_min·(1 ∓ γ·w/w_bound)``), γ ∈ {0 (perfectly symmetric), 0.05, 0.1, 0.3, 0.6,
1 (soft bounds)}; κ = γ/w_max in the paper's Eq. 2. Every level has the same device-to-device
variation (30 % of the step size and of the bounds), cycle-to-cycle variation (30 % of every
step), analog read noise (σ = 0.06 in weight units at full-scale input, 7-bit inputs, 9-bit
outputs, noise and bound management, on every read: forward, backward and SHD's transfer reads) and the stochastic pulse update (bit length 10, update management) — the
"similar to Ref. 9" set of Gokmen & Vlasov (2016) as carried by the field's reference simulator
(paper notes §5.2). The up/down imbalance has no device-to-device spread, so γ = 0 is perfectly
symmetric, as the paper's black curve.

**Runs**: floating point; for every level analog SGD (reference at the weight zero, as the
paper's footnote 2) and SHD (3 arrays, C = C_main − A_ref, A_ref programmed to each A device's
symmetry point; in this family w* = 0 for every device because its up and down gains are equal,
so the exact point is used — zero-shifting pulses would find it up to their random-walk error,
at ~25 s per run). One learning rate, one schedule (full study: ×0.1 after 60 % and 80 % of the
epochs, :data:`LR_DECAY_AT`) and one (η_A, η_C, τ, k) serve every level — see
:data:`HYPERPARAMETERS` for how they were chosen. Every run has the same seed, hence the same
initial weights and data order.

**--quick** (:data:`QUICK`): the first 100,000 characters, 4 epochs, sequences of 50 — 224
updates per run, the grid in ~8 minutes on 2 cores.

:func:`run_fig3` runs the grid through :func:`analogtrain.sweep.run_sweep` (a local Dask cluster
or an existing one; resumable) into ``DIR/sweep`` and writes ``DIR/results.csv``,
``DIR/summary.json`` (final test cross-entropy of every run and the ``claims``),
``DIR/fig3.png`` (panels A and B with the pulse-response insets) and
``DIR/pulse_response.png``.
"""

from analogtrain.studies.fig3.config import (
    ALL_COLUMNS,
    GAMMAS,
    HYPERPARAMETERS,
    LR_DECAY_AT,
    QUICK,
    Fig3Config,
    base_training_config,
    device,
    gamma_label,
    io,
    lr_milestones,
    quick_config,
    run_names,
    sgd_algorithm,
    shd_algorithm,
)
from analogtrain.studies.fig3.study import build_sweep, curves, prepare_directory, run_fig3, text_report, write_outputs

__all__ = [
    "ALL_COLUMNS",
    "GAMMAS",
    "HYPERPARAMETERS",
    "LR_DECAY_AT",
    "QUICK",
    "Fig3Config",
    "base_training_config",
    "device",
    "gamma_label",
    "io",
    "lr_milestones",
    "quick_config",
    "run_names",
    "sgd_algorithm",
    "shd_algorithm",
    "build_sweep",
    "curves",
    "prepare_directory",
    "run_fig3",
    "text_report",
    "write_outputs",
]
