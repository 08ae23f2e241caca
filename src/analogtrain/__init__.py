"""analogtrain: training neural networks on simulated analog crossbar arrays of asymmetric devices.

Layers (each depends only on those before it in this list): ``devices``, ``crossbar``,
``algorithms``, ``nn``, ``training``, ``sweep``, ``studies``, ``cli``; ``theory`` sits beside them
and uses ``devices`` only; ``errors``, ``config`` and ``jsonio`` lie below all. See ``DESIGN.md``.
"""

__version__ = "0.1.0"

from analogtrain.errors import ConfigError  # noqa: E402

__all__ = ["ConfigError", "__version__"]
