"""Operation accounting: what an array did, so an algorithm can show it is fully parallel."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class OperationCounter:
    """Counts of the operations one crossbar array performed.

    forward_reads / backward_reads: matrix-vector products (one per input vector), each a single
    parallel read of the whole array. parallel_updates: whole-array stochastic pulse updates (one
    per input vector). device_pulses: pulses received by individual devices during those updates
    (a physical cost, not a serial operation). programming: whole-array programming events
    (reference copy, initial weights). serial_operations: operations that address one row or one
    device at a time — a fully parallel algorithm keeps this at 0.
    """

    forward_reads: int = 0
    backward_reads: int = 0
    parallel_updates: int = 0
    device_pulses: float = 0.0
    programming: int = 0
    serial_operations: int = 0
    strategies: dict[str, int] = dataclasses.field(default_factory=dict)

    def count_strategy(self, name: str) -> None:
        """Record one pulse update counted by the strategy ``name``."""
        self.strategies[name] = self.strategies.get(name, 0) + 1

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    def load(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            if key == "strategies":
                self.strategies = {str(name): int(count) for name, count in value.items()}
            else:
                setattr(self, key, type(getattr(self, key))(value))

    def __add__(self, other: "OperationCounter") -> "OperationCounter":
        strategies = dict(self.strategies)
        for name, count in other.strategies.items():
            strategies[name] = strategies.get(name, 0) + count
        return OperationCounter(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)
               if f.name != "strategies"},
            strategies=strategies,
        )
