"""Mixed-precision training: a digital rank-update accumulator χ, devices programmed one by one.

Nandakumar et al., "Mixed-Precision Deep Learning Based on Computational Memory",
Front. Neurosci. 14:406 (2020). The weight is a differential pair ``W = G_main − G_ref`` (as
analog SGD); the forward and backward reads are analog, the update is digital. Per batch:

    I.   y = W x,  II. z = Wᵀ δ            analog reads
    III. χ ← χ − η δᵀx                      digital outer product, full precision (out·in·batch MACs)
    every τ updates (``transfer_every``):
    IV.  n = trunc(χ/ε)                     whole device steps, ε = ``granularity`` (0: the
                                            device's nominal dw_min)
    V.   for every device with n_ij ≠ 0:    program it alone with |n_ij| pulses in direction
         G_main[i, j] += n_ij pulses        sign(n_ij) — a serial, per-device operation
         χ ← χ − n ε                        the accumulator keeps the remainder

The analog array thus receives only deliberate whole pulses, and never the gradient's noise
below ε; the price is the digital O(out·in) outer product per sample and the serial programming
of each device whose accumulator crossed the threshold. Both are counted: ``serial_operations``
(one per device programmed) and ``digital_macs`` in :meth:`operations` — the point of the paper's
comparison with fully parallel pulse updates.
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
from analogtrain.algorithms.pulse_counts import program_devices_serially
from analogtrain.config import check_choice, check_int, check_non_negative
from analogtrain.crossbar.array import CrossbarArray, PulseWrite
from analogtrain.crossbar.checks import check_tensor
from analogtrain.crossbar.io import IOConfig
from analogtrain.devices.base import PulsedDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class MixedPrecisionConfig(AlgorithmConfig):
    """Mixed precision: main + constant reference array, digital accumulator χ.

    device, forward_io, backward_io, reference, calibration, programming_error, calibration_pairs:
    as analog SGD. granularity: ε, the accumulator's threshold and the weight change credited per
    pulse (≥ 0; 0 takes the device's nominal dw_min). transfer_every: updates between programming
    passes (integer ≥ 1).
    """

    algorithm = "mixed-precision"

    device: PulsedDevice = dataclasses.field(default_factory=SoftBoundsDevice)
    forward_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    backward_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    granularity: float = 0.0
    transfer_every: int = 1
    reference: Literal["zero", "symmetry-point"] = "zero"
    calibration: Literal["pulses", "ideal"] = "ideal"
    programming_error: float = 0.0
    calibration_pairs: int | None = None

    def validate(self) -> None:
        if not isinstance(self.device, PulsedDevice):
            raise ConfigError(f"device must be a device model (PulsedDevice), got {self.device!r}")
        for name in ("forward_io", "backward_io"):
            if not isinstance(getattr(self, name), IOConfig):
                raise ConfigError(f"{name} must be an IOConfig, got {getattr(self, name)!r}")
        check_non_negative("granularity", self.granularity)
        check_int("transfer_every", self.transfer_every, 1, 2**31)
        check_choice("reference", self.reference, ("zero", "symmetry-point"))
        check_choice("calibration", self.calibration, ("pulses", "ideal"))
        check_non_negative("programming_error", self.programming_error)
        if self.calibration_pairs is not None:
            check_int("calibration_pairs", self.calibration_pairs, 1, 10**9)

    @property
    def epsilon(self) -> float:
        """ε: ``granularity``, or the device's nominal step when 0."""
        return self.granularity if self.granularity > 0 else self.device.granularity


@register_algorithm(MixedPrecisionConfig)
class MixedPrecision(AnalogAlgorithm):
    """Mixed precision (module docstring). Arrays: ``main``, ``reference``; digital χ."""

    name = "mixed-precision"
    arrays_per_weight = 2
    config: MixedPrecisionConfig

    def __init__(self, out_features, in_features, config, *, seed=0, torch_device=None, dtype=torch.float32):
        super().__init__(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)
        seeds = derive_seeds(seed, 2)
        common = dict(torch_device=self.torch_device, dtype=dtype)
        self.reference = CrossbarArray(out_features, in_features, config.device, seed=seeds[1], **common)
        self.main = CrossbarArray(out_features, in_features, config.device, forward_io=config.forward_io,
                                  backward_io=config.backward_io, reference=self.reference, seed=seeds[0], **common)
        if config.reference == "symmetry-point":
            calibrate_reference(self.main, self.reference, config.calibration, config.programming_error,
                                config.calibration_pairs)
        elif config.programming_error > 0:
            self.reference.program(torch.zeros_like(self.reference.conductance), config.programming_error)
        #: χ: the digital accumulator (out × in), in weight units.
        self.accumulator = torch.zeros(out_features, in_features, device=self.torch_device, dtype=dtype)
        self.programming_passes = 0
        self.devices_programmed = 0
        self.digital_macs = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main.forward(x)

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        return self.main.backward(d)

    def update_steps(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> Iterator[list[PulseWrite]]:
        """Steps III–V; no parallel pulse write (nothing to yield): χ and the serial programming."""
        check_lr(lr)
        x2 = self._as_batch("x", x, self.in_features)
        d2 = self._as_batch("d", d, self.out_features)
        if x2.shape[0] != d2.shape[0]:
            raise ConfigError(f"x and d must have the same batch size, got {x2.shape[0]} and {d2.shape[0]}")
        self.accumulator.sub_(lr * (d2.T @ x2))  # χ −= η δᵀx (summed over the batch)
        self.digital_macs += x2.shape[0] * self.out_features * self.in_features
        self.update_count += 1
        if self.update_count % self.config.transfer_every == 0:
            self.program_accumulated()
        return
        yield  # a generator with no parallel writes

    def program_accumulated(self) -> None:
        """Steps IV–V: devices with |χ| ≥ ε get trunc(χ/ε) pulses, one device at a time."""
        eps = self.config.epsilon
        counts = torch.trunc(self.accumulator / eps)
        devices, _ = program_devices_serially(self.main, counts)
        self.accumulator.sub_(counts * eps)
        self.programming_passes += 1
        self.devices_programmed += devices

    def _as_batch(self, name: str, value: torch.Tensor, size: int) -> torch.Tensor:
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            value = value[None, :]
        check_tensor(name, value, shape_last=size, ndim=2)
        return value.to(device=self.torch_device, dtype=self.dtype)

    @property
    def weight(self) -> torch.Tensor:
        return self.main.weight

    def exact_read_arrays(self):
        return [self.main] if self.main.reads_exactly else None

    def set_weight(self, weight: torch.Tensor) -> None:
        self.main.set_weight(self._check_weight(weight))

    def arrays(self) -> dict[str, CrossbarArray]:
        return {"main": self.main, "reference": self.reference}

    # -- accounting and state ---------------------------------------------------------------------
    def _extra_operations(self) -> dict[str, Any]:
        return {"programming_passes": self.programming_passes, "devices_programmed": self.devices_programmed,
                "digital_macs": self.digital_macs}

    def _extra_state(self) -> dict[str, Any]:
        return {"accumulator": self.accumulator.clone(), "programming_passes": self.programming_passes,
                "devices_programmed": self.devices_programmed, "digital_macs": self.digital_macs}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.accumulator = state["accumulator"].to(self.torch_device, self.dtype).clone()
        self.programming_passes = int(state["programming_passes"])
        self.devices_programmed = int(state["devices_programmed"])
        self.digital_macs = int(state["digital_macs"])
