"""Training algorithms: how crossbar arrays make one trainable weight.

* :class:`DifferentialSGD` (analog SGD, config :class:`AnalogSGDConfig`; 2 arrays: main +
  reference; paper Fig. 1A),
* :class:`TikiTaka` (4 arrays: A_main, A_ref, C_main, C_ref; Gokmen & Haensch 2020),
* :class:`SHD` (3 arrays: A_main, A_ref, C_main, with C read against A_ref; Onen, Gokmen et al. 2022).

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
]
