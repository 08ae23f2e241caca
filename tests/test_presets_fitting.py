"""Presets (published devices, lookup by name) and fitting of device models to pulse responses."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from analogtrain.devices import (
    PRESETS,
    AbruptDevice,
    ExpStepDevice,
    LinearStepDevice,
    PulsedDevice,
    SoftBoundsDevice,
    available_devices,
    describe,
    device_models,
    fit_device,
    get_device,
    load_pulse_data,
    plot_fit,
)
from analogtrain.devices.fitting import MIN_POINTS, infer_directions
from analogtrain.errors import ConfigError

MODEL_NAMES = ["constant-step", "soft-bounds", "linear-step", "power-step", "exp-step", "piecewise", "abrupt"]
PUBLISHED = ["idealized", "gokmen-vlasov", "ecram-mo", "reram-soft-bounds", "reram-exp", "capacitor", "pcm",
             "soft-bounds-paper"]

# --------------------------------------------------------------------------------------------
# Presets


def test_every_name_builds_and_is_described():
    names = available_devices()
    assert set(PUBLISHED + MODEL_NAMES) <= set(names)
    for name in names:
        device = get_device(name)
        assert isinstance(device, PulsedDevice)
        line = describe(name)
        assert line.startswith(f"{name}: ") and "\n" not in line
        assert device.model in line or "defaults" in line
        assert name in PRESETS or name in device_models()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_names_give_model_defaults(name):
    assert get_device(name) == device_models()[name]()


# The published numbers, as documented in each preset's docstring (paper-notes §8.4 and the
# papers cited there).
DOCUMENTED = {
    "idealized": ("constant-step", dict(dw_min=0.0002, w_max=1.0, w_min=-1.0, dw_min_dtod=0.3, dw_min_std=0.3,
                                        w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.0)),
    "gokmen-vlasov": ("constant-step", dict(dw_min=0.001, w_max=0.6, w_min=-0.6, dw_min_dtod=0.3,
                                            dw_min_std=0.3, w_max_dtod=0.3, w_min_dtod=0.3,
                                            up_down_dtod=0.01)),
    "ecram-mo": ("linear-step", dict(dw_min=2.8214e-4, w_max=1.1714, w_min=-0.8286, gamma_up=0.4152,
                                     gamma_down=0.7342, gamma_dtod=0.05, dw_min_std=2.0, dw_min_dtod=0.1,
                                     w_max_dtod=0.05, w_min_dtod=0.05, up_down_dtod=0.01)),
    "reram-soft-bounds": ("soft-bounds", dict(dw_min=0.002, w_max=1.25, w_min=-0.75, dw_min_dtod=0.3,
                                              w_max_dtod=0.24, w_min_dtod=0.40, up_down_dtod=0.01)),
    "reram-exp": ("exp-step", dict(dw_min=0.00135, up_down=0.259359, w_max=1.0, w_min=-1.0, a=-0.5, b=-0.5,
                                   gamma_up=5.0, gamma_down=5.0, a_up=-1.18445, a_down=-0.081404,
                                   dw_min_dtod=0.2, w_max_dtod=0.3, w_min_dtod=0.3, up_down_dtod=0.05)),
    "capacitor": ("linear-step", dict(dw_min=0.005, w_max=1.0, w_min=-1.0, gamma_up=0.05, gamma_down=0.05,
                                      dw_min_dtod=0.1, w_max_dtod=0.07, w_min_dtod=0.07, up_down_dtod=0.06,
                                      dw_min_std=0.3)),
    "pcm": ("abrupt", dict(w_min=0.0, w_max=2.0, dw_min=0.01, dw_min_std=0.6)),
    "soft-bounds-paper": ("soft-bounds", dict(dw_min=0.001, w_max=1.0, w_min=-1.0, dw_min_dtod=0.0,
                                              dw_min_std=0.0, w_max_dtod=0.0, w_min_dtod=0.0,
                                              up_down_dtod=0.0, up_down=0.0)),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_presets_hold_documented_numbers(name):
    model, values = DOCUMENTED[name]
    device = get_device(name)
    assert device.model == model
    for key, value in values.items():
        assert getattr(device, key) == pytest.approx(value), key


def test_idealized_has_ten_thousand_states():
    assert get_device("idealized").states == pytest.approx(10000)


def test_ecram_and_reram_soft_bounds_have_symmetry_point_zero():
    # Nominal devices: both steps equal dw_min at w = 0, so w* = 0 (range shifted onto it).
    for name in ("ecram-mo", "reram-soft-bounds"):
        nominal = get_device(name, dw_min_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0, up_down_dtod=0.0,
                             **({"gamma_dtod": 0.0} if name == "ecram-mo" else {}))
        p = nominal.sample((3,), torch.Generator().manual_seed(0))
        assert float(nominal.symmetry_point(p).abs().max()) < 1e-6


def test_reram_exp_nominal_shape():
    """Gong et al. fit: z = −w/2 − 1/2 on ±1; up factor 1 + 1.18445·e^{5z}, down 1 + 0.081404·e^{−5z}."""
    nominal = get_device("reram-exp", dw_min_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0, up_down_dtod=0.0)
    p = nominal.sample((1,), torch.Generator().manual_seed(0))
    for w in (-1.0, -0.5, 0.0, 0.5, 1.0):
        z = -0.5 * w - 0.5
        x = torch.tensor([w])
        up = 0.00135 * (1 + 1.18445 * math.exp(5 * z))
        down = 0.00135 * (1 - 0.259359) * (1 + 0.081404 * math.exp(-5 * z))
        assert float(nominal.step_up(x, p)) == pytest.approx(up, rel=1e-5)
        assert float(nominal.step_down(x, p)) == pytest.approx(down, rel=1e-5)
    # Up wins at −0.5, down at 0: the symmetry point lies between.
    point = float(nominal.symmetry_point(p))
    assert -0.5 < point < 0.0


def test_soft_bounds_paper_devices_are_identical():
    device = get_device("soft-bounds-paper")
    p = device.sample((50,), torch.Generator().manual_seed(0))
    for key in ("dw_up", "dw_down", "w_max", "w_min"):
        assert bool((p[key] == p[key][0]).all())


def test_overrides_are_validated():
    device = get_device("ecram-mo", dw_min_std=0.5)
    assert isinstance(device, LinearStepDevice) and device.dw_min_std == 0.5
    assert device.gamma_up == pytest.approx(0.4152)
    with pytest.raises(ConfigError, match="dw_min"):
        get_device("ecram-mo", dw_min=-1.0)
    with pytest.raises(ConfigError, match="no_such_parameter"):
        get_device("capacitor", no_such_parameter=1.0)
    with pytest.raises(ConfigError, match="gamma_up"):
        get_device("soft-bounds", gamma_up=0.5)  # not a soft-bounds parameter


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        get_device("reram")
    for name in ("reram-exp", "pcm", "soft-bounds", "abrupt"):
        assert name in str(info.value)
    with pytest.raises(ConfigError):
        describe("reram")


@pytest.mark.parametrize("name", PUBLISHED)
def test_presets_round_trip_through_json_and_by_name(name):
    device = get_device(name)
    again = PulsedDevice.from_dict_polymorphic(json.loads(device.to_json()))
    assert again == device
    assert PulsedDevice.from_dict_polymorphic(name) == device


def test_preset_with_overrides_from_dict():
    device = PulsedDevice.from_dict_polymorphic({"preset": "pcm", "reset_std": 0.05})
    assert isinstance(device, AbruptDevice) and device.reset_std == 0.05 and device.w_max == 2.0
    with pytest.raises(ConfigError, match="reset_std"):
        PulsedDevice.from_dict_polymorphic({"preset": "pcm", "reset_std": -1.0})


# --------------------------------------------------------------------------------------------
# Fitting

NOISE = 0.002  # read noise of the synthetic measurements (weight units)


def measure(device: PulsedDevice, sweeps, start=0.0, noise=NOISE, seed=0):
    """Readings after each pulse of sweeps (signed lengths), by the device's own pulse(), + noise."""
    p = device.sample((1,), torch.Generator().manual_seed(0), dtype=torch.float64)
    w = device.clip(torch.tensor([start], dtype=torch.float64), p)
    readings, directions = [float(w)], [0.0]
    for sweep in sweeps:
        sign = 1.0 if sweep > 0 else -1.0
        for _ in range(abs(sweep)):
            w = device.pulse(w, p, torch.tensor([sign], dtype=torch.float64))
            readings.append(float(w))
            directions.append(sign)
    rng = np.random.default_rng(seed)
    values = np.asarray(readings) + noise * rng.standard_normal(len(readings))
    return np.arange(len(values), dtype=float), values, np.asarray(directions)


def check_recovered(result, truth: dict, pulses: int):
    """Each parameter within 4 standard errors (linearised least squares, read noise only)."""
    for name, value in truth.items():
        error, se = result.parameters[name] - value, result.stderr[name]
        assert math.isfinite(se) and se > 0, name
        assert abs(error) < 4 * se, (name, result.parameters[name], value, se)
        assert se < 0.05 * max(abs(value), 0.05), (name, se)  # the data determine it well
    # RMS residual ≈ read noise: relative sd of an RMS of n normals ≈ 1/√(2n).
    assert abs(result.residual / NOISE - 1) < 4 / math.sqrt(2 * pulses) + len(result.parameters) / pulses


def test_fit_soft_bounds_recovers_parameters():
    truth = dict(dw_min=0.03, w_max=1.1, w_min=-0.9, up_down=0.1)
    device = SoftBoundsDevice(**truth)
    pulse, values, direction = measure(device, (100, -100, 100, -100))
    result = fit_device((pulse, values, direction), "soft-bounds")
    assert result.model_name == "soft-bounds" and result.success
    check_recovered(result, truth, len(pulse) - 1)
    assert isinstance(result.device, SoftBoundsDevice) and result.device.dw_min == result.parameters["dw_min"]


def test_fit_linear_step_recovers_parameters():
    # Sweeps long enough to reach both hard bounds (γ < 1: the step does not vanish there).
    truth = dict(dw_min=0.04, w_max=0.8, w_min=-1.0, up_down=-0.1, gamma_up=0.5, gamma_down=0.3)
    device = LinearStepDevice(**truth)
    pulse, values, direction = measure(device, (100, -100, 100, -100))
    result = fit_device({"pulse": pulse, "conductance": values, "direction": direction}, "linear-step")
    check_recovered(result, truth, len(pulse) - 1)


def test_directions_inferred_without_column(tmp_path):
    truth = dict(dw_min=0.03, w_max=1.1, w_min=-0.9, up_down=0.1)
    pulse, values, direction = measure(SoftBoundsDevice(**truth), (-80, 100, -100, 100), seed=3)
    inferred = infer_directions(values)
    agree = np.mean(inferred[1:] == direction[1:])
    assert agree > 0.99, agree
    path = tmp_path / "sweeps.csv"
    path.write_text("pulse,conductance\n" + "".join(f"{int(a)},{b:.6f}\n" for a, b in zip(pulse, values)))
    result = fit_device(path, "soft-bounds")
    assert result.data.inferred
    for name, value in truth.items():
        assert abs(result.parameters[name] - value) < 5 * result.stderr[name] + 0.01 * abs(value), name


def test_fit_abrupt_unidirectional(tmp_path):
    truth = dict(dw_min=0.04, w_max=1.5, w_min=0.0)
    pulse, values, direction = measure(AbruptDevice(**truth), (100, -1, 100, -1, 100))
    path = tmp_path / "pcm.csv"
    rows = "".join(f"{int(a)},{b:.6f},{int(c)}\n" for a, b, c in zip(pulse, values, direction))
    path.write_text("pulse,conductance,direction\n" + rows)
    result = fit_device(path, "abrupt")
    check_recovered(result, {"dw_min": 0.04, "w_max": 1.5}, len(pulse) - 1)
    assert abs(result.parameters["w_min"]) < 4 * result.stderr["w_min"] + 1e-9


def test_plot_fit_writes_png(tmp_path):
    pulse, values, direction = measure(SoftBoundsDevice(dw_min=0.03, w_max=1.0, w_min=-1.0), (60, -60))
    result = fit_device((pulse, values, direction), "soft-bounds")
    out = plot_fit(result, (pulse, values, direction), tmp_path / "plots" / "fit.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_bad_pulse_data(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        fit_device(tmp_path / "missing.csv", "soft-bounds")
    missing = tmp_path / "missing_column.csv"
    missing.write_text("pulse,value\n" + "".join(f"{i},{i * 0.01}\n" for i in range(20)))
    with pytest.raises(ConfigError, match="conductance"):
        fit_device(missing, "soft-bounds")
    short = tmp_path / "short.csv"
    short.write_text("pulse,conductance\n" + "".join(f"{i},{i * 0.01}\n" for i in range(MIN_POINTS - 1)))
    with pytest.raises(ConfigError, match="at least"):
        fit_device(short, "soft-bounds")
    text = tmp_path / "text.csv"
    text.write_text("pulse,conductance\n" + "".join(f"{i},{i * 0.01}\n" for i in range(20)) + "21,abc\n")
    with pytest.raises(ConfigError, match="not a number"):
        fit_device(text, "soft-bounds")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        fit_device(empty, "soft-bounds")
    pulse = np.arange(20.0)
    with pytest.raises(ConfigError, match="increasing"):
        load_pulse_data((pulse[::-1], np.linspace(0, 1, 20)))
    with pytest.raises(ConfigError, match="direction"):
        load_pulse_data((pulse, np.linspace(0, 1, 20), np.full(20, 2.0)))
    with pytest.raises(ConfigError, match="finite"):
        load_pulse_data((pulse, np.full(20, np.nan)))
    with pytest.raises(ConfigError, match="do not change"):
        load_pulse_data((pulse, np.zeros(20)))
    with pytest.raises(ConfigError, match="unknown device"):
        fit_device((pulse, np.linspace(0, 1, 20), np.ones(20)), "no-such-model")


def test_exp_step_fit_keeps_shape_and_runs():
    """Models without extra fitted parameters fit the steps and bounds with their shape fixed."""
    truth = dict(dw_min=0.04, w_max=1.0, w_min=-1.0, up_down=0.05)
    pulse, values, direction = measure(ExpStepDevice(**truth), (80, -80, 80, -80))
    result = fit_device((pulse, values, direction), "exp-step")
    assert result.device.a == ExpStepDevice().a
    check_recovered(result, truth, len(pulse) - 1)
