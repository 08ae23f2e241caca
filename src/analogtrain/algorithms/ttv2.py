"""Tiki-Taka v2 (TTv2): Tiki-Taka whose transfer is filtered by a digital buffer H (4 arrays).

Gokmen, "Enabling Training of Neural Networks on Noisy Hardware", Front. Artif. Intell.
4:699148 (2021). Arrays as :class:`~analogtrain.algorithms.transfer.TikiTaka`: the auxiliary
``A = A_main − A_ref`` (A_ref at A's symmetry point) and the core ``C = C_main − C_ref``; plus one
digital (floating-point) buffer H of the weight's shape. Per training batch:

    I.   y = C x,  II. z = Cᵀ δ          reads of C only (A is hidden; γ > 0 adds γA, γ = 0 is the paper)
    III. A_main ← A_main − η_A δ xᵀ       parallel stochastic pulse update (η_A = fast_lr·lr)
    every τ updates (``transfer_every``):
    IV.  v = A u                          read the next k columns of A (one-hot u, cycling), ``transfer_io``
         H[:, u] += η_C v                 digital accumulation (η_C = transfer_lr·lr)
    V.   n = clamp(trunc(H[:, u]/Δw_C), −BL, BL)   whole pulses only (Δw_C: C's nominal dw_min,
                                                    BL: ``transfer_update.bl``)
         C_main[:, u] += n pulses         a deterministic count write: row i of the column gets
                                          exactly |n_i| pulses in the direction sign(n_i), all rows
                                          at once (one parallel operation per column)
         H[:, u] −= n·Δw_C                the buffer keeps the remainder

On average C moves by η_C·A per transfer, as in Tiki-Taka, but C only ever receives whole,
deliberate pulses: the read noise of A and the stochastic-update noise are averaged in H before
they reach C (the paper's ~100× update-noise and ~10× read-noise tolerance). The buffer is the
algorithm's only digital state; it is saved and restored with the arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import torch

from analogtrain.algorithms.base import check_lr, register_algorithm
from analogtrain.algorithms.pulse_counts import write_column_counts
from analogtrain.algorithms.transfer import TikiTaka, TransferAlgorithm, TransferConfig
from analogtrain.crossbar.array import PulseWrite


@dataclasses.dataclass(frozen=True)
class TTv2Config(TransferConfig):
    """TTv2: fields as :class:`~analogtrain.algorithms.transfer.TransferConfig`; the transfer's
    ``transfer_update.bl`` is BL, the most pulses one device of C receives in one transfer, and
    the buffer threshold is C's nominal step ``device_c.dw_min``."""

    algorithm = "ttv2"


class BufferedTransferAlgorithm(TransferAlgorithm):
    """Steps I–V with the buffered (TTv2) transfer; subclasses change what is written to A and
    what is added to H (:meth:`_chopped_x`, :meth:`_buffer_increment`, :meth:`_after_read`)."""

    arrays_per_weight = 4
    _make_c_reference = TikiTaka._make_c_reference
    _calibrate = TikiTaka._calibrate
    arrays = TikiTaka.arrays

    def __init__(self, out_features, in_features, config, *, seed=0, torch_device=None, dtype=torch.float32):
        super().__init__(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)
        #: The digital buffer H (out × in), in weight units.
        self.buffer = torch.zeros(out_features, in_features, device=self.torch_device, dtype=dtype)
        #: Transfers that wrote at least one pulse to C.
        self.transfer_writes = 0

    # -- training -------------------------------------------------------------------------------
    def update_steps(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> Iterator[list[PulseWrite]]:
        """Step III on A_main; every τ-th call also steps IV–V (after A's update is applied)."""
        check_lr(lr)
        yield [PulseWrite(self.a_main, d, self.config.fast_lr * lr, x=self._chopped_x(x))]
        self.update_count += 1
        if self.update_count % self.config.transfer_every == 0:
            self.transfer(self.config.transfer_lr * lr)

    def transfer(self, lr_c: float) -> None:
        """Steps IV–V: read the next k columns of A into H, write H's whole pulses to C."""
        columns = self._next_columns()
        v = self.a_main.read_columns(columns, self.config.transfer_io).T  # (out, k): v_s = A u_s
        self.transfer_count += 1
        increment = self._buffer_increment(columns, v, lr_c)
        if increment is not None:
            self.buffer[:, columns] += increment
            self._write_whole_pulses(columns)
        self._after_read(columns, v)

    def _write_whole_pulses(self, columns: torch.Tensor) -> None:
        step = self.config.device_c.granularity
        bl = self.config.transfer_update.bl
        h = self.buffer[:, columns]
        counts = torch.trunc(h / step).clamp_(-bl, bl)
        if bool((counts != 0).any()):
            write_column_counts(self.c_main, columns, counts)
            self.buffer[:, columns] = h - counts * step
            self.transfer_writes += 1

    def _next_columns(self) -> torch.Tensor:
        """The next k one-hot columns of the cyclic sweep (k = ``columns_per_transfer``)."""
        n = self.in_features
        k = min(self.config.columns_per_transfer, n)
        columns = (self.column_pointer + torch.arange(k, device=self.torch_device)) % n
        self.column_pointer = int((self.column_pointer + k) % n)
        return columns

    # -- hooks (TTv2: plain) ----------------------------------------------------------------------
    def _chopped_x(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _buffer_increment(self, columns: torch.Tensor, v: torch.Tensor, lr_c: float) -> torch.Tensor | None:
        """What step IV adds to H[:, columns]: TTv2 adds η_C·v."""
        return lr_c * v

    def _after_read(self, columns: torch.Tensor, v: torch.Tensor) -> None:
        pass

    # -- accounting and state ---------------------------------------------------------------------
    def _extra_operations(self) -> dict[str, Any]:
        ops = super()._extra_operations()
        ops["transfer_writes"] = self.transfer_writes
        return ops

    def _extra_state(self) -> dict[str, Any]:
        state = super()._extra_state()
        state.update(buffer=self.buffer.clone(), transfer_writes=self.transfer_writes)
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.buffer = state["buffer"].to(self.torch_device, self.dtype).clone()
        self.transfer_writes = int(state["transfer_writes"])


@register_algorithm(TTv2Config)
class TTv2(BufferedTransferAlgorithm):
    """TTv2, 4 arrays + digital buffer H (module docstring). Arrays: A_main, A_ref, C_main, C_ref."""

    name = "ttv2"

