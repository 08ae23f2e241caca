"""Tiki-Taka (4 arrays) and Stochastic Hamiltonian Descent (3 arrays): the coupled A/C system.

Gokmen & Haensch, "Algorithm for Training Neural Networks on Resistive Device Arrays",
Front. Neurosci. 14:103 (2020) (Tiki-Taka); Onen, Gokmen et al., "Neural Network Training with
Asymmetric Crosspoint Elements", Front. Artif. Intell. 5:891624 (2022), Fig. 2A (SHD).

Two differential weights per layer: the auxiliary (fast) ``A = A_main − A_ref`` and the core
(slow) ``C = C_main − C_ref``. Before training each reference is set to the symmetry point of its
main array (zero shifting), so A = 0 and C = 0 where the devices' up and down steps balance.
Per training batch (paper Fig. 2A, steps I–V):

    I.   y = W x,  II. z = Wᵀ δ          reads of the visible weight W = γA + C (γ = 0: C only)
    III. A_main ← A_main − η_A δ xᵀ       the update SGD would apply to C goes to A (η_A = fast_lr·lr)
    every τ updates (``transfer_every``):
    IV.  v_s = A u_s                      forward reads of A with one-hot u_s, s = 1..k, cycling
                                          over the n columns (``columns_per_transfer`` = k)
    V.   C_main ← C_main + η_C Σ_s v_s u_sᵀ   one parallel pulse update (η_C = transfer_lr·lr);
                                          the pulse update applies −η·dᵀx, so it is given d = −v

In the continuum limit (paper Eqs. 3–4) A is a velocity and C a position: with
``A_ref = A_sym`` the asymmetric term of A's devices, ``−η_A κ_A |g + ε| (A_main − A_sym)``, is a
drag, so the pair is a damped harmonic oscillator of natural frequency ``√(η_A η_C/(τ n))`` whose
damping is the device asymmetry (see :mod:`analogtrain.theory.shd`).

* :class:`TikiTaka` keeps four arrays: A_main, A_ref, C_main, C_ref.
* :class:`SHD` (the paper's contribution) drops C_ref and reads C against A's reference,
  ``C = C_main − A_ref``; C's own symmetry point then need not be zero (its asymmetry matters much
  less than A's, paper S3.7), and the array count falls from 4 to 3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Literal

import torch

from analogtrain.algorithms.base import (
    AlgorithmConfig,
    AnalogAlgorithm,
    calibrate_reference,
    check_lr,
    derive_seeds,
    register_algorithm,
)
from analogtrain.config import check_choice, check_int, check_non_negative, check_positive
from analogtrain.crossbar.array import CrossbarArray, PulseWrite, pulse_update_arrays
from analogtrain.crossbar.io import IOConfig
from analogtrain.crossbar.update import UpdateConfig
from analogtrain.devices.base import PulsedDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class TransferConfig(AlgorithmConfig):
    """Settings shared by Tiki-Taka and SHD.

    device_a, device_c: device models of the A and C arrays (independent).
    update: pulse update of A (step III). transfer_update: pulse update of C (step V).
    forward_io, backward_io: reads of the visible weight. transfer_io: the reads v = A u (step IV).
    fast_lr: η_A = fast_lr·lr (> 0). transfer_lr: η_C = transfer_lr·lr (> 0).
    transfer_every: τ, updates between transfers (integer ≥ 1).
    columns_per_transfer: k one-hot columns read and transferred per transfer (≥ 1; at most the
    number of columns is used).
    gamma: visible weight γA + C (≥ 0; 0 is the paper's SHD/Tiki-Taka, C alone is the network).
    calibration: symmetry points by ``"pulses"`` (zero shifting) or ``"ideal"`` (exact).
    programming_error: std of the Gaussian error of programming each reference (≥ 0).
    calibration_pairs: up/down pulse pairs for ``"pulses"`` (None: 5 × the device's states).
    """

    device_a: PulsedDevice = dataclasses.field(default_factory=SoftBoundsDevice)
    device_c: PulsedDevice = dataclasses.field(default_factory=SoftBoundsDevice)
    update: UpdateConfig = dataclasses.field(default_factory=UpdateConfig)
    transfer_update: UpdateConfig = dataclasses.field(default_factory=UpdateConfig)
    forward_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    backward_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    transfer_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    fast_lr: float = 1.0
    transfer_lr: float = 1.0
    transfer_every: int = 1
    columns_per_transfer: int = 1
    gamma: float = 0.0
    calibration: Literal["pulses", "ideal"] = "ideal"
    programming_error: float = 0.0
    calibration_pairs: int | None = None

    def validate(self) -> None:
        for name in ("device_a", "device_c"):
            if not isinstance(getattr(self, name), PulsedDevice):
                raise ConfigError(f"{name} must be a device model (PulsedDevice), got {getattr(self, name)!r}")
        for name in ("update", "transfer_update"):
            if not isinstance(getattr(self, name), UpdateConfig):
                raise ConfigError(f"{name} must be an UpdateConfig, got {getattr(self, name)!r}")
        for name in ("forward_io", "backward_io", "transfer_io"):
            if not isinstance(getattr(self, name), IOConfig):
                raise ConfigError(f"{name} must be an IOConfig, got {getattr(self, name)!r}")
        check_positive("fast_lr", self.fast_lr)
        check_positive("transfer_lr", self.transfer_lr)
        check_int("transfer_every", self.transfer_every, 1, 2**31)
        check_int("columns_per_transfer", self.columns_per_transfer, 1, 2**31)
        check_non_negative("gamma", self.gamma)
        check_choice("calibration", self.calibration, ("pulses", "ideal"))
        check_non_negative("programming_error", self.programming_error)
        if self.calibration_pairs is not None:
            check_int("calibration_pairs", self.calibration_pairs, 1, 10**9)


@dataclasses.dataclass(frozen=True)
class TikiTakaConfig(TransferConfig):
    """Tiki-Taka with four arrays (A_main, A_ref, C_main, C_ref); fields as :class:`TransferConfig`."""

    algorithm = "tiki-taka"


@dataclasses.dataclass(frozen=True)
class SHDConfig(TransferConfig):
    """SHD with three arrays (A_main, A_ref, C_main; C read against A_ref); fields as :class:`TransferConfig`."""

    algorithm = "shd"


class TransferAlgorithm(AnalogAlgorithm):
    """Steps I–V shared by Tiki-Taka and SHD (see module docstring); subclasses make the arrays."""

    config: TransferConfig

    def __init__(self, out_features, in_features, config, *, seed=0, torch_device=None, dtype=torch.float32):
        super().__init__(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)
        seeds = derive_seeds(seed, 4)
        common = dict(torch_device=self.torch_device, dtype=dtype)
        self.a_ref = CrossbarArray(out_features, in_features, config.device_a, seed=seeds[1], **common)
        self.a_main = CrossbarArray(
            out_features, in_features, config.device_a, update=config.update, forward_io=config.forward_io,
            backward_io=config.backward_io, reference=self.a_ref, seed=seeds[0], **common,
        )
        self.c_ref = self._make_c_reference(seeds[3], common)
        self.c_main = CrossbarArray(
            out_features, in_features, config.device_c, update=config.transfer_update,
            forward_io=config.forward_io, backward_io=config.backward_io,
            reference=self.c_ref if self.c_ref is not None else self.a_ref, seed=seeds[2], **common,
        )
        #: Number of transfers (steps IV–V) so far.
        self.transfer_count = 0
        #: Index of the next column to read in step IV.
        self.column_pointer = 0
        self._column_indices = torch.arange(in_features, device=self.torch_device)  # sliced by transfers
        self._calibrate()

    # -- construction hooks -----------------------------------------------------------------
    def _make_c_reference(self, seed, common) -> CrossbarArray | None:
        raise NotImplementedError

    def _calibrate(self) -> None:
        raise NotImplementedError

    # -- reads ----------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Step I: ``y = C x`` (plus ``γ·A x`` when gamma > 0)."""
        y = self.c_main.forward(x)
        if self.config.gamma > 0:
            y = y + self.config.gamma * self.a_main.forward(x)
        return y

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        """Step II: ``z = Cᵀ δ`` (plus ``γ·Aᵀ δ`` when gamma > 0)."""
        z = self.c_main.backward(d)
        if self.config.gamma > 0:
            z = z + self.config.gamma * self.a_main.backward(d)
        return z

    @property
    def weight(self) -> torch.Tensor:
        """The visible weight ``γA + C`` (exact)."""
        w = self.c_main.weight
        if self.config.gamma > 0:
            w = w + self.config.gamma * self.a_main.weight
        return w

    def exact_read_arrays(self):
        arrays = [self.c_main, self.a_main] if self.config.gamma > 0 else [self.c_main]
        return arrays if all(array.reads_exactly for array in arrays) else None

    @property
    def auxiliary_weight(self) -> torch.Tensor:
        """``A = A_main − A_ref`` (exact)."""
        return self.a_main.weight

    @property
    def core_weight(self) -> torch.Tensor:
        """``C = C_main − C_ref`` (SHD: ``C_main − A_ref``), exact."""
        return self.c_main.weight

    def set_weight(self, weight: torch.Tensor) -> None:
        """Program C_main so that the visible weight ``γA + C`` equals ``weight`` (A is left as is)."""
        weight = self._check_weight(weight)
        if self.config.gamma > 0:
            weight = weight - self.config.gamma * self.a_main.weight
        self.c_main.set_weight(weight)

    # -- training -------------------------------------------------------------------------------
    def update_steps(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> Iterator[list[PulseWrite]]:
        """Step III on A_main at η_A = fast_lr·lr; every τ-th call also steps IV–V at η_C = transfer_lr·lr."""
        check_lr(lr)
        yield [PulseWrite(self.a_main, d, self.config.fast_lr * lr, x=x)]
        self.update_count += 1
        if self.update_count % self.config.transfer_every == 0:
            yield [self._transfer_write(self.config.transfer_lr * lr)]  # reads A after its update

    def transfer(self, lr_c: float) -> None:
        """Steps IV–V: read ``v = A u`` for the next k one-hot columns, then ``C += lr_c·v uᵀ``."""
        pulse_update_arrays([self._transfer_write(lr_c)])

    def _transfer_write(self, lr_c: float) -> PulseWrite:
        """Step IV and the write of step V: the k reads are forward reads of the A pair through
        ``transfer_io`` (parallel MVMs) with one-hot ``u``; the write is one parallel pulse update
        of C_main with x = u (k × n) and d = −v (k × out), since the pulse update applies
        ``−lr·dᵀx`` (drawn per column, :meth:`CrossbarArray.pulse_update_columns`)."""
        n = self.in_features
        k = min(self.config.columns_per_transfer, n)
        first = self.column_pointer
        if first + k <= n:  # a slice of the cached column indices (no new tensor to fill)
            columns = self._column_indices[first:first + k]
        else:
            columns = (first + torch.arange(k, device=self.torch_device)) % n
        v = self.a_main.read_columns(columns, self.config.transfer_io)  # v_s = A u_s, u_s = e_{c_s}
        self.column_pointer = int((self.column_pointer + k) % n)
        self.transfer_count += 1
        return PulseWrite(self.c_main, v.neg_(), lr_c, columns=columns, trusted=True)

    # -- accounting and state ---------------------------------------------------------------------
    def _extra_operations(self) -> dict[str, Any]:
        return {"transfers": self.transfer_count, "column_pointer": self.column_pointer}

    def _extra_state(self) -> dict[str, Any]:
        return {"transfer_count": self.transfer_count, "column_pointer": self.column_pointer}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.transfer_count = int(state["transfer_count"])
        self.column_pointer = int(state["column_pointer"])


@register_algorithm(TikiTakaConfig)
class TikiTaka(TransferAlgorithm):
    """Tiki-Taka, 4 arrays: ``A = A_main − A_ref``, ``C = C_main − C_ref`` (module docstring)."""

    name = "tiki-taka"
    arrays_per_weight = 4

    def _make_c_reference(self, seed, common):
        return CrossbarArray(self.out_features, self.in_features, self.config.device_c, seed=seed, **common)

    def _calibrate(self) -> None:
        """A_ref ← A_main's symmetry point and C_ref ← C_main's (A = C = 0 afterwards)."""
        cfg = self.config
        calibrate_reference(self.a_main, self.a_ref, cfg.calibration, cfg.programming_error, cfg.calibration_pairs)
        calibrate_reference(self.c_main, self.c_ref, cfg.calibration, cfg.programming_error, cfg.calibration_pairs)

    def arrays(self) -> dict[str, CrossbarArray]:
        return {"A_main": self.a_main, "A_ref": self.a_ref, "C_main": self.c_main, "C_ref": self.c_ref}


@register_algorithm(SHDConfig)
class SHD(TransferAlgorithm):
    """SHD, 3 arrays: ``A = A_main − A_ref``, ``C = C_main − A_ref`` (module docstring)."""

    name = "shd"
    arrays_per_weight = 3

    def _make_c_reference(self, seed, common):
        return None

    def _calibrate(self) -> None:
        """A_ref ← A_main's symmetry point; C_main ← A_ref so that C = 0."""
        cfg = self.config
        calibrate_reference(self.a_main, self.a_ref, cfg.calibration, cfg.programming_error, cfg.calibration_pairs)
        self.c_main.set_weight(torch.zeros(self.c_main.shape, device=self.torch_device, dtype=self.dtype))

    def arrays(self) -> dict[str, CrossbarArray]:
        return {"A_main": self.a_main, "A_ref": self.a_ref, "C_main": self.c_main}
