"""``benchmarks/network_step.py --algorithms``: any preset next to SGD; the default is unchanged."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from analogtrain.algorithms import algorithm_presets

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "network_step.py"


def _load():
    spec = importlib.util.spec_from_file_location("network_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_variants_are_analog_sgd_and_shd():
    module = _load()
    for io in ("ideal", "preset"):
        assert list(module.algorithms(io)) == ["analog SGD", "SHD"]


def test_every_preset_is_a_variant_with_the_requested_periphery():
    module = _load()
    names = tuple(algorithm_presets())
    variants = module.algorithms("preset", names)
    assert len(variants) == len(names)
    for name, config in zip(names, variants.values()):
        assert config.algorithm == name
        assert config.forward_io == module.IOConfig.preset()
        if hasattr(config, "transfer_io"):
            assert config.transfer_io == config.backward_io


def test_unknown_algorithm_is_rejected():
    result = subprocess.run([sys.executable, str(SCRIPT), "--algorithms", "sgd,adam"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown algorithms ['adam']" in result.stderr
