"""Residual learning: Tiki-Taka with the gradient taken at the effective weight γA + C (4 arrays).

Wu, Xiao, Gokmen, Fagbohungbe, Chen, "Analog In-memory Training on General Non-ideal Resistive
Elements: The Impact of Response Functions", NeurIPS 2025 (arXiv 2502.06309). Analog SGD on an
asymmetric response is SGD on an implicitly penalised objective (the penalty pulls every weight
toward its device's symmetry point), so it settles off the optimum. Residual learning poses a
bilevel problem instead: the slow array C holds the weight, the fast array A (reference at its
symmetry point, so A = 0 there) learns the *residual* of C, and the gradient is evaluated at the
mixed weight ``W̄ = γA + C`` (γ > 0):

    I.–II. y = (γA + C) x,  z = (γA + C)ᵀ δ     reads of W̄ (the network is W̄)
    III.   A ← A − η_A δ xᵀ                        the gradient at W̄, on A
    IV.–V. every τ updates: C ← C + η_C A u uᵀ     transfer of A's next column to C

At a fixed point of the pair A's drift must vanish, i.e. A sits at its symmetry point (A = 0),
and the transfer stops only if ∇f(W̄) = 0 as well, so W̄ = C converges to a critical point
exactly; with γ = 0 (plain Tiki-Taka) the same holds but A's response is then probed only by
the gradient at C. The paper's synthetic check uses γ = 0.4.

This is exactly :class:`~analogtrain.algorithms.transfer.TikiTaka` with ``gamma > 0`` (its steps
I–II already read γA + C), so no new update code exists here: the config only names the method,
requires γ > 0 and defaults it to the paper's 0.4; results are bit-identical to a
``TikiTakaConfig`` with the same fields.
"""

from __future__ import annotations

import dataclasses

from analogtrain.algorithms.base import register_algorithm
from analogtrain.algorithms.transfer import TikiTaka, TikiTakaConfig
from analogtrain.config import check_positive


@dataclasses.dataclass(frozen=True)
class ResidualLearningConfig(TikiTakaConfig):
    """Residual learning: Tiki-Taka's fields with ``gamma > 0`` (default 0.4, the paper's value)."""

    algorithm = "residual-learning"

    gamma: float = 0.4

    def validate(self) -> None:
        super().validate()
        check_positive("gamma", self.gamma)

    def as_tiki_taka(self) -> TikiTakaConfig:
        """The same settings as a plain Tiki-Taka config."""
        return TikiTakaConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


@register_algorithm(ResidualLearningConfig)
class ResidualLearning(TikiTaka):
    """Residual learning = Tiki-Taka with γ > 0 (module docstring); arrays as Tiki-Taka."""

    name = "residual-learning"
