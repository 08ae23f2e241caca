"""What the algorithm studies (``studies/algorithms_*.py``) return: data rows and checked claims."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class AlgorithmStudy:
    """Data (one row per run) and claims (each with ``claim``, ``holds`` and the numbers behind it)."""

    name: str
    data: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    settings: dict[str, Any]

    @property
    def all_hold(self) -> bool:
        return all(c["holds"] for c in self.claims)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the study's summary."""
        return dataclasses.asdict(self) | {"all_hold": self.all_hold}
