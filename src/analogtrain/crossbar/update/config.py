"""Settings of an array's pulse update: train length, management, strategy, kernels."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from analogtrain.config import Config, check_choice, check_int
from analogtrain.errors import ConfigError

#: The ways to count a batch's pulses per device (see :mod:`analogtrain.crossbar.update`).
STRATEGIES = ("auto", "exact", "trains", "moments", "none")
#: ``auto``: compiled CPU loops where they exist; ``torch``: the tensor code only.
KERNELS = ("auto", "torch")
#: The update modes of earlier versions, read from saved configs: the strategy each became.
#: (``per-sample`` applied each sample's train coincidences in closed form one sample after the
#: other; ``trains`` draws the same trains and applies the batch's counts at once.)
LEGACY_MODES = {"aggregate": "auto", "per-sample": "trains", "exact": "exact", "none": "none"}


@dataclasses.dataclass(frozen=True)
class UpdateConfig(Config):
    """Pulse-update settings.

    bl: the longest pulse train (slots per sample), 1–4096.
    update_management, bl_management: balance the row and column probabilities, and shorten the
        train to ⌈k⌉ slots (k = η·max|x|·max|δ|/Δw_min) — Gokmen, Onen & Haensch 2017.
    strategy: how the batch's up/down pulse counts per device are found — ``exact`` (the
        reference: pulses in order, slot by slot), ``trains`` (the batch's pulse trains and their
        coincidences), ``moments`` (counts per device from their exact mean and variance),
        ``auto`` (the documented rule of :func:`~analogtrain.crossbar.update.strategies.choose_strategy`)
        or ``none`` (a floating-point update ``W −= η δᵀx``, no device physics).
    kernel: ``auto`` runs the compiled CPU loops where they exist (same arithmetic and random
        draws as the tensor code; CPU, float32/float64), ``torch`` the tensor code only.
    """

    bl: int = 31
    update_management: bool = True
    bl_management: bool = True
    strategy: Literal["auto", "exact", "trains", "moments", "none"] = "auto"
    kernel: Literal["auto", "torch"] = "auto"

    def validate(self) -> None:
        check_int("bl", self.bl, 1, 4096)
        check_choice("strategy", self.strategy, STRATEGIES)
        check_choice("kernel", self.kernel, KERNELS)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str = ""):
        """As :meth:`Config.from_dict`; a saved ``mode`` (earlier versions) becomes its strategy."""
        if isinstance(data, dict) and "mode" in data:
            key_path = f"{path}.mode" if path else "mode"
            if "strategy" in data:
                raise ConfigError(f"{key_path}: give either 'mode' (earlier versions) or 'strategy', not both")
            mode = data["mode"]
            if mode not in LEGACY_MODES:
                raise ConfigError(f"{key_path} must be one of {sorted(LEGACY_MODES)}, got {mode!r}")
            data = {**{k: v for k, v in data.items() if k != "mode"}, "strategy": LEGACY_MODES[mode]}
        return super().from_dict(data, path)
