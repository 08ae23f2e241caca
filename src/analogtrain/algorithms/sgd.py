"""Analog SGD on a differential pair of arrays (2 arrays per weight).

Onen, Gokmen et al., "Neural Network Training with Asymmetric Crosspoint Elements",
Front. Artif. Intell. 5:891624 (2022), Fig. 1A; Gokmen & Vlasov, Front. Neurosci. 10:333 (2016).

The weight is the difference of a main and a constant reference array, ``W = G_main − G_ref``.
Per training batch:

    I.   y = W x                     forward read (both arrays, differential)
    II.  z = Wᵀ δ                    backward read
    III. G_main ← G_main − η δ xᵀ    one parallel stochastic pulse update of the main array;
                                     the reference is never pulsed

The reference is either at the weight zero of the device range (``reference="zero"``: "mid-range";
for SGD its value is not critical, paper footnote 2) or programmed to the symmetry point of each
main device (``reference="symmetry-point"``, by zero-shifting pulses or ideally, with an optional
programming error), so that W = 0 where the device's up and down steps balance.

On an asymmetric device every update, whatever its sign, also drifts G_main toward its symmetry
point (paper Eq. 2): ``dG/dt = −η(g + ε) − ηκ|g + ε|(G − G_sym)``, so SGD settles between the
optimum and the symmetry point (see :mod:`analogtrain.theory.sgd`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Literal

import torch

from analogtrain.algorithms.base import (
    AlgorithmConfig,
    AnalogAlgorithm,
    calibrate_reference,
    check_lr,
    derive_seeds,
    register_algorithm,
)
from analogtrain.config import check_choice, check_int, check_non_negative
from analogtrain.crossbar.array import CrossbarArray, PulseWrite
from analogtrain.crossbar.io import IOConfig
from analogtrain.crossbar.update import UpdateConfig
from analogtrain.devices.base import PulsedDevice
from analogtrain.devices.soft_bounds import SoftBoundsDevice
from analogtrain.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class AnalogSGDConfig(AlgorithmConfig):
    """Analog SGD: main + constant reference array.

    device: device model of both arrays. update: pulse-update settings of the main array.
    forward_io / backward_io: read non-idealities. reference: ``"zero"`` (reference at the weight
    zero) or ``"symmetry-point"`` (reference at each main device's symmetry point).
    calibration: how the symmetry point is found, ``"pulses"`` (zero shifting) or ``"ideal"``
    (exact). programming_error: std of the Gaussian error of programming the reference (≥ 0).
    calibration_pairs: up/down pulse pairs for ``"pulses"`` (None: 5 × the device's states).
    """

    algorithm = "sgd"

    device: PulsedDevice = dataclasses.field(default_factory=SoftBoundsDevice)
    update: UpdateConfig = dataclasses.field(default_factory=UpdateConfig)
    forward_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    backward_io: IOConfig = dataclasses.field(default_factory=IOConfig)
    reference: Literal["zero", "symmetry-point"] = "zero"
    calibration: Literal["pulses", "ideal"] = "ideal"
    programming_error: float = 0.0
    calibration_pairs: int | None = None

    def validate(self) -> None:
        if not isinstance(self.device, PulsedDevice):
            raise ConfigError(f"device must be a device model (PulsedDevice), got {self.device!r}")
        if not isinstance(self.update, UpdateConfig):
            raise ConfigError(f"update must be an UpdateConfig, got {self.update!r}")
        for name in ("forward_io", "backward_io"):
            if not isinstance(getattr(self, name), IOConfig):
                raise ConfigError(f"{name} must be an IOConfig, got {getattr(self, name)!r}")
        check_choice("reference", self.reference, ("zero", "symmetry-point"))
        check_choice("calibration", self.calibration, ("pulses", "ideal"))
        check_non_negative("programming_error", self.programming_error)
        if self.calibration_pairs is not None:
            check_int("calibration_pairs", self.calibration_pairs, 1, 10**9)


@register_algorithm(AnalogSGDConfig)
class DifferentialSGD(AnalogAlgorithm):
    """Analog SGD with ``W = G_main − G_ref`` (see module docstring). Arrays: ``main``, ``reference``.

    Its config is :class:`AnalogSGDConfig` (``algorithm: sgd``). Not to be confused with
    :class:`analogtrain.nn.AnalogSGD`, the optimizer whose step triggers every layer's update."""

    name = "sgd"
    arrays_per_weight = 2

    def __init__(self, out_features, in_features, config, *, seed=0, torch_device=None, dtype=torch.float32):
        super().__init__(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)
        seeds = derive_seeds(seed, 2)
        common = dict(torch_device=self.torch_device, dtype=dtype)
        self.reference = CrossbarArray(out_features, in_features, config.device, seed=seeds[1], **common)
        self.main = CrossbarArray(
            out_features,
            in_features,
            config.device,
            update=config.update,
            forward_io=config.forward_io,
            backward_io=config.backward_io,
            reference=self.reference,
            seed=seeds[0],
            **common,
        )
        if config.reference == "symmetry-point":
            calibrate_reference(
                self.main, self.reference, config.calibration, config.programming_error, config.calibration_pairs
            )
        elif config.programming_error > 0:
            self.reference.program(torch.zeros_like(self.reference.conductance), config.programming_error)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main.forward(x)

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        return self.main.backward(d)

    def update_steps(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> Iterator[list[PulseWrite]]:
        """Step III: one parallel pulse update of ``G_main`` by ``−lr·dᵀx``."""
        check_lr(lr)
        yield [PulseWrite(self.main, d, lr, x=x)]
        self.update_count += 1

    @property
    def weight(self) -> torch.Tensor:
        return self.main.weight

    def exact_read_arrays(self):
        return [self.main] if self.main.reads_exactly else None

    def set_weight(self, weight: torch.Tensor) -> None:
        self.main.set_weight(self._check_weight(weight))

    def arrays(self) -> dict[str, CrossbarArray]:
        return {"main": self.main, "reference": self.reference}
