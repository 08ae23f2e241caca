"""AnalogOptimizer: analog pulse updates for the analog layers, any torch optimizer for the rest."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from analogtrain.algorithms import AnalogSGDConfig
from analogtrain.crossbar.update import UpdateConfig
from analogtrain.devices import ConstantStepDevice
from analogtrain.errors import ConfigError
from analogtrain.nn import AnalogLinear, AnalogOptimizer, AnalogSGD

#: Floating-point updates on a wide range: the analog step is exactly ΔW = −lr·Σ δᵀx.
EXACT = AnalogSGDConfig(device=ConstantStepDevice(w_min=-10.0, w_max=10.0), update=UpdateConfig(strategy="none"))


class Net(nn.Module):
    """An analog layer (digital bias) and a digital read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.analog = AnalogLinear(3, 4, EXACT, bias=True)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(torch.tanh(self.analog(x)))


def _digital(model: Net) -> list[torch.Tensor]:
    return [model.analog.bias, model.out.weight, model.out.bias]


def _loss(model, x):
    return (model(x) ** 2).sum()


def test_adam_steps_the_digital_parameters_as_adam_would():
    """Three steps: the digital parameters (the analog layer's bias, the read-out) follow
    torch.optim.Adam on a digital copy exactly; the analog weight gets −lr·Σ δᵀx."""
    torch.manual_seed(0)
    model = Net()
    reference = [p.detach().clone().requires_grad_(True) for p in _digital(model)]
    adam = torch.optim.Adam(reference, lr=0.05, betas=(0.8, 0.95))
    optimizer = AnalogOptimizer(model, digital=torch.optim.Adam, lr=0.05, betas=(0.8, 0.95))
    assert isinstance(optimizer.digital, torch.optim.Adam)
    assert optimizer.digital.param_groups[0]["betas"] == (0.8, 0.95)
    x = torch.randn(5, 3)
    for _ in range(3):
        optimizer.zero_grad()
        h = model.analog(x)
        h.retain_grad()  # δ of the analog layer
        (model.out(torch.tanh(h)) ** 2).sum().backward()
        for mine, theirs in zip(reference, _digital(model)):
            mine.grad = theirs.grad.clone()
        expected_weight = model.analog.weight - 0.05 * h.grad.t() @ x
        optimizer.step()
        adam.step()
        for mine, theirs in zip(reference, _digital(model)):
            torch.testing.assert_close(theirs, mine, rtol=0, atol=0)
        torch.testing.assert_close(model.analog.weight, expected_weight, atol=1e-5, rtol=1e-5)
    # Adam's state is kept for the digital parameters and goes into the state dict.
    state = optimizer.state_dict()
    assert len(state["digital"]["state"]) == 3
    assert all(int(s["step"]) == 3 for s in state["digital"]["state"].values())


def test_adam_differs_from_sgd():
    """The digital optimizer is really the one passed (a check that the test above can fail)."""
    torch.manual_seed(0)
    first, second = Net(), Net()
    second.load_state_dict(first.state_dict())
    x = torch.randn(5, 3)
    for model, optimizer in ((first, AnalogOptimizer(first, digital=torch.optim.Adam, lr=0.05)),
                             (second, AnalogSGD(second, lr=0.05))):
        optimizer.zero_grad()
        _loss(model, x).backward()
        optimizer.step()
    assert not torch.equal(first.out.weight, second.out.weight)
    torch.testing.assert_close(first.analog.weight, second.analog.weight, rtol=0, atol=0)


def test_step_lr_scheduler_changes_the_analog_and_the_digital_lr():
    torch.manual_seed(0)
    model = Net()
    optimizer = AnalogOptimizer(model, digital=torch.optim.Adam, lr=0.2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    x = torch.randn(5, 3)
    for epoch in range(3):
        lr = 0.2 * 0.5**epoch
        assert optimizer.param_groups[0]["lr"] == pytest.approx(lr)
        optimizer.zero_grad()
        h = model.analog(x)
        h.retain_grad()
        (model.out(torch.tanh(h)) ** 2).sum().backward()
        expected = model.analog.weight - lr * h.grad.t() @ x
        optimizer.step()
        torch.testing.assert_close(model.analog.weight, expected, atol=1e-5, rtol=1e-5)
        assert optimizer.digital.param_groups[0]["lr"] == pytest.approx(lr)
        scheduler.step()


def test_state_dict_roundtrip_and_an_earlier_state_dict_without_digital_state():
    torch.manual_seed(0)
    model = Net()
    optimizer = AnalogOptimizer(model, digital=torch.optim.Adam, lr=0.1)
    x = torch.randn(5, 3)
    optimizer.zero_grad()
    _loss(model, x).backward()
    optimizer.step()
    state = optimizer.state_dict()
    again = AnalogOptimizer(model, digital=torch.optim.Adam, lr=0.7)
    again.load_state_dict(state)
    assert again.param_groups[0]["lr"] == 0.1 and again.digital.param_groups[0]["lr"] == 0.1
    assert int(again.digital.state_dict()["state"][0]["step"]) == 1
    # A state dict of the optimizer before AnalogOptimizer existed (AnalogSGD: groups, no state).
    sgd = AnalogSGD(model, lr=0.3, weight_decay=0.01)
    old = {"state": {}, "param_groups": [{"lr": 0.05, "weight_decay": 0.01, "initial_lr": 0.3,
                                          "params": list(range(len(list(model.parameters()))))}]}
    sgd.load_state_dict(old)
    assert sgd.param_groups[0]["lr"] == 0.05 and sgd.digital.param_groups[0]["lr"] == 0.05


def test_bad_digital_optimizer():
    with pytest.raises(ConfigError, match="digital"):
        AnalogOptimizer(Net(), digital=torch.nn.Linear, lr=0.1)
    with pytest.raises(ConfigError, match="lr"):
        AnalogOptimizer(Net(), digital=torch.optim.Adam, lr=-1.0)
