"""The successor algorithms: TTv2, c-TTv2, AGAD, residual learning, mixed precision (issue 15).

Hand-computed steps use devices without variation or noise (constant steps of Δw), so a count
write of n pulses changes a weight by exactly n·Δw (float32: tolerances of a few ulp); the
numbers are chosen away from the truncation boundaries (|H/Δw| never within 10⁻³ of an integer).
"""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import yaml

from analogtrain.algorithms import (
    AGADConfig,
    AlgorithmConfig,
    ChoppedTTv2Config,
    MixedPrecision,
    MixedPrecisionConfig,
    ResidualLearning,
    ResidualLearningConfig,
    TikiTakaConfig,
    TTv2Config,
    algorithm_names,
    algorithm_preset,
    algorithm_presets,
    build_algorithm,
)
from analogtrain.crossbar import IOConfig, UpdateConfig
from analogtrain.devices import ConstantStepDevice, SoftBoundsDevice
from analogtrain.errors import ConfigError

STEP = 0.1
EXACT = ConstantStepDevice(dw_min=STEP, w_max=1.0, w_min=-1.0)  # n pulses: exactly n·Δw
FINE = ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)
ASYMMETRIC = SoftBoundsDevice(dw_min=0.01, w_max=1.0, w_min=-1.0)
NOISY = SoftBoundsDevice(dw_min=0.01, dw_min_dtod=0.3, dw_min_std=0.3, up_down_dtod=0.05)
FLOAT_UPDATE = UpdateConfig(strategy="none")
ATOL = 1e-6

NEW_CONFIGS = [
    TTv2Config(device_a=ASYMMETRIC, device_c=ASYMMETRIC, transfer_every=2, transfer_update=UpdateConfig(bl=3)),
    ChoppedTTv2Config(device_a=ASYMMETRIC, device_c=ASYMMETRIC, in_chop_prob=0.3),
    AGADConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC, in_chop_prob=0.5, tail_weight=2.0, significance=0.5),
    ResidualLearningConfig(device_a=ASYMMETRIC, device_c=ASYMMETRIC, gamma=0.3),
    MixedPrecisionConfig(device=ASYMMETRIC, granularity=0.02, transfer_every=2),
]


# -- configs ----------------------------------------------------------------------------------


def test_new_algorithms_are_registered():
    assert set(algorithm_names()) >= {"ttv2", "c-ttv2", "agad", "residual-learning", "mixed-precision"}


@pytest.mark.parametrize("config", NEW_CONFIGS, ids=lambda c: c.algorithm)
def test_config_round_trips_through_json_and_yaml(config):
    data = json.loads(config.to_json())
    assert data["algorithm"] == config.algorithm
    assert AlgorithmConfig.from_dict_polymorphic(data) == config
    assert AlgorithmConfig.from_dict_polymorphic(yaml.safe_load(config.to_yaml())) == config


@pytest.mark.parametrize("cls, field, value, fragment", [
    (TTv2Config, "transfer_every", 0, "transfer_every"),
    (ChoppedTTv2Config, "in_chop_prob", 0.0, r"in_chop_prob must be in \(0.0, 1.0\]"),
    (ChoppedTTv2Config, "in_chop_prob", 1.5, "in_chop_prob"),
    (ChoppedTTv2Config, "gamma", 0.2, "gamma must be 0"),
    (AGADConfig, "tail_weight", 0.5, r"tail_weight must be in \[1.0"),
    (AGADConfig, "significance", -1.0, "significance"),
    (ResidualLearningConfig, "gamma", 0.0, r"gamma must be in \(0.0"),
    (MixedPrecisionConfig, "granularity", -0.1, "granularity"),
    (MixedPrecisionConfig, "transfer_every", 0, "transfer_every"),
    (MixedPrecisionConfig, "reference", "middle", "reference"),
])
def test_invalid_parameters_name_the_parameter_and_range(cls, field, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        cls(**{field: value})


def test_presets_build_every_algorithm():
    assert set(algorithm_presets()) >= {"ttv2", "c-ttv2", "agad", "residual-learning", "mixed-precision"}
    for name in algorithm_presets():
        config = algorithm_preset(name, ASYMMETRIC)
        assert config.algorithm == name
        build_algorithm(config, 2, 3)
    assert algorithm_preset("agad", transfer_every=3).transfer_every == 3
    with pytest.raises(ConfigError, match="unknown algorithm preset"):
        algorithm_preset("adam")


# -- accounting -------------------------------------------------------------------------------


@pytest.mark.parametrize("config, count", [(c, n) for c, n in zip(NEW_CONFIGS, (4, 4, 4, 4, 2))],
                         ids=lambda c: getattr(c, "algorithm", ""))
def test_operation_accounts(config, count):
    algorithm = build_algorithm(config, 4, 5, seed=3)
    assert len(algorithm.arrays()) == count == algorithm.operations()["arrays_per_weight"]
    generator = torch.Generator().manual_seed(0)
    for _ in range(8):
        x, d = torch.randn(3, 5, generator=generator), torch.randn(3, 4, generator=generator)
        algorithm.forward(x)
        algorithm.backward(d)
        algorithm.update(x, d, 0.5)
    account = algorithm.operations()
    read = "main" if isinstance(algorithm, MixedPrecision) else "C_main"
    assert account["updates"] == 8 and account["arrays"][read]["backward_reads"] == 8 * 3
    if isinstance(algorithm, MixedPrecision):
        # every programmed device is one serial operation; nothing is a parallel update
        assert account["serial_operations"] == account["devices_programmed"] > 0
        assert account["totals"]["parallel_updates"] == 0
        assert account["digital_macs"] == 8 * 3 * 4 * 5
        assert account["programming_passes"] == 4
    else:
        assert account["serial_operations"] == 0
        assert all(a["serial_operations"] == 0 for a in account["arrays"].values())
        assert account["arrays"]["A_main"]["parallel_updates"] == 8 * 3
        assert account["transfers"] == 8 // config.transfer_every


# -- TTv2 ---------------------------------------------------------------------------------------


def ttv2(cls=TTv2Config, bl=2, **fields):
    config = cls(device_a=EXACT, device_c=EXACT, update=FLOAT_UPDATE, transfer_update=UpdateConfig(bl=bl), **fields)
    return build_algorithm(config, 3, 1, seed=0)


def test_ttv2_buffers_reads_and_writes_whole_pulses():
    """H += η_C·A u; n = trunc(H/Δw) (|n| ≤ BL) pulses to C; H −= n·Δw. By hand, Δw = 0.1, η_C = 0.5:

    A u = (0.45, −0.25, 0.05):  H = (0.225, −0.125, 0.025) → n = (2, −1, 0), H = (0.025, −0.025, 0.025)
    again:                      H = (0.25, −0.15, 0.05)    → n = (2, −1, 0), H = (0.05, −0.05, 0.05)
    with A u = (0.9, 0, 0):     H = (0.5, −0.05, 0.05)     → n = 5 capped at BL = 2, H = (0.3, …)
    """
    algorithm = ttv2()
    algorithm.a_main.set_weight(torch.tensor([[0.45], [-0.25], [0.05]]))
    algorithm.transfer(0.5)
    assert torch.allclose(algorithm.buffer, torch.tensor([[0.025], [-0.025], [0.025]]), atol=ATOL)
    assert torch.allclose(algorithm.core_weight, torch.tensor([[0.2], [-0.1], [0.0]]), atol=ATOL)
    algorithm.transfer(0.5)
    assert torch.allclose(algorithm.buffer, torch.tensor([[0.05], [-0.05], [0.05]]), atol=ATOL)
    assert torch.allclose(algorithm.core_weight, torch.tensor([[0.4], [-0.2], [0.0]]), atol=ATOL)
    assert algorithm.c_main.operations.device_pulses == 6
    algorithm.a_main.set_weight(torch.tensor([[0.9], [0.0], [0.0]]))
    algorithm.transfer(0.5)
    assert torch.allclose(algorithm.core_weight, torch.tensor([[0.6], [-0.2], [0.0]]), atol=ATOL)
    assert torch.allclose(algorithm.buffer, torch.tensor([[0.3], [-0.05], [0.05]]), atol=ATOL)
    assert algorithm.transfer_count == 3 and algorithm.transfer_writes == 3


def test_ttv2_gradient_goes_to_a_and_reads_see_c_only():
    config = TTv2Config(device_a=FINE, device_c=EXACT, update=FLOAT_UPDATE, fast_lr=0.5, transfer_every=100)
    algorithm = build_algorithm(config, 2, 2)
    algorithm.c_main.set_weight(torch.tensor([[0.2, 0.0], [0.0, -0.1]]))
    x, d = torch.tensor([[1.0, 0.5]]), torch.tensor([[0.2, -0.4]])
    algorithm.update(x, d, 0.1)
    assert torch.allclose(algorithm.auxiliary_weight, -0.05 * d.T @ x, atol=ATOL)
    assert torch.equal(algorithm.weight, algorithm.core_weight)
    assert torch.allclose(algorithm.forward(x), x @ algorithm.core_weight.T, atol=ATOL)


def test_ttv2_transfers_every_tau_updates_in_a_column_cycle():
    config = TTv2Config(device_a=FINE, device_c=EXACT, update=FLOAT_UPDATE, transfer_every=2)
    algorithm = build_algorithm(config, 2, 3)
    for k in range(1, 13):
        algorithm.update(torch.ones(1, 3), torch.ones(1, 2), 0.01)
        assert algorithm.transfer_count == k // 2 and algorithm.column_pointer == (k // 2) % 3


# -- c-TTv2 -------------------------------------------------------------------------------------


def test_chopper_flips_the_sign_of_the_gradient_written_to_a():
    config = ChoppedTTv2Config(device_a=FINE, device_c=EXACT, update=FLOAT_UPDATE, transfer_every=100)
    algorithm = build_algorithm(config, 2, 2)
    algorithm.chopper = torch.tensor([1.0, -1.0])
    x, d = torch.tensor([[1.0, 0.5]]), torch.tensor([[0.2, -0.4]])
    algorithm.update(x, d, 0.1)
    assert torch.allclose(algorithm.auxiliary_weight, -0.1 * d.T @ (x * torch.tensor([1.0, -1.0])), atol=ATOL)


def test_chopper_multiplies_the_read_added_to_the_buffer():
    algorithm = ttv2(ChoppedTTv2Config, in_chop_prob=1.0, in_chop_random=False)  # flips after every read
    algorithm.a_main.set_weight(torch.tensor([[0.03], [0.01], [-0.02]]))
    algorithm.transfer(1.0)
    assert torch.allclose(algorithm.buffer, torch.tensor([[0.03], [0.01], [-0.02]]), atol=ATOL)
    assert float(algorithm.chopper[0]) == -1.0
    algorithm.transfer(1.0)
    assert torch.allclose(algorithm.buffer, torch.zeros(3, 1), atol=ATOL)
    assert float(algorithm.chopper[0]) == 1.0 and algorithm.chopper_flips == 2


def test_regular_choppers_cancel_a_constant_reference_offset_that_ttv2_integrates():
    """A = o (the reference missed A's symmetry point by o = 0.035, no gradient). TTv2 transfers
    η_C·o per read: after 10 reads C = 0.3, H = 0.05 (= 10·0.035 − 3·Δw). c-TTv2 with a chopper
    flipping after every read adds +o, −o, …: H ∈ {0.035, 0} and C never moves."""
    offset = torch.full((3, 1), 0.035)
    plain = ttv2(bl=5)
    chopped = ttv2(ChoppedTTv2Config, bl=5, in_chop_prob=1.0, in_chop_random=False)
    for algorithm in (plain, chopped):
        algorithm.a_main.set_weight(offset)
        for _ in range(10):
            algorithm.transfer(1.0)
    assert torch.allclose(plain.core_weight, torch.full((3, 1), 0.3), atol=ATOL)
    assert torch.allclose(plain.buffer, torch.full((3, 1), 0.05), atol=ATOL)
    assert torch.all(chopped.core_weight == 0) and torch.allclose(chopped.buffer, torch.zeros(3, 1), atol=ATOL)


def test_random_choppers_cancel_the_offset_on_average():
    """Choppers flipping with probability p = 0.5 per read are independent fair signs, so after
    N = 400 reads the offset reaches C + H as o·Σc, standard deviation o·√N = 20·o (TTv2: N·o = 400·o).
    The flips are Binomial(N, p): mean 200, sd 10."""
    o, n = 0.003, 400
    algorithm = build_algorithm(ChoppedTTv2Config(device_a=EXACT, device_c=FINE, in_chop_prob=0.5), 64, 1, seed=2)
    algorithm.a_main.set_weight(torch.full((64, 1), o))
    for _ in range(n):
        algorithm.transfer(1.0)
    transferred = algorithm.core_weight + algorithm.buffer  # everything the reads put into H (exact for FINE steps)
    assert abs(algorithm.chopper_flips - n * 0.5) < 5 * math.sqrt(n * 0.25)
    assert float(transferred.abs().max()) < 5 * o * math.sqrt(n)  # identical for all rows (one chopper)
    assert float(transferred.abs().max()) < 0.1 * n * o


# -- AGAD ---------------------------------------------------------------------------------------


def agad(**fields):
    return ttv2(AGADConfig, bl=5, in_chop_prob=0.5, **fields)  # regular choppers, period 2 reads


def test_agad_reference_is_the_mean_of_the_previous_chopper_period():
    """Period P = 2, tail_weight 1 (plain mean), η_C = 1. Reads v1, v2 (c = +1): no reference yet,
    H stays 0; flip: p = (v1 + v2)/2, c = −1. Reads v3, v4: H += −(v − p) each; flip: p = (v3 + v4)/2,
    c = +1. Read v5: H += +(v5 − p)."""
    algorithm = agad()
    reads = [0.02, 0.04, 0.01, -0.01, 0.03]
    expected_h, past = 0.0, None
    for k, value in enumerate(reads):
        algorithm.a_main.set_weight(torch.full((3, 1), value))
        algorithm.transfer(1.0)
        if k == 1:
            past = (reads[0] + reads[1]) / 2
        elif k in (2, 3):
            expected_h += -(value - past)
            if k == 3:
                past = (reads[2] + reads[3]) / 2
        elif k == 4:
            expected_h += value - past
        assert torch.allclose(algorithm.buffer, torch.full((3, 1), expected_h), atol=ATOL), k
        if past is not None:
            assert torch.allclose(algorithm.past_mean, torch.full((3, 1), past), atol=ATOL), k
    assert bool(algorithm.has_reference[0]) and float(algorithm.chopper[0]) == 1.0 and algorithm.chopper_flips == 2
    assert torch.all(algorithm.core_weight == 0)  # |H| stayed below Δw = 0.1


def test_agad_tail_weight_weights_the_end_of_the_period():
    """tail_weight 2, period 4 reads: β = 1, 1, 2/3, 1/2 → m = v2 after two reads, then
    m ← m + 2/3 (v3 − m), m ← m + 1/2 (v4 − m)."""
    algorithm = ttv2(AGADConfig, bl=5, in_chop_prob=0.25, tail_weight=2.0)
    reads = [0.5, 0.2, 0.8, 0.1]
    for value in reads:
        algorithm.a_main.set_weight(torch.full((3, 1), value))
        algorithm.transfer(1.0)
    m = reads[1]
    m += 2 / 3 * (reads[2] - m)
    m += 1 / 2 * (reads[3] - m)
    assert torch.allclose(algorithm.past_mean, torch.full((3, 1), m), atol=ATOL)


def test_agad_never_lets_a_constant_offset_into_the_buffer():
    algorithm = agad()
    algorithm.a_main.set_weight(torch.full((3, 1), 0.37))  # a large offset: many Δw
    for _ in range(20):
        algorithm.transfer(1.0)
    assert torch.all(algorithm.buffer == 0) and torch.all(algorithm.core_weight == 0)


def test_agad_skips_insignificant_differences():
    """significance 0.3 × Δw_A (0.1) = 0.03: a difference of 0.02 adds nothing, one of 0.05 adds."""
    algorithm = agad(significance=0.3)
    for value in (0.0, 0.0, 0.02):
        algorithm.a_main.set_weight(torch.tensor([[value], [value], [value]]))
        algorithm.transfer(1.0)
    assert torch.all(algorithm.buffer == 0)
    algorithm.a_main.set_weight(torch.tensor([[0.05], [0.0], [0.01]]))
    algorithm.transfer(1.0)  # p is still 0 (the period of the 0.02 read has not ended)
    assert torch.allclose(algorithm.buffer, torch.tensor([[-0.05], [0.0], [0.0]]), atol=ATOL)


def test_agad_leaves_the_auxiliary_reference_uncalibrated():
    biased = SoftBoundsDevice(dw_min=0.01, w_max=1.0, w_min=-1.0, up_down=0.2)  # w* = 0.2/1.8
    algorithm = build_algorithm(AGADConfig(device_a=biased, device_c=biased), 2, 2)
    assert torch.all(algorithm.a_ref.conductance == 0)
    assert torch.allclose(algorithm.c_ref.conductance, torch.full((2, 2), 0.2 / 1.8), atol=1e-5)


# -- residual learning ----------------------------------------------------------------------------


def test_residual_learning_takes_the_gradient_at_gamma_a_plus_c():
    """Linear regression, loss ½|W̄x − y|²: δ = W̄x − y with W̄ = γA + C, and A ← A − η δ xᵀ.
    By hand (γ = 0.5, η = 0.1), in the comments below; δ at C alone would be 0.7 − 1 = −0.3."""
    config = ResidualLearningConfig(device_a=FINE, device_c=FINE, gamma=0.5, update=FLOAT_UPDATE, transfer_every=100)
    algorithm = build_algorithm(config, 1, 2)
    algorithm.a_main.set_weight(torch.tensor([[0.2, -0.4]]))
    algorithm.c_main.set_weight(torch.tensor([[0.1, 0.3]]))
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0]])
    # W̄ = 0.5·(0.2, −0.4) + (0.1, 0.3) = (0.2, 0.1); W̄x = 0.4; δ = 0.4 − 1 = −0.6
    prediction = algorithm.forward(x)
    assert torch.allclose(prediction, torch.tensor([[0.4]]), atol=ATOL)
    algorithm.update(x, prediction - y, 0.1)
    # A ← A − 0.1·(−0.6)·(1, 2) = (0.26, −0.28); C untouched; W̄ = (0.23, 0.16)
    assert torch.allclose(algorithm.auxiliary_weight, torch.tensor([[0.26, -0.28]]), atol=ATOL)
    assert torch.allclose(algorithm.core_weight, torch.tensor([[0.1, 0.3]]), atol=ATOL)
    assert torch.allclose(algorithm.weight, torch.tensor([[0.23, 0.16]]), atol=ATOL)


def test_residual_learning_is_tiki_taka_with_gamma():
    config = ResidualLearningConfig(device_a=NOISY, device_c=NOISY, gamma=0.4, transfer_every=2)
    residual = build_algorithm(config, 4, 3, seed=5)
    tiki_taka = build_algorithm(config.as_tiki_taka(), 4, 3, seed=5)
    assert isinstance(residual, ResidualLearning)
    assert tiki_taka.config == TikiTakaConfig(device_a=NOISY, device_c=NOISY, gamma=0.4, transfer_every=2)
    generator = torch.Generator().manual_seed(1)
    for _ in range(6):
        x, d = torch.randn(2, 3, generator=generator), torch.randn(2, 4, generator=generator)
        assert torch.equal(residual.forward(x), tiki_taka.forward(x))
        residual.update(x, d, 0.1)
        tiki_taka.update(x, d, 0.1)
    assert torch.equal(residual.weight, tiki_taka.weight)


# -- mixed precision ------------------------------------------------------------------------------


def test_mixed_precision_programs_devices_whose_accumulator_crosses_epsilon():
    """χ −= η δᵀx; n = trunc(χ/ε) pulses per device, χ −= n ε. By hand (ε = Δw = 0.1, η = 1):
    x = (1, 0.5), δ = (−0.26, 0.13): χ = [[0.26, 0.13], [−0.13, −0.065]] → n = [[2, 1], [−1, 0]]
    (3 devices), χ = [[0.06, 0.03], [−0.03, −0.065]]; again: χ = [[0.32, 0.16], [−0.16, −0.13]]
    → n = [[3, 1], [−1, −1]] (4 devices), χ = [[0.02, 0.06], [−0.06, −0.03]]."""
    algorithm = build_algorithm(MixedPrecisionConfig(device=EXACT), 2, 2)
    x, d = torch.tensor([[1.0, 0.5]]), torch.tensor([[-0.26, 0.13]])
    algorithm.update(x, d, 1.0)
    assert torch.allclose(algorithm.weight, torch.tensor([[0.2, 0.1], [-0.1, 0.0]]), atol=ATOL)
    assert torch.allclose(algorithm.accumulator, torch.tensor([[0.06, 0.03], [-0.03, -0.065]]), atol=ATOL)
    assert algorithm.operations()["serial_operations"] == 3
    algorithm.update(x, d, 1.0)
    assert torch.allclose(algorithm.weight, torch.tensor([[0.5, 0.2], [-0.2, -0.1]]), atol=ATOL)
    assert torch.allclose(algorithm.accumulator, torch.tensor([[0.02, 0.06], [-0.06, -0.03]]), atol=ATOL)
    account = algorithm.operations()
    assert account["serial_operations"] == 7 and account["arrays"]["main"]["device_pulses"] == 10
    assert account["arrays"]["reference"]["serial_operations"] == 0


def test_mixed_precision_granularity_and_transfer_every():
    config = MixedPrecisionConfig(device=EXACT, granularity=0.25, transfer_every=2)
    algorithm = build_algorithm(config, 1, 1)
    algorithm.update(torch.tensor([[1.0]]), torch.tensor([[-0.3]]), 1.0)
    assert torch.all(algorithm.weight == 0) and algorithm.operations()["serial_operations"] == 0
    algorithm.update(torch.tensor([[1.0]]), torch.tensor([[-0.3]]), 1.0)
    # χ = 0.6 → n = trunc(0.6/0.25) = 2 pulses of the device (Δw = 0.1 each), χ = 0.6 − 0.5 = 0.1
    assert torch.allclose(algorithm.weight, torch.tensor([[0.2]]), atol=ATOL)
    assert torch.allclose(algorithm.accumulator, torch.tensor([[0.1]]), atol=ATOL)


# -- exact resume -----------------------------------------------------------------------------------


RESUME_CONFIGS = [
    TTv2Config(device_a=NOISY, device_c=NOISY, transfer_io=IOConfig(out_noise=0.02), transfer_every=2,
               columns_per_transfer=2, transfer_update=UpdateConfig(bl=2)),
    ChoppedTTv2Config(device_a=NOISY, device_c=NOISY, transfer_io=IOConfig(out_noise=0.02), in_chop_prob=0.3),
    AGADConfig(device_a=NOISY, device_c=NOISY, transfer_io=IOConfig(out_noise=0.02), in_chop_prob=0.5,
               tail_weight=2.0, significance=0.1),
    ResidualLearningConfig(device_a=NOISY, device_c=NOISY, forward_io=IOConfig(out_noise=0.05)),
    MixedPrecisionConfig(device=NOISY, forward_io=IOConfig(out_noise=0.05), reference="symmetry-point"),
]


@pytest.mark.parametrize("config", RESUME_CONFIGS, ids=lambda c: c.algorithm)
def test_state_dict_round_trip_continues_bit_identically(config):
    generator = torch.Generator().manual_seed(5)
    inputs = [(torch.randn(2, 3, generator=generator), torch.randn(2, 4, generator=generator)) for _ in range(16)]

    def train(algorithm, batch):
        outputs = []
        for x, d in batch:
            outputs.append(algorithm.forward(x))
            algorithm.update(x, d, 0.3)
        return outputs

    original = build_algorithm(config, 4, 3, seed=11)
    train(original, inputs[:7])
    state = copy.deepcopy(original.state_dict())
    expected = train(original, inputs[7:])
    resumed = build_algorithm(config, 4, 3, seed=99)  # another seed: everything must come from the state
    resumed.load_state_dict(state)
    got = train(resumed, inputs[7:])
    for a, b in zip(expected, got):
        assert torch.equal(a, b)
    assert torch.equal(original.weight, resumed.weight)
    for name, array in original.arrays().items():
        assert torch.equal(array.conductance, resumed.arrays()[name].conductance)
    assert original.operations() == resumed.operations()
    for name in ("buffer", "chopper", "past_mean", "running_mean", "accumulator"):
        if hasattr(original, name):
            assert torch.equal(getattr(original, name), getattr(resumed, name)), name


@pytest.mark.cuda
@pytest.mark.parametrize("config", RESUME_CONFIGS, ids=lambda c: c.algorithm)
def test_runs_on_cuda(config):
    algorithm = build_algorithm(config, 4, 3, seed=1, torch_device="cuda")
    x, d = torch.randn(2, 3, device="cuda"), torch.randn(2, 4, device="cuda")
    for _ in range(4):
        algorithm.forward(x)
        algorithm.update(x, d, 0.3)
    assert algorithm.weight.device.type == "cuda" and bool(torch.isfinite(algorithm.weight).all())
