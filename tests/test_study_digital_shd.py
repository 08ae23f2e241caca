"""Study digital-shd: DigitalSHD trains the digits MLP near SGD; A's asymmetry is the damping."""

from __future__ import annotations

import json

import torch

from analogtrain.studies.algorithms_digital_shd import digital_shd


def test_digital_shd_claims_hold():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        study = digital_shd(seeds=(0, 1), epochs=20)
    finally:
        torch.set_num_threads(threads)
    assert study.all_hold, study.claims
    json.dumps(study.as_dict())  # a summary can be written as JSON
