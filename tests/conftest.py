"""Shared test settings.

The suite works on small tensors, where torch's intra-op threads cost more than they save (and
stall badly on a loaded 2-core machine), so tests run single-threaded.

The sweep tests run ``sweep_toy:train`` (``tests/sweep_toy.py``) on Dask workers: local ones
(spawned processes) and ``dask worker`` subprocesses. This folder is put first on ``sys.path`` and
on ``PYTHONPATH`` so that every one of them can import it.
"""

import os
import sys
from pathlib import Path

import matplotlib
import torch

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
os.environ["PYTHONPATH"] = os.pathsep.join([TESTS, *filter(None, [os.environ.get("PYTHONPATH")])])

matplotlib.use("Agg")
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` skip, with the reason, where no CUDA device is available."""
    if torch.cuda.is_available():
        return
    import pytest

    skip = pytest.mark.skip(reason="needs a CUDA device (run benchmarks/gpu_check.py on a GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
