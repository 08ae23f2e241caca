"""Training algorithms: how crossbar arrays make one trainable weight.

* :class:`DifferentialSGD` (analog SGD, config :class:`AnalogSGDConfig`; 2 arrays: main +
  reference; paper Fig. 1A),
* :class:`TikiTaka` (4 arrays: A_main, A_ref, C_main, C_ref; Gokmen & Haensch 2020),
* :class:`SHD` (3 arrays: A_main, A_ref, C_main, with C read against A_ref; Onen, Gokmen et al. 2022),
* successors (4 arrays + digital state): :class:`TTv2` (Gokmen 2021), :class:`ChoppedTTv2` and
  :class:`AGAD` (Rasch et al. 2024); :class:`MixedPrecision` (2 arrays + digital χ, serial
  programming; Nandakumar et al. 2020); residual learning (Wu et al. 2025) is Tiki-Taka with
  γ > 0 (:class:`ResidualLearning`, a named Tiki-Taka config).

:func:`algorithm_preset` gives each of them with the settings that train the digits MLP.

All share the :class:`AnalogAlgorithm` interface; :func:`build_algorithm` makes one from its config.
Importing a module here registers its algorithms (:func:`register_algorithm`); a new algorithm's
module is imported below, so that its name is known wherever configs are read.
"""

from analogtrain.algorithms.base import (
    AlgorithmConfig,
    AnalogAlgorithm,
    algorithm_names,
    build_algorithm,
    calibrate_reference,
    register_algorithm,
)
from analogtrain.algorithms.sgd import AnalogSGDConfig, DifferentialSGD
from analogtrain.algorithms.transfer import (
    SHD,
    SHDConfig,
    TikiTaka,
    TikiTakaConfig,
    TransferAlgorithm,
    TransferConfig,
)
from analogtrain.algorithms.ttv2 import TTv2, TTv2Config
from analogtrain.algorithms.chopped import ChoppedTTv2, ChoppedTTv2Config
from analogtrain.algorithms.agad import AGAD, AGADConfig
from analogtrain.algorithms.mixed_precision import MixedPrecision, MixedPrecisionConfig
from analogtrain.algorithms.residual import ResidualLearning, ResidualLearningConfig
from analogtrain.algorithms.presets import algorithm_preset, algorithm_presets

__all__ = [
    "AlgorithmConfig",
    "AnalogAlgorithm",
    "algorithm_names",
    "build_algorithm",
    "calibrate_reference",
    "register_algorithm",
    "AnalogSGDConfig",
    "DifferentialSGD",
    "SHD",
    "SHDConfig",
    "TikiTaka",
    "TikiTakaConfig",
    "TransferAlgorithm",
    "TransferConfig",
    "TTv2",
    "TTv2Config",
    "ChoppedTTv2",
    "ChoppedTTv2Config",
    "AGAD",
    "AGADConfig",
    "MixedPrecision",
    "MixedPrecisionConfig",
    "ResidualLearning",
    "ResidualLearningConfig",
    "algorithm_preset",
    "algorithm_presets",
]
