"""Training algorithms on crossbar arrays: analog SGD (2 arrays), Tiki-Taka (4), SHD (3)."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from analogtrain.algorithms import (
    SHD,
    AlgorithmConfig,
    AnalogSGDConfig,
    DifferentialSGD,
    SHDConfig,
    TikiTaka,
    TikiTakaConfig,
    algorithm_names,
    build_algorithm,
)
from analogtrain.crossbar import IOConfig, UpdateConfig
from analogtrain.devices import ConstantStepDevice, LinearStepDevice, SoftBoundsDevice
from analogtrain.errors import ConfigError

SYMMETRIC = ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)
ASYMMETRIC = SoftBoundsDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)
FLOAT_UPDATE = UpdateConfig(strategy="none")


def all_configs(**transfer):
    return [
        AnalogSGDConfig(device=ASYMMETRIC),
        TikiTakaConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC, **transfer),
        SHDConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC, **transfer),
    ]


# -- configs ----------------------------------------------------------------------------------


def test_registry_names():
    assert set(algorithm_names()) >= {"sgd", "tiki-taka", "shd"}


@pytest.mark.parametrize("config", all_configs(fast_lr=0.1, transfer_every=3, gamma=0.2), ids=lambda c: c.algorithm)
def test_config_round_trips_through_json(config):
    data = json.loads(config.to_json())
    assert data["algorithm"] == config.algorithm
    assert AlgorithmConfig.from_dict_polymorphic(data) == config
    assert type(config).from_dict(data) == config


@pytest.mark.parametrize(
    "cls, field, value, fragment",
    [
        (SHDConfig, "fast_lr", 0.0, "fast_lr"),
        (SHDConfig, "transfer_lr", -1.0, "transfer_lr"),
        (TikiTakaConfig, "transfer_every", 0, "transfer_every"),
        (TikiTakaConfig, "columns_per_transfer", 0, "columns_per_transfer"),
        (SHDConfig, "gamma", -0.1, "gamma"),
        (SHDConfig, "calibration", "magic", "calibration"),
        (AnalogSGDConfig, "reference", "middle", "reference"),
        (AnalogSGDConfig, "programming_error", -0.01, "programming_error"),
    ],
)
def test_invalid_parameters_name_the_parameter(cls, field, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        cls(**{field: value})


def test_unknown_algorithm_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown algorithm"):
        AlgorithmConfig.from_dict_polymorphic({"algorithm": "adam"})
    with pytest.raises(ConfigError):
        build_algorithm(AnalogSGDConfig(), 0, 3)


# -- arrays and accounting -------------------------------------------------------------------


@pytest.mark.parametrize("config, cls, count, names", [
    (AnalogSGDConfig(device=ASYMMETRIC), DifferentialSGD, 2, {"main", "reference"}),
    (TikiTakaConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC), TikiTaka, 4, {"A_main", "A_ref", "C_main", "C_ref"}),
    (SHDConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC), SHD, 3, {"A_main", "A_ref", "C_main"}),
], ids=["sgd", "tiki-taka", "shd"])
def test_arrays_per_weight_and_zero_serial_operations(config, cls, count, names):
    algorithm = build_algorithm(config, 4, 5, seed=3)
    assert isinstance(algorithm, cls)
    assert set(algorithm.arrays()) == names and len(algorithm.arrays()) == count
    generator = torch.Generator().manual_seed(0)
    for _ in range(7):
        x = torch.randn(3, 5, generator=generator)
        d = torch.randn(3, 4, generator=generator)
        algorithm.forward(x)
        algorithm.backward(d)
        algorithm.update(x, d, 0.05)
    account = algorithm.operations()
    assert account["arrays_per_weight"] == count
    assert account["serial_operations"] == 0
    assert all(a["serial_operations"] == 0 for a in account["arrays"].values())
    assert account["updates"] == 7
    assert account["totals"]["parallel_updates"] >= 7 * 3  # one per sample, whole array at once
    assert account["totals"]["forward_reads"] >= 7 * 3 and account["totals"]["backward_reads"] == 7 * 3


def test_shd_reads_core_against_the_auxiliary_reference():
    algorithm = build_algorithm(SHDConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC), 2, 3)
    assert algorithm.c_main.reference is algorithm.a_ref
    before = algorithm.weight.clone()
    algorithm.a_ref.program(algorithm.a_ref.conductance + 0.1)
    assert torch.allclose(algorithm.weight, before - 0.1, atol=1e-6)
    assert torch.allclose(algorithm.auxiliary_weight, -0.1 * torch.ones(2, 3), atol=1e-6)


# -- calibration ---------------------------------------------------------------------------------


def biased_device():
    """Soft bounds with a 20 % up/down imbalance: symmetry point u·b/(2 − u) = 0.1111 (b = 1)."""
    return SoftBoundsDevice(dw_min=0.001, w_max=1.0, w_min=-1.0, up_down=0.2)


def test_ideal_calibration_zeroes_a_and_c_at_the_symmetry_points():
    algorithm = build_algorithm(TikiTakaConfig(device_a=biased_device(), device_c=biased_device()), 3, 3)
    expected = 0.2 / (2 - 0.2)
    assert torch.allclose(algorithm.a_ref.conductance, torch.full((3, 3), expected), atol=1e-5)
    assert torch.allclose(algorithm.c_ref.conductance, torch.full((3, 3), expected), atol=1e-5)
    assert torch.all(algorithm.auxiliary_weight == 0) and torch.all(algorithm.weight == 0)


def test_pulse_calibration_finds_the_symmetry_point():
    # 1000 pairs of alternating pulses: the distance to w* shrinks as (1 − c)^(2·pairs), c = Δw/b.
    config = SHDConfig(device_a=biased_device(), device_c=ASYMMETRIC, calibration="pulses", calibration_pairs=3000)
    algorithm = build_algorithm(config, 2, 2)
    expected = 0.2 / (2 - 0.2)
    # residual ≈ e^{−2·3000·0.0009}·w* plus the half-step alternation amplitude (≤ Δw)
    assert torch.allclose(algorithm.a_ref.conductance, torch.full((2, 2), expected), atol=0.01)
    assert torch.all(algorithm.weight == 0)


def test_programming_error_has_the_requested_spread():
    error = 0.05
    config = AnalogSGDConfig(device=ASYMMETRIC, reference="symmetry-point", programming_error=error)
    algorithm = build_algorithm(config, 100, 100, seed=1)
    w = algorithm.weight
    # W = G_main − G_ref = −N(0, error²): with n = 10⁴ the std of the sample std is error/√(2n) = 0.7 %
    assert abs(float(w.std()) / error - 1) < 5 * (1 / math.sqrt(2 * w.numel()))
    assert abs(float(w.mean())) < 5 * error / math.sqrt(w.numel())


def test_symmetric_device_without_symmetry_point_keeps_its_reference():
    algorithm = build_algorithm(AnalogSGDConfig(device=SYMMETRIC, reference="symmetry-point"), 2, 2)
    assert torch.all(torch.isfinite(algorithm.weight)) and torch.all(algorithm.weight == 0)


# -- training --------------------------------------------------------------------------------------


def test_sgd_on_a_symmetric_device_converges_to_the_target():
    """Linear regression y = W* x with exact targets on constant-step devices.

    E[ΔW] = −η (W − W*) E[x xᵀ] = −η (W − W*)/3 for x ~ U(−1, 1): the error shrinks by e^{−η t/3}
    (η = 0.1, 1000 steps: e^{−33}; early updates are capped at BL pulses); what remains is the pulse granularity: near W* the expected
    pulse count η|δ x|/Δw_min ≪ 1, so each weight random-walks by single steps of Δw_min = 1e-3
    around W*, a few steps wide.
    """
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(3, 4, generator=generator) - 0.5
    config = AnalogSGDConfig(device=SYMMETRIC, update=UpdateConfig(strategy="trains", bl=31))
    algorithm = build_algorithm(config, 3, 4, seed=0)
    start = float((algorithm.weight - target).abs().max())
    for _ in range(1000):
        x = 2 * torch.rand(1, 4, generator=generator) - 1
        d = algorithm.forward(x) - x @ target.T
        algorithm.update(x, d, 0.1)
    error = float((algorithm.weight - target).abs().max())
    assert error < 10 * SYMMETRIC.dw_min < 0.05 * start


def test_transfer_happens_every_tau_updates_and_cycles_the_columns():
    config = SHDConfig(device_a=SYMMETRIC, device_c=SYMMETRIC, transfer_every=3, update=FLOAT_UPDATE,
                       transfer_update=FLOAT_UPDATE)
    algorithm = build_algorithm(config, 2, 3)
    x, d = torch.ones(1, 3), torch.ones(1, 2)
    for k in range(1, 13):
        algorithm.update(x, d, 0.01)
        assert algorithm.transfer_count == k // 3
        assert algorithm.column_pointer == (k // 3) % 3
    assert algorithm.operations()["transfers"] == 4


@pytest.mark.parametrize("config_class", [TikiTakaConfig, SHDConfig])
@pytest.mark.parametrize("columns", [1, 2])
def test_transfer_adds_eta_c_times_the_read_column_of_a(config_class, columns):
    """Steps IV–V with an exact (floating-point) write: C[:, j] += η_C·A[:, j] for the read columns."""
    config = config_class(device_a=SYMMETRIC, device_c=SYMMETRIC, columns_per_transfer=columns,
                          transfer_update=FLOAT_UPDATE)
    algorithm = build_algorithm(config, 2, 3, seed=1)
    a_values = torch.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
    algorithm.a_main.set_weight(a_values)
    expected_order = [[0, 1], [2, 0], [1, 2]] if columns == 2 else [[0], [1], [2]]
    for columns_read in expected_order:
        before = algorithm.core_weight.clone()
        algorithm.transfer(0.5)
        change = algorithm.core_weight - before
        expected = torch.zeros(2, 3)
        expected[:, columns_read] = 0.5 * a_values[:, columns_read]
        assert torch.allclose(change, expected, atol=1e-6)


def test_gamma_makes_the_visible_weight_gamma_a_plus_c():
    config = SHDConfig(device_a=SYMMETRIC, device_c=SYMMETRIC, gamma=0.5)
    algorithm = build_algorithm(config, 2, 2)
    algorithm.a_main.set_weight(torch.tensor([[0.2, -0.2], [0.0, 0.4]]))
    target = torch.tensor([[0.1, 0.3], [-0.5, 0.0]])
    algorithm.set_weight(target)
    assert torch.allclose(algorithm.weight, target, atol=1e-6)
    assert torch.allclose(algorithm.core_weight, target - 0.5 * algorithm.auxiliary_weight, atol=1e-6)
    x = torch.tensor([[1.0, 2.0]])
    assert torch.allclose(algorithm.forward(x), x @ target.T, atol=1e-6)
    d = torch.tensor([[1.0, -1.0]])
    assert torch.allclose(algorithm.backward(d), d @ target, atol=1e-6)


def test_gradient_goes_to_a_not_c():
    config = TikiTakaConfig(device_a=SYMMETRIC, device_c=SYMMETRIC, fast_lr=0.5, transfer_every=1000,
                            update=FLOAT_UPDATE)
    algorithm = build_algorithm(config, 2, 2)
    x, d = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.2, -0.4]])
    algorithm.update(x, d, 0.1)
    assert torch.allclose(algorithm.auxiliary_weight, -0.05 * d.T @ x, atol=1e-7)
    assert torch.all(algorithm.core_weight == 0)


@pytest.mark.parametrize("make", [
    lambda: AnalogSGDConfig(device=ASYMMETRIC, forward_io=IOConfig(out_noise=0.05)),
    lambda: TikiTakaConfig(device_a=ASYMMETRIC, device_c=LinearStepDevice(gamma_up=0.3, gamma_down=0.5,
                           dw_min_std=0.3, dw_min_dtod=0.2), transfer_io=IOConfig(out_noise=0.02),
                           transfer_every=2, columns_per_transfer=2),
    lambda: SHDConfig(device_a=SoftBoundsDevice(dw_min_std=0.3, dw_min_dtod=0.3), device_c=ASYMMETRIC,
                      transfer_io=IOConfig(out_noise=0.02), update=UpdateConfig(strategy="trains"), transfer_every=3),
], ids=["sgd", "tiki-taka", "shd"])
def test_state_dict_round_trip_continues_identically(make):
    config = make()
    generator = torch.Generator().manual_seed(5)
    inputs = [(torch.randn(2, 3, generator=generator), torch.randn(2, 4, generator=generator)) for _ in range(12)]

    def train(algorithm, batch):
        outputs = []
        for x, d in batch:
            outputs.append(algorithm.forward(x))
            algorithm.update(x, d, 0.05)
        return outputs

    original = build_algorithm(config, 4, 3, seed=11)
    train(original, inputs[:5])
    state = copy.deepcopy(original.state_dict())
    expected = train(original, inputs[5:])
    resumed = build_algorithm(config, 4, 3, seed=99)  # different seed: everything must come from the state
    resumed.load_state_dict(state)
    got = train(resumed, inputs[5:])
    for a, b in zip(expected, got):
        assert torch.equal(a, b)
    assert torch.equal(original.weight, resumed.weight)
    for name, array in original.arrays().items():
        assert torch.equal(array.conductance, resumed.arrays()[name].conductance)
    assert original.operations() == resumed.operations()


def test_load_state_dict_rejects_other_algorithms_and_shapes():
    sgd = build_algorithm(AnalogSGDConfig(), 2, 2)
    shd = build_algorithm(SHDConfig(), 2, 2)
    with pytest.raises(ConfigError, match="algorithm"):
        shd.load_state_dict(sgd.state_dict())
    with pytest.raises(ConfigError, match="shape"):
        build_algorithm(AnalogSGDConfig(), 3, 2).load_state_dict(sgd.state_dict())


def test_update_rejects_a_negative_learning_rate():
    algorithm = build_algorithm(SHDConfig(), 2, 2)
    with pytest.raises(ConfigError, match="lr"):
        algorithm.update(torch.ones(1, 2), torch.ones(1, 2), -0.1)
    assert algorithm.update_count == 0
