"""The paper's single-parameter studies (Onen, Gokmen et al., Front. Artif. Intell. 2022).

One weight, E = ½(w − d)² with d ~ N(w₀, σ²), trained by pulses on crossbar arrays through the
algorithm classes. Each study is a function ``run(settings, progress=False) -> StudyResult``
returning its data, summary and claims; :func:`analogtrain.studies.report.write_study`
writes its figures (PNG), data (CSV) and ``summary.json``.

========================  ==========================================================
``fig1``                  SGD on symmetric / asymmetric devices (Fig. 1C–D, 1F–G)
``fig2``                  SHD with symmetric / asymmetric devices (Fig. 2E–F)
``ecram``                 SHD with the metal-oxide ECRAM preset (S3.1)
``lucky-guess``           SGD and SHD started at the optimum
``reference``             SHD with A_ref off the symmetry point
``variance``              SGD residual against the data noise (S3.6)
``core-asymmetry``        SHD against the asymmetry of C (S3.7)
``theory``                continuum equations (Eqs. 1–4) against the simulation
========================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from analogtrain.errors import ConfigError

SGD_KNOBS = ("sigma", "lr", "g0", "steps", "reps")
SHD_KNOBS = ("sigma", "fast_lr", "transfer_lr", "transfer_every", "g0", "steps", "reps")
BOTH_KNOBS = ("sigma", "lr", "fast_lr", "transfer_lr", "transfer_every", "g0", "steps", "reps")


@dataclasses.dataclass(frozen=True)
class Study:
    """A single-parameter study: its name, what it shows, where its run function is, its knobs.

    Importing this package is cheap (no torch); the study module is imported on :meth:`run`.
    """

    name: str
    summary: str
    module: str
    function: str
    knobs: tuple[str, ...]

    def run(self, settings=None, progress: bool = False):
        """Run the study with ``settings`` (a :class:`SingleParameterSettings`); returns a StudyResult."""
        module = importlib.import_module(f"analogtrain.studies.single_parameter.{self.module}")
        if settings is None:
            from analogtrain.studies.single_parameter.common import SingleParameterSettings

            settings = SingleParameterSettings()
        return getattr(module, self.function)(settings, progress=progress)


STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study("fig1", "SGD on a symmetric and an asymmetric device (Fig. 1C-D, F-G)", "fig1", "run", SGD_KNOBS),
        Study("fig2", "SHD with symmetric and asymmetric devices: orbit vs spiral (Fig. 2E-F)", "fig2", "run",
              SHD_KNOBS),
        Study("ecram", "SHD with metal-oxide ECRAM devices (S3.1)", "fig2", "run_ecram", SHD_KNOBS),
        Study("lucky-guess", "SGD and SHD started at the optimum", "lucky_guess", "run", BOTH_KNOBS),
        Study("reference", "SHD with A_ref offset from the symmetry point", "reference", "run", SHD_KNOBS),
        Study("variance", "SGD residual against the data noise (S3.6)", "variance", "run", SGD_KNOBS),
        Study("core-asymmetry", "SHD against the asymmetry of C (S3.7)", "core_asymmetry", "run", BOTH_KNOBS),
        Study("theory", "Continuum equations (Eqs. 1-4) against the simulation", "continuum", "run",
              tuple(k for k in BOTH_KNOBS if k != "g0")),
    )
}


def get_study(name: str) -> Study:
    """The study called ``name`` (ConfigError listing the valid names otherwise)."""
    if name not in STUDIES:
        raise ConfigError(f"study must be one of {list(STUDIES)}, got {name!r}")
    return STUDIES[name]


def run_study(name: str, settings=None, progress: bool = False):
    """Run one study by name; returns its StudyResult."""
    return get_study(name).run(settings, progress=progress)


def __getattr__(name: str) -> Any:
    if name in ("SingleParameterSettings", "StudyResult"):
        from analogtrain.studies.single_parameter import common

        return getattr(common, name)
    raise AttributeError(name)


__all__ = ["STUDIES", "Study", "SingleParameterSettings", "StudyResult", "get_study", "run_study"]
