"""Study ``digital-shd``: SHD as an optimizer for an ordinary (floating-point) network.

Onen, Gokmen et al. (2022) close with the conjecture that SHD's dynamics — a damped oscillator
whose damping is the asymmetry of A — may be useful without analog hardware.
:class:`~analogtrain.nn.DigitalSHD` keeps that dynamics on every parameter of a torch model. Here
it trains the digits MLP 64-32-10 (sigmoid, batch 32, the data set's own 8×8 images from
scikit-learn, a fixed 80/20 split) next to torch's SGD and SGD with momentum, and A's bound b
(κ = 1/b, the damping) is varied at a fixed rate.

Claims checked (means over seeds):

* with a strong asymmetry (b = 0.1) and lr 0.3, DigitalSHD reaches within 3 points of plain SGD's
  test accuracy (lr 1);
* the asymmetry is the damping: at lr 1 (natural frequency √(η_A η_C) = 1 per step) a weak
  asymmetry (b = 1) leaves the oscillator underdamped and training fails, while b = 0.1 trains
  (≥ 20 points better).
"""

from __future__ import annotations

import torch
from torch import nn

from analogtrain.nn import DigitalSHD
from analogtrain.studies.algorithms_common import AlgorithmStudy


def digits_split(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test): scikit-learn's digits scaled to [0, 1], 80/20."""
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    x = torch.tensor(images / 16.0, dtype=torch.float32)
    y = torch.tensor(labels)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    cut = int(0.8 * len(x))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def train_digits(optimizer: str, *, lr: float, seed: int = 0, epochs: int = 20, bound: float = 0.1,
                 data=None) -> float:
    """Test accuracy of the MLP trained with ``optimizer`` ∈ {"sgd", "momentum", "digital-shd"}."""
    x_train, y_train, x_test, y_test = data if data is not None else digits_split()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10))
    if optimizer == "sgd":
        step = torch.optim.SGD(model.parameters(), lr=lr)
    elif optimizer == "momentum":
        step = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    elif optimizer == "digital-shd":
        step = DigitalSHD(model.parameters(), lr=lr, bound=bound)
    else:
        raise ValueError(f"optimizer must be sgd, momentum or digital-shd, got {optimizer!r}")
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            step.zero_grad()
            nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            step.step()
    with torch.no_grad():
        return float((model(x_test).argmax(1) == y_test).float().mean())


CASES = (
    ("sgd", 1.0, None),
    ("momentum", 0.1, None),
    ("digital-shd", 0.3, 0.1),
    ("digital-shd", 1.0, 0.1),
    ("digital-shd", 1.0, 1.0),
)


def digital_shd(seeds=(0, 1, 2), epochs: int = 20) -> AlgorithmStudy:
    """Every case of :data:`CASES` (optimizer, lr, bound) for every seed; the claims above."""
    data = digits_split()
    rows = []
    for optimizer, lr, bound in CASES:
        accuracies = [train_digits(optimizer, lr=lr, seed=s, epochs=epochs, bound=bound or 0.1, data=data)
                      for s in seeds]
        rows.append({"optimizer": optimizer, "lr": lr, "bound": bound, "accuracies": accuracies,
                     "mean_accuracy": sum(accuracies) / len(accuracies)})

    def mean(optimizer, lr, bound):
        return next(r["mean_accuracy"] for r in rows if (r["optimizer"], r["lr"], r["bound"]) == (optimizer, lr, bound))

    sgd, strong, underdamped, damped = (mean("sgd", 1.0, None), mean("digital-shd", 0.3, 0.1),
                                        mean("digital-shd", 1.0, 1.0), mean("digital-shd", 1.0, 0.1))
    claims = [
        {"claim": "DigitalSHD (b = 0.1, lr 0.3) is within 3 points of SGD (lr 1) on the digits MLP",
         "holds": bool(strong >= sgd - 0.03), "digital_shd": strong, "sgd": sgd},
        {"claim": "at lr 1 the asymmetry damps the oscillator: b = 0.1 beats b = 1 by ≥ 20 points",
         "holds": bool(damped >= underdamped + 0.20), "bound_0.1": damped, "bound_1": underdamped},
    ]
    return AlgorithmStudy("digital-shd", rows, claims, {"seeds": list(seeds), "epochs": epochs, "batch_size": 32,
                                                        "cases": [list(c) for c in CASES]})
