"""``DigitalSHD``: Stochastic Hamiltonian Descent as an ordinary (digital) torch optimizer.

Onen, Gokmen et al., "Neural Network Training with Asymmetric Crosspoint Elements", Front.
Artif. Intell. 5:891624 (2022), closing conjecture: the asymmetric A/C dynamics of SHD — a
damped oscillator whose damping is the device asymmetry — may be a useful optimizer in its own
right, without analog hardware. This optimizer keeps, for every parameter θ (which plays C, the
visible weight), an auxiliary tensor A with a *simulated* soft-bounds response around its
symmetry point a* (bound b, κ = 1/b), and nothing else; it runs on any torch model and device.

Per ``step()`` with gradient g of θ (η = ``lr``):

    Δ = −η_A g                               the intended change of A (η_A = fast_lr·η)
    A ← A + Δ − κ|Δ|(A − a*)                 soft bounds: up steps Δ(1 − κ(A − a*)), down steps
                                             |Δ|(1 + κ(A − a*)): every step, whatever its sign,
                                             also pulls A toward a* (paper Eq. 2)
    A ← clamp(A, a* − b, a* + b)             the device range
    every τ steps (``transfer_every``):
    Δc = η_C (A − a_ref)                     A read against its reference a_ref = a* + reference_error
                                             (SHD: A_ref at A's symmetry point; η_C = transfer_lr·η)
    θ ← θ + Δc − κ_C|Δc|·θ                   C's own response: soft bounds on [−c_bound, c_bound]
                                             (κ_C = 1/c_bound), or linear (κ_C = 0) if c_bound is None

In the continuum limit (paper Eqs. 3–4) A is a velocity and θ a position: ``θ̈ ≈ −η_A η_C ∇f/τ``
with a friction ``κ η_A E|g|`` that vanishes with the gradient noise — heavy-ball momentum whose
damping is set by the gradient's magnitude instead of a constant. With ``reference_error = 0``
and ``c_bound = None`` its fixed points are exactly the critical points of f (A = a* and g = 0).
The state (A and the step count per parameter) is in ``state_dict()``, so resume is exact.
"""

from __future__ import annotations

from typing import Iterable

import torch

from analogtrain.config import check_int, check_non_negative, check_positive, check_range
from analogtrain.errors import ConfigError


class DigitalSHD(torch.optim.Optimizer):
    """SHD as a digital optimizer (module docstring for the equations).

    Args:
        params: parameters or parameter groups, as any torch optimizer.
        lr: η (> 0). fast_lr, transfer_lr: η_A = fast_lr·η, η_C = transfer_lr·η (> 0).
        bound: b, A's half range around its symmetry point (> 0; κ = 1/b).
        symmetry_point: a* (finite). reference_error: a_ref − a* (finite; 0: calibrated reference).
        transfer_every: τ, steps between transfers (integer ≥ 1).
        c_bound: half range of C's soft bounds (> 0), or None for a linear C.
    """

    def __init__(self, params: Iterable, lr: float = 0.1, *, fast_lr: float = 1.0, transfer_lr: float = 1.0,
                 bound: float = 1.0, symmetry_point: float = 0.0, reference_error: float = 0.0,
                 transfer_every: int = 1, c_bound: float | None = None) -> None:
        check_positive("lr", lr)
        check_positive("fast_lr", fast_lr)
        check_positive("transfer_lr", transfer_lr)
        check_positive("bound", bound)
        check_range("symmetry_point", symmetry_point)
        check_range("reference_error", reference_error)
        check_int("transfer_every", transfer_every, 1, 2**31)
        if c_bound is not None:
            check_positive("c_bound", c_bound)
        defaults = dict(lr=lr, fast_lr=fast_lr, transfer_lr=transfer_lr, bound=bound, symmetry_point=symmetry_point,
                        reference_error=reference_error, transfer_every=transfer_every, c_bound=c_bound)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One SHD step for every parameter with a gradient (module docstring)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = group["lr"]
            check_non_negative("lr", lr)
            kappa = 1.0 / group["bound"]
            a_star = group["symmetry_point"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                if theta.grad.is_sparse:
                    raise ConfigError("DigitalSHD does not support sparse gradients")
                state = self.state[theta]
                if not state:
                    state["step"] = 0
                    state["auxiliary"] = torch.full_like(theta, a_star, memory_format=torch.preserve_format)
                a = state["auxiliary"]
                delta = theta.grad.mul(-group["fast_lr"] * lr)
                drift = delta.abs().mul_(a - a_star).mul_(kappa)  # κ|Δ|(A − a*), at the old A
                a.add_(delta).sub_(drift)
                a.clamp_(a_star - group["bound"], a_star + group["bound"])
                state["step"] += 1
                if state["step"] % group["transfer_every"] == 0:
                    change = (a - (a_star + group["reference_error"])).mul_(group["transfer_lr"] * lr)
                    if group["c_bound"] is not None:
                        theta.sub_(change.abs().mul(theta).div_(group["c_bound"]))
                    theta.add_(change)
        return loss

    def auxiliary(self, parameter: torch.Tensor) -> torch.Tensor | None:
        """A of ``parameter`` (None before its first step)."""
        state = self.state.get(parameter)
        return None if not state else state["auxiliary"]
