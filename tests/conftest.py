"""Shared test settings.

The suite works on small tensors, where torch's intra-op threads cost more than they save (and
stall badly on a loaded 2-core machine), so tests run single-threaded.
"""

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
