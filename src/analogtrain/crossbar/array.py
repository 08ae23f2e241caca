"""A crossbar array: conductances and per-device parameters, read and updated as a whole.

``W = G_main − G_ref``: an array holds its own conductances ``G`` (out × in) and optionally a
*reference* array whose conductances are subtracted on every read (a differential pair). A
reference may be shared by several arrays (3-array SHD reads ``C = C_main − A_ref``).

Operations (all whole-array, all counted in :attr:`CrossbarArray.operations`):

* :meth:`forward` ``y = W x`` and :meth:`backward` ``z = Wᵀ δ`` for batches, through the
  peripheral pipeline of :mod:`analogtrain.crossbar.io`;
* :meth:`pulse_update` — the stochastic pulse update of ``ΔW = −η δ xᵀ``
  (:mod:`analogtrain.crossbar.update`), touching only this array's conductances;
* :meth:`pulse_update_columns` — the same for one-hot inputs (a transfer's write), drawn per column;
* :meth:`pulse_all` — one up or down pulse to every device at once (used for calibration);
* :meth:`program` — write target conductances (optionally with a programming error).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from analogtrain.config import check_int, check_non_negative
from analogtrain.crossbar.checks import check_tensor
from analogtrain.crossbar.io import IOConfig, analog_read
from analogtrain.crossbar.operations import OperationCounter
from analogtrain.crossbar.update import (
    PulseCounts,
    UpdateConfig,
    apply_pulse_counts_jointly,
    column_pulse_counts,
    draw_pulse_counts,
    exact_update,
    one_hot_inputs,
)
from analogtrain.devices.base import DeviceParameters, PulsedDevice
from analogtrain.errors import ConfigError


def make_generator(seed: int | None, device: torch.device | str | None = None) -> torch.Generator:
    """A torch.Generator on ``device`` seeded with ``seed`` (a fresh random seed if None)."""
    generator = torch.Generator(device=torch.device(device) if device is not None else "cpu")
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


class CrossbarArray:
    """An (out_features × in_features) array of devices of one model.

    Args:
        out_features, in_features: array shape (rows × columns), as torch.nn.Linear's weight.
        device: the device model; per-device parameters are drawn once here.
        update: pulse-update settings.
        forward_io, backward_io: peripheral non-idealities of the two read directions
            (ideal by default; ``backward_io`` defaults to ``forward_io``).
        reference: an array whose conductances are subtracted on every read, or None.
        seed: seeds this array's own generator (device sampling, pulses, read noise).
        torch_device, dtype: where the tensors live.
    """

    def __init__(
        self,
        out_features: int,
        in_features: int,
        device: PulsedDevice,
        *,
        update: UpdateConfig | None = None,
        forward_io: IOConfig | None = None,
        backward_io: IOConfig | None = None,
        reference: "CrossbarArray | None" = None,
        seed: int | None = 0,
        torch_device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        check_int("out_features", out_features, 1, 2**31)
        check_int("in_features", in_features, 1, 2**31)
        if not isinstance(device, PulsedDevice):
            raise ConfigError(f"device must be a PulsedDevice model, got {type(device).__name__}")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ConfigError(f"dtype must be a floating-point torch dtype (e.g. torch.float32), got {dtype!r}")
        from analogtrain.memory import array_bytes, check_allocation, device_parameter_count

        check_allocation(
            f"CrossbarArray({out_features}, {in_features}) with {device.model} devices",
            array_bytes(out_features, in_features, device_parameter_count(device),
                        torch.empty((), dtype=dtype).element_size()),
            torch.device(torch_device) if torch_device is not None else None,
        )
        self.shape = (out_features, in_features)
        self.device_model = device
        self.update_config = update or UpdateConfig()
        self.forward_io = forward_io or IOConfig()
        self.backward_io = backward_io or self.forward_io
        self.torch_device = torch.device(torch_device) if torch_device is not None else torch.device("cpu")
        self.dtype = dtype
        self.generator = make_generator(seed, self.torch_device)
        self.params: DeviceParameters = device.sample(self.shape, self.generator, self.torch_device, dtype)
        self.conductance = torch.zeros(self.shape, device=self.torch_device, dtype=dtype)
        self.conductance = device.clip(self.conductance, self.params)
        self.reference = reference
        self.operations = OperationCounter()
        self._weight_cache: torch.Tensor | None = None
        self._stack: torch.Tensor | None = None
        self._stack_key: list | None = None
        self._stack_sources: list[torch.Tensor] = []
        self._weight_key: tuple | None = None

    # -- reads ------------------------------------------------------------------------------
    @property
    def out_features(self) -> int:
        return self.shape[0]

    @property
    def in_features(self) -> int:
        return self.shape[1]

    @property
    def weight(self) -> torch.Tensor:
        """The stored weight ``G_main − G_ref`` (a copy-free view when there is no reference)."""
        if self.reference is None:
            return self.conductance
        # Cached until either conductance tensor is replaced or changed in place (its version
        # counter); the key holds the tensors themselves, so a new tensor never matches an old key.
        # A stale cache is refreshed in place, as the conductances themselves are updated: a
        # fresh tensor of a large array costs more to allocate than the subtraction.
        main, ref = self.conductance, self.reference.conductance
        key = self._weight_key
        if key is None or key[0] is not main or key[2] is not ref or key[1] != main._version or key[3] != ref._version:
            cache = self._weight_cache
            if (cache is not None and cache.shape == main.shape and cache.dtype == main.dtype
                    and cache.device == main.device):
                torch.sub(main, ref, out=cache)
            else:
                self._weight_cache = main - ref
            self._weight_key = (main, main._version, ref, ref._version)
        return self._weight_cache

    def _weight_is_cached(self) -> bool:
        """Whether :attr:`weight` holds a fresh ``G_main − G_ref`` (False without a reference)."""
        key = self._weight_key
        return (self.reference is not None and key is not None and key[0] is self.conductance
                and key[1] == self.conductance._version and key[2] is self.reference.conductance
                and key[3] == self.reference.conductance._version)

    def _refresh_weight_at(self, index: torch.Tensor) -> None:
        """After a write of the devices at the flat positions ``index`` to an array whose weight
        was cached just before: recompute those entries of the cache only (a transfer writes one
        column, a sparse update a few devices; the whole difference costs a pass over the array)."""
        main, ref = self.conductance, self.reference.conductance
        fresh = main.view(-1).index_select(0, index).sub_(ref.view(-1).index_select(0, index))
        self._weight_cache.view(-1).index_copy_(0, index, fresh)
        self._weight_key = (main, main._version, ref, ref._version)

    @property
    def reads_exactly(self) -> bool:
        """Whether both read directions are exact products with :attr:`weight` (an ideal
        periphery without noise management), so that ``forward(x) = x·Wᵀ`` and ``backward(δ) = δ·W``."""
        return all(io.is_ideal and io.noise_management == "none" for io in (self.forward_io, self.backward_io))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y = W x`` for a batch x of shape (batch, in) or (in,), through the forward periphery."""
        x2 = self._as_batch("x", x, self.in_features)
        y = analog_read(self.weight, x2, self.forward_io, self.generator, self.update_config.kernel)
        self.operations.forward_reads += x2.shape[0]
        return y if x.dim() == 2 else y[0]

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        """``z = Wᵀ δ`` for a batch δ of shape (batch, out) or (out,), through the backward periphery."""
        d2 = self._as_batch("d", d, self.out_features)
        z = analog_read(self.weight.T, d2, self.backward_io, self.generator, self.update_config.kernel)
        self.operations.backward_reads += d2.shape[0]
        return z if d.dim() == 2 else z[0]

    def read_columns(self, columns: torch.Tensor, io: IOConfig | None = None) -> torch.Tensor:
        """Forward reads with one-hot inputs: ``v_s = W e_{c_s}`` for the (k,) ``columns``, through
        ``io`` (default: the forward periphery); returns (k, out).

        The same as :meth:`forward` of the one-hot vectors (their products select columns of W
        exactly), computed from those columns alone: a transfer reads a few columns of a large
        array.
        """
        k = columns.numel()
        self.operations.forward_reads += k
        io = io or self.forward_io
        exact = io.is_ideal and io.noise_management == "none"  # an exact product selects the columns
        if exact and k == 1:  # the usual transfer: one column, as a (1, out) row
            column = int(columns)
            main = self.conductance[:, column]
            if self.reference is not None:
                return (main - self.reference.conductance[:, column]).unsqueeze(0)
            return main.clone().unsqueeze(0)
        main = self.conductance.index_select(1, columns)
        if self.reference is not None:
            main = main - self.reference.conductance.index_select(1, columns)
        if exact:
            return main.T.contiguous()
        eye = torch.eye(k, device=self.torch_device, dtype=self.dtype)
        return analog_read(main, eye, io, self.generator, self.update_config.kernel)

    # -- updates ------------------------------------------------------------------------------
    def pulse_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> float:
        """Stochastic pulse update of ``ΔW = −lr·δ xᵀ`` (summed over the batch); returns pulses.

        Only this array's conductances change (a shared reference is untouched).
        """
        return pulse_update_arrays([PulseWrite(self, d, lr, x=x)])[0]

    def pulse_update_columns(self, columns: torch.Tensor, d: torch.Tensor, lr: float) -> float:
        """Pulse update of ``ΔW[:, c_s] = −lr·δ_s``: the update with one-hot inputs ``x_s = e_{c_s}``
        (a transfer's write), drawn directly per column (:mod:`analogtrain.crossbar.update.columns`).

        ``columns``: (k,) distinct column indices; ``d``: (k, out). Returns the device pulses.
        """
        return pulse_update_arrays([PulseWrite(self, d, lr, columns=columns)])[0]

    def _checked_write(self, write: "PulseWrite") -> tuple[torch.Tensor, torch.Tensor, float] | None:
        """(x or columns, d, lr) of a write, checked and on this array's device; None: nothing to do."""
        lr = write.lr
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
            raise ConfigError(f"lr must be a finite number ≥ 0, got {lr!r}")
        if write.trusted:
            inputs = write.x if write.columns is None else write.columns
            return (inputs, write.d, float(lr)) if lr > 0 and write.d.shape[0] > 0 else None
        d2 = self._as_batch("d", write.d, self.out_features)
        if write.columns is None:
            x2 = self._as_batch("x", write.x, self.in_features)
            if x2.shape[0] != d2.shape[0]:
                raise ConfigError(f"x and d must have the same batch size, got {x2.shape[0]} and {d2.shape[0]}")
            return (x2, d2, float(lr)) if lr > 0 else None
        columns = write.columns
        if not isinstance(columns, torch.Tensor) or columns.dim() != 1 or columns.dtype != torch.long:
            raise ConfigError(f"columns must be a 1-D long tensor of column indices, got {columns!r}")
        k = columns.numel()
        if d2.shape[0] != k:
            raise ConfigError(f"columns and d must have the same number of samples, got {k} and {d2.shape[0]}")
        if k and (int(columns.min()) < 0 or int(columns.max()) >= self.in_features):
            raise ConfigError(f"columns must lie in [0, {self.in_features - 1}], got {columns.tolist()}")
        if k > 1 and torch.unique(columns).numel() != k:
            raise ConfigError(f"columns must be distinct, got {columns.tolist()}")
        return (columns.to(self.torch_device), d2, float(lr)) if lr > 0 and k > 0 else None

    def pulse_all(self, direction: int) -> None:
        """One pulse to every device at once (+1 up, −1 down): a single parallel update."""
        if direction not in (1, -1):
            raise ConfigError(f"direction must be +1 or −1, got {direction!r}")
        signs = torch.full(self.shape, float(direction), device=self.torch_device, dtype=self.dtype)
        self.conductance = self.device_model.pulse(self.conductance, self.params, signs, self.generator)
        self.operations.parallel_updates += 1
        self.operations.device_pulses += self.conductance.numel()

    def program(self, target: torch.Tensor, programming_error: float = 0.0) -> None:
        """Write conductances ``target`` (+ N(0, programming_error²)), clipped to each device's bounds."""
        check_tensor("target", target)
        check_non_negative("programming_error", programming_error)
        if tuple(target.shape) != self.shape:
            raise ConfigError(f"target must have shape {self.shape}, got {tuple(target.shape)}")
        values = target.to(device=self.torch_device, dtype=self.dtype).clone()
        if programming_error > 0:
            values = values + programming_error * torch.randn(
                self.shape, generator=self.generator, device=self.torch_device, dtype=self.dtype
            )
        self.conductance = self.device_model.clip(values, self.params)
        self.operations.programming += 1

    def set_weight(self, weight: torch.Tensor) -> None:
        """Program the conductances so that the differential read ``G − G_ref`` equals ``weight``."""
        check_tensor("weight", weight)
        offset = self.reference.conductance if self.reference is not None else 0.0
        self.program(weight.to(self.torch_device, self.dtype) + offset)

    def symmetry_point(self) -> torch.Tensor:
        """Analytic (or numeric) symmetry point of every device (NaN where none is unique)."""
        return self.device_model.symmetry_point(self.params)

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Conductances, per-device parameters, generator state and operation counts."""
        return {
            "conductance": self.conductance.clone(),
            "params": {k: v.clone() for k, v in self.params.items()},
            "generator": self.generator.get_state(),
            "operations": self.operations.as_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["conductance"].shape) != self.shape:
            raise ConfigError(
                f"state has array shape {tuple(state['conductance'].shape)}, this array is {self.shape}"
            )
        missing = set(self.params) - set(state["params"])
        if missing:
            raise ConfigError(f"state lacks device parameters {sorted(missing)} for model {self.device_model.model}")
        self.conductance = state["conductance"].to(self.torch_device, self.dtype).clone()
        self.params = {k: state["params"][k].to(self.torch_device, self.dtype).clone() for k in self.params}
        self.generator.set_state(state["generator"])
        self.operations = OperationCounter()
        self.operations.load(state["operations"])

    # -- helpers --------------------------------------------------------------------------------
    def _stacked_params(self) -> torch.Tensor:
        """The per-device parameters as one (len(params), numel) tensor, in ``params`` order.

        Cached until ``params`` or any of its tensors is replaced or changed in place.
        """
        # The key holds the names, the tensors' ids and their version counters (in-place changes);
        # the cache keeps the tensors alive, so no other tensor can take one of those ids.
        key = [(name, id(value), value._version) for name, value in self.params.items()]
        if key != self._stack_key:
            self._stack = torch.stack([value.reshape(-1) for value in self.params.values()])
            self._stack_key, self._stack_sources = key, list(self.params.values())
        return self._stack

    def _as_batch(self, name: str, value: torch.Tensor, size: int) -> torch.Tensor:
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            value = value[None, :]
        check_tensor(name, value, shape_last=size, ndim=2)
        if value.dtype == self.dtype and value.device == self.torch_device:
            return value
        return value.to(device=self.torch_device, dtype=self.dtype)

    def __repr__(self) -> str:
        return (
            f"CrossbarArray({self.out_features}×{self.in_features}, device={self.device_model.model}, "
            f"strategy={self.update_config.strategy}, reference={'yes' if self.reference is not None else 'no'})"
        )


@dataclasses.dataclass
class PulseWrite:
    """One pulse update of one array: ``ΔW = −lr·δ xᵀ`` (``x``: (batch, in)), or with one-hot
    inputs at ``columns`` ((k,) distinct indices: ``ΔW[:, c_s] = −lr·δ_s``, a transfer's write)."""

    array: CrossbarArray
    d: torch.Tensor
    lr: float
    x: torch.Tensor | None = None
    columns: torch.Tensor | None = None
    #: Made by the library in the right shape, type and device from checked values (a transfer's
    #: read): not checked again.
    trusted: bool = False


def pulse_update_arrays(writes: list[PulseWrite]) -> list[float]:
    """Apply pulse updates of several arrays; returns the device pulses of each write.

    The writes of one call must not depend on each other (a write to an array already written in
    this call is applied after the earlier ones). Every array draws its
    counts from its own generator, then the arrays of equal device models are updated in one call
    (:func:`~analogtrain.crossbar.update.apply_pulse_counts_jointly`), with the same result as one
    by one: one network's training step pays the fixed cost of the tensor operations of the
    device response once instead of once per layer.

    The update runs in ``torch.inference_mode()``: none of its tensors is ever differentiated, and
    its many small operations skip autograd's bookkeeping. The new conductances are copied into
    each array's own tensor (:func:`_store`), which thus stays an ordinary tensor that later code
    may change in place.
    """
    with torch.inference_mode():
        return _pulse_update_arrays(writes)


def _pulse_update_arrays(writes: list[PulseWrite]) -> list[float]:
    results = [0.0] * len(writes)
    pending: list[tuple[int, CrossbarArray, PulseCounts]] = []
    for i, write in enumerate(writes):
        array = write.array
        if any(other is array for _, other, _ in pending):
            _apply_pending(pending, results)
            pending = []
        checked = array._checked_write(write)
        if checked is None:
            continue
        inputs, d, lr = checked
        config, model = array.update_config, array.device_model
        if config.strategy in ("exact", "none"):
            x = inputs if write.columns is None else one_hot_inputs(inputs, array.in_features, d)
            weights, pulses = exact_update(array.conductance, array.params, model, x, d, lr, config, array.generator)
            _store(array, weights)
            _count(array, d.shape[0], pulses)
            array.operations.count_strategy(config.strategy)
            results[i] = pulses
            continue
        if write.columns is None:
            counts = draw_pulse_counts(array.shape, model, inputs, d, lr, config, array.generator)
        else:
            counts = column_pulse_counts(array.shape, model.granularity, inputs, d, lr, config, array.generator)
        if counts is None:
            _count(array, d.shape[0], 0.0)
        else:
            array.operations.parallel_updates += d.shape[0]
            array.operations.count_strategy(counts.strategy)
            pending.append((i, array, counts))
    _apply_pending(pending, results)
    return results


def _store(array: CrossbarArray, weights: torch.Tensor) -> None:
    """Make ``weights`` the array's conductances, in place (an update may hand back a new tensor)."""
    if weights is not array.conductance:
        array.conductance.copy_(weights)


def _count(array: CrossbarArray, samples: int, pulses: float) -> None:
    array.operations.parallel_updates += samples
    array.operations.device_pulses += pulses


def _apply_pending(pending: list[tuple[int, CrossbarArray, PulseCounts]], results: list[float]) -> None:
    """Apply drawn counts, jointly per group of arrays with equal device models, dtype and device."""
    groups: list[list[tuple[int, CrossbarArray, PulseCounts]]] = []
    for item in pending:
        array = item[1]
        for group in groups:
            first = group[0][1]
            if (first.device_model == array.device_model and first.dtype == array.dtype
                    and first.torch_device == array.torch_device
                    and first.update_config.kernel == array.update_config.kernel):
                group.append(item)
                break
        else:
            groups.append([item])
    for group in groups:
        jobs = [(array.conductance, array.params, counts, array.generator, array._stacked_params())
                for _, array, counts in group]
        cached = [array._weight_is_cached() for _, array, _ in group]
        for (i, array, counts), weights, was_cached in zip(
                group, apply_pulse_counts_jointly(group[0][1].device_model, jobs, group[0][1].update_config.kernel),
                cached):
            _store(array, weights)
            if was_cached and counts.index is not None and 8 * counts.index.numel() < weights.numel():
                array._refresh_weight_at(counts.index)  # else: the next read recomputes it whole
            array.operations.device_pulses += counts.pulses
            results[i] = counts.pulses
