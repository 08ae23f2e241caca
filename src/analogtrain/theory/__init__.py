"""Continuum-limit theory of analog training (Onen, Gokmen et al., Front. Artif. Intell. 2022).

* :mod:`~analogtrain.theory.noise`: Gaussian averages (folded-normal mean E|g + ε|).
* :mod:`~analogtrain.theory.response`: a device's nominal pulse response as plain functions.
* :mod:`~analogtrain.theory.sgd`: Eqs. 1–2, SGD's fixed point between the optimum and the
  symmetry point.
* :mod:`~analogtrain.theory.shd`: Eqs. 3–4, the damped-oscillator picture of SHD / Tiki-Taka:
  frequency, damping, energy, reference bias.
* :mod:`~analogtrain.theory.tiki_taka`: Wu et al. (NeurIPS 2024): Analog SGD's lower bound on
  the asymptotic error, Tiki-Taka's exact convergence (discrete recursions).
"""

from analogtrain.theory.noise import folded_normal_mean, negative_part_mean, positive_part_mean
from analogtrain.theory.response import PulseResponse, nominal_response
from analogtrain.theory import sgd, shd, tiki_taka

__all__ = [
    "folded_normal_mean",
    "negative_part_mean",
    "positive_part_mean",
    "PulseResponse",
    "nominal_response",
    "sgd",
    "shd",
    "tiki_taka",
]
