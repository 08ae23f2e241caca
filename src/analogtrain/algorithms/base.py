"""The common interface of every training algorithm: how crossbar arrays make one trainable weight.

An *algorithm* owns the crossbar arrays that together store one weight matrix W (out × in) and
knows three things (Onen, Gokmen et al., "Neural Network Training with Asymmetric Crosspoint
Elements", Front. Artif. Intell. 5:891624, 2022, Figs. 1A and 2A):

1. which weight the forward ``y = W x`` and backward ``z = Wᵀ δ`` reads see (the *visible* weight);
2. how one training update ``ΔW = −η δ xᵀ`` for a batch is turned into parallel pulse updates;
3. an account of its arrays and operations (every operation is a whole-array read, pulse update or
   programming event, so ``serial_operations`` stays 0).

Configs are frozen, validated, serialisable dataclasses with an ``algorithm`` discriminator, so
``AlgorithmConfig.from_dict_polymorphic({"algorithm": "shd", ...})`` rebuilds any of them, and
:func:`build_algorithm` makes the matching algorithm object.

Interface (stable; the ``nn`` layer builds on it)::

    alg = build_algorithm(config, out_features, in_features, seed=0)
    y = alg.forward(x)              # (batch, in) -> (batch, out), analog read of the visible weight
    z = alg.backward(d)             # (batch, out) -> (batch, in)
    alg.update(x, d, lr)            # one training update for the batch (intended ΔW = −lr·dᵀx)
    alg.update_steps(x, d, lr)      # the same as steps of pulse writes (run_update_steps: many layers)
    alg.weight                      # exact visible weight (no read noise)
    alg.set_weight(w)               # program the visible weight (initialisation)
    alg.arrays(), alg.operations(), alg.state_dict(), alg.load_state_dict(state)
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import torch

from analogtrain.config import Config, check_int
from analogtrain.crossbar.array import CrossbarArray, PulseWrite, pulse_update_arrays
from analogtrain.crossbar.checks import check_tensor
from analogtrain.crossbar.calibration import calibrate_symmetry_point
from analogtrain.crossbar.operations import OperationCounter
from analogtrain.errors import ConfigError

#: algorithm name -> (config class, algorithm class). The built-in algorithms register when their
#: modules are imported, and the package's ``__init__`` imports them all; since Python imports a
#: package before any of its modules, every user of this module sees them registered.
_REGISTRY: dict[str, tuple[type["AlgorithmConfig"], type["AnalogAlgorithm"]]] = {}


def register_algorithm(config_class: type["AlgorithmConfig"]):
    """Class decorator for an :class:`AnalogAlgorithm`: register it under ``config_class.algorithm``."""

    def decorate(algorithm_class: type["AnalogAlgorithm"]) -> type["AnalogAlgorithm"]:
        algorithm_class.config_class = config_class
        _REGISTRY[config_class.algorithm] = (config_class, algorithm_class)
        return algorithm_class

    return decorate


def algorithm_names() -> list[str]:
    """Names of all registered algorithms (``sgd``, ``tiki-taka``, ``shd``, ...)."""
    return sorted(_REGISTRY)


@dataclasses.dataclass(frozen=True)
class AlgorithmConfig(Config):
    """Base of all algorithm configs; the ``algorithm`` name is written as a header key."""

    algorithm: ClassVar[str] = "abstract"
    config_name: ClassVar[str] = "algorithm"

    def _dict_header(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm}

    @classmethod
    def _header_keys(cls) -> tuple[str, ...]:
        return ("algorithm",)

    @classmethod
    def from_dict_polymorphic(cls, data: Any, path: str = "algorithm") -> "AlgorithmConfig":
        """Build the config named by ``data['algorithm']`` (an instance is returned as is)."""
        if isinstance(data, AlgorithmConfig):
            return data
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with an 'algorithm' key, got {data!r}")
        name = data.get("algorithm")
        if name not in _REGISTRY:
            raise ConfigError(f"{path}.algorithm: unknown algorithm {name!r}; valid: {sorted(_REGISTRY)}")
        return _REGISTRY[name][0].from_dict(data, path)


def build_algorithm(
    config: AlgorithmConfig,
    out_features: int,
    in_features: int,
    *,
    seed: int | None = 0,
    torch_device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> "AnalogAlgorithm":
    """Make the algorithm object described by ``config`` for an (out × in) weight."""
    if isinstance(config, dict):
        config = AlgorithmConfig.from_dict_polymorphic(config)
    if not isinstance(config, AlgorithmConfig) or config.algorithm not in _REGISTRY:
        raise ConfigError(f"config must be an algorithm config ({sorted(_REGISTRY)}), got {config!r}")
    algorithm_class = _REGISTRY[config.algorithm][1]
    return algorithm_class(out_features, in_features, config, seed=seed, torch_device=torch_device, dtype=dtype)


def derive_seeds(seed: int | None, count: int) -> list[int | None]:
    """``count`` distinct array seeds drawn from one algorithm seed (None: all random)."""
    if seed is None:
        return [None] * count
    generator = torch.Generator().manual_seed(int(seed))
    return [int(s) for s in torch.randint(0, 2**62, (count,), generator=generator)]


def run_update_steps(updates: list[Iterator[list[PulseWrite]]]) -> None:
    """Run several updates (:meth:`AnalogAlgorithm.update_steps`, e.g. one per layer of a network)
    in lockstep: each round takes the next step of every update and applies all its writes
    together (:func:`~analogtrain.crossbar.array.pulse_update_arrays`: one device-response call per
    device model instead of one per array). Different algorithms own different arrays and each
    array draws from its own generator, so the result is the same as running the updates one after
    the other."""
    active = list(updates)
    while active:
        writes, running = [], []
        for steps in active:
            try:
                writes.extend(next(steps))
            except StopIteration:
                continue
            running.append(steps)
        if writes:
            pulse_update_arrays(writes)
        active = running


def check_lr(lr: float) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
        raise ConfigError(f"lr must be a finite number in [0, inf), got {lr!r}")


def calibrate_reference(
    main: CrossbarArray,
    reference: CrossbarArray,
    method: str,
    programming_error: float = 0.0,
    pairs: int | None = None,
) -> None:
    """Put ``main`` at its symmetry point and program ``reference`` to it ("zero shifting").

    Kim et al., arXiv 1907.10228 (2019); Onen, Gokmen et al. (2022) §"symmetry point":

    * ``"pulses"``: apply ``pairs`` alternating up/down pulses to the whole ``main`` array (each a
      parallel update; :func:`~analogtrain.crossbar.calibration.calibrate_symmetry_point`), then
      program ``reference ← G_main + N(0, programming_error²)``;
    * ``"ideal"``: program ``main ← w*`` (the analytic symmetry point of every device) and
      ``reference ← w* + N(0, programming_error²)``.

    Devices without a unique symmetry point (an ideal constant-step device) stay where they are
    under alternating pulses, so "ideal" keeps their current conductance, as "pulses" would.
    After either method the differential weight ``G_main − G_ref`` is 0 up to the programming
    error.
    """
    if method == "pulses":
        calibrate_symmetry_point(main, reference, pairs=pairs, programming_error=programming_error)
        return
    point = main.symmetry_point()
    point = torch.where(torch.isnan(point), main.conductance, point)
    main.program(point)
    reference.program(point, programming_error)


class AnalogAlgorithm(abc.ABC):
    """Abstract base: the arrays of one trainable (out × in) weight and how they are used.

    Subclasses set ``name`` and ``arrays_per_weight`` and implement :meth:`forward`,
    :meth:`backward`, :meth:`update`, :attr:`weight`, :meth:`set_weight` and :meth:`arrays`.
    The base class provides the operation account and the state dict (conductances, per-device
    parameters, generator states of every array, plus the algorithm's counters).
    """

    name: ClassVar[str] = "abstract"
    arrays_per_weight: ClassVar[int] = 0
    config_class: ClassVar[type[AlgorithmConfig]] = AlgorithmConfig

    def __init__(
        self,
        out_features: int,
        in_features: int,
        config: AlgorithmConfig,
        *,
        seed: int | None = 0,
        torch_device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        check_int("out_features", out_features, 1, 2**31)
        check_int("in_features", in_features, 1, 2**31)
        if not isinstance(config, self.config_class):
            raise ConfigError(
                f"config must be a {self.config_class.__name__} for algorithm {self.name!r}, "
                f"got {type(config).__name__}"
            )
        if seed is not None:
            check_int("seed", seed, 0, 2**63 - 1)
        self.config = config
        self.out_features = out_features
        self.in_features = in_features
        self.seed = seed
        self.torch_device = torch.device(torch_device) if torch_device is not None else torch.device("cpu")
        self.dtype = dtype
        #: Number of calls to :meth:`update` so far.
        self.update_count = 0

    # -- the interface ------------------------------------------------------------------------
    @abc.abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y = W x`` for x of shape (batch, in): an analog read of the visible weight."""

    @abc.abstractmethod
    def backward(self, d: torch.Tensor) -> torch.Tensor:
        """``z = Wᵀ δ`` for δ of shape (batch, out)."""

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        """One training update for the batch; the intended change is ``ΔW = −lr·dᵀx``."""
        run_update_steps([self.update_steps(x, d, lr)])

    @abc.abstractmethod
    def update_steps(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> Iterator[list[PulseWrite]]:
        """:meth:`update` as a sequence of steps: a generator that yields lists of pulse writes
        that do not depend on each other. The caller applies each list before resuming the
        generator, so a later step sees the earlier writes (a transfer reads A after its update).
        :func:`run_update_steps` runs the updates of many layers in lockstep."""

    @property
    @abc.abstractmethod
    def weight(self) -> torch.Tensor:
        """The exact visible weight (out × in), without read noise."""

    @abc.abstractmethod
    def set_weight(self, weight: torch.Tensor) -> None:
        """Program the arrays so that the visible weight equals ``weight``."""

    @abc.abstractmethod
    def arrays(self) -> dict[str, CrossbarArray]:
        """The physical arrays of this weight by name (a shared reference appears once)."""

    def exact_read_arrays(self) -> list[CrossbarArray] | None:
        """The arrays that :meth:`forward` and :meth:`backward` read, when every one of those
        reads is exact (:attr:`CrossbarArray.reads_exactly`): then the forward read is ``x·Wᵀ``
        and the backward read ``δ·W`` with W = :attr:`weight`, which a layer may compute with
        ordinary autograd operations, counting the reads on these arrays. None: the reads are
        not exact (or the algorithm does not say), so they must go through forward/backward."""
        return None

    # -- accounting ---------------------------------------------------------------------------
    def operations(self) -> dict[str, Any]:
        """Per-array operation counters, their totals, and the algorithm-level counts.

        Keys: ``arrays`` (name -> counter dict), ``totals`` (summed counters),
        ``serial_operations`` (0 for a fully parallel algorithm), ``arrays_per_weight``,
        ``updates`` and whatever :meth:`_extra_operations` adds (e.g. ``transfers``).
        """
        per_array = {name: array.operations for name, array in self.arrays().items()}
        totals = OperationCounter()
        for counter in per_array.values():
            totals = totals + counter
        account: dict[str, Any] = {
            "algorithm": self.name,
            "arrays": {name: counter.as_dict() for name, counter in per_array.items()},
            "totals": totals.as_dict(),
            "serial_operations": totals.serial_operations,
            "arrays_per_weight": self.arrays_per_weight,
            "updates": self.update_count,
        }
        account.update(self._extra_operations())
        return account

    def _extra_operations(self) -> dict[str, Any]:
        return {}

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: every array's state plus the counters."""
        state: dict[str, Any] = {
            "algorithm": self.name,
            "shape": [self.out_features, self.in_features],
            "arrays": {name: array.state_dict() for name, array in self.arrays().items()},
            "update_count": self.update_count,
        }
        state.update(self._extra_state())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (of the same algorithm and shape)."""
        if state.get("algorithm") != self.name:
            raise ConfigError(f"state is for algorithm {state.get('algorithm')!r}, this is {self.name!r}")
        if list(state.get("shape", [])) != [self.out_features, self.in_features]:
            raise ConfigError(
                f"state has shape {state.get('shape')}, this weight is {[self.out_features, self.in_features]}"
            )
        arrays = self.arrays()
        missing = set(arrays) - set(state["arrays"])
        if missing:
            raise ConfigError(f"state lacks arrays {sorted(missing)}")
        for name, array in arrays.items():
            array.load_state_dict(state["arrays"][name])
        self.update_count = int(state["update_count"])
        self._load_extra_state(state)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # -- helpers -----------------------------------------------------------------------------
    def _check_weight(self, weight: torch.Tensor) -> torch.Tensor:
        check_tensor("weight", weight)
        if tuple(weight.shape) != (self.out_features, self.in_features):
            raise ConfigError(
                f"weight must have shape {(self.out_features, self.in_features)}, got {tuple(weight.shape)}"
            )
        return weight.to(self.torch_device, self.dtype)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.out_features}×{self.in_features}, "
            f"arrays={list(self.arrays())}, updates={self.update_count})"
        )
