"""Continuum theory (paper Eqs. 1–4): Gaussian averages, device responses, fixed points, oscillator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analogtrain.devices import ConstantStepDevice, LinearStepDevice, SoftBoundsDevice
from analogtrain.theory import folded_normal_mean, negative_part_mean, nominal_response, positive_part_mean
from analogtrain.theory import sgd, shd

SOFT = SoftBoundsDevice(dw_min=0.001, w_max=1.0, w_min=-1.0)


# -- Gaussian averages ------------------------------------------------------------------------


@pytest.mark.parametrize("mu, sigma", [(0.0, 0.1), (0.05, 0.1), (-0.3, 0.1), (0.2, 1.0)])
def test_folded_normal_mean_matches_monte_carlo(mu, sigma):
    samples = mu + sigma * np.random.default_rng(0).standard_normal(400_000)
    error = samples.std() / math.sqrt(samples.size)
    assert abs(folded_normal_mean(mu, sigma) - np.abs(samples).mean()) < 5 * error
    assert abs(positive_part_mean(mu, sigma) - np.maximum(samples, 0).mean()) < 5 * error
    assert abs(negative_part_mean(mu, sigma) - np.maximum(-samples, 0).mean()) < 5 * error


def test_folded_normal_limits_and_identities():
    assert folded_normal_mean(0.0, 0.1) == pytest.approx(0.1 * math.sqrt(2 / math.pi))
    assert folded_normal_mean(-0.3, 0.0) == pytest.approx(0.3)
    assert folded_normal_mean(5.0, 0.1) == pytest.approx(5.0)
    mu = np.linspace(-1, 1, 11)
    assert np.allclose(positive_part_mean(mu, 0.3) - negative_part_mean(mu, 0.3), mu)
    assert np.allclose(positive_part_mean(mu, 0.3) + negative_part_mean(mu, 0.3), folded_normal_mean(mu, 0.3))


# -- device responses -----------------------------------------------------------------------------


def test_soft_bounds_response_and_kappa():
    r = nominal_response(SoftBoundsDevice(dw_min=0.002, w_max=0.5, w_min=-0.5, dw_min_dtod=0.3, w_max_dtod=0.2))
    w = np.linspace(-0.4, 0.4, 9)
    assert np.allclose(r.up(w), 0.002 * (1 - w / 0.5))
    assert np.allclose(r.down(w), 0.002 * (1 + w / 0.5))
    assert r.symmetry_point == pytest.approx(0.0, abs=1e-9)
    assert r.kappa() == pytest.approx(1 / 0.5)


def test_imbalanced_soft_bounds_symmetry_point():
    r = nominal_response(SoftBoundsDevice(dw_min=0.001, w_max=1.0, w_min=-1.0, up_down=0.2))
    assert r.symmetry_point == pytest.approx(0.2 / (2 - 0.2), rel=1e-6)


def test_linear_step_kappa_is_gamma_over_b():
    r = nominal_response(LinearStepDevice(dw_min=0.001, w_max=2.0, w_min=-2.0, gamma_up=0.5, gamma_down=0.5))
    assert r.kappa() == pytest.approx(0.5 / 2.0)


# -- SGD (Eqs. 1–2) -------------------------------------------------------------------------------------


def test_pulse_drift_of_soft_bounds_is_paper_eq2():
    """Counting pulses on Δw± = Δw(1 ∓ w/b) gives exactly −η(w − w₀) − ηκE|g + ε|(w − w_sym), κ = 1/b."""
    r = nominal_response(SOFT)
    w = np.linspace(-0.9, 0.9, 19)
    assert np.allclose(sgd.pulse_drift(w, 0.6, 0.1, 0.02, r), sgd.eq2_drift(w, 0.6, 0.1, 0.02, 1.0, 0.0), atol=1e-12)


def test_symmetric_device_drift_is_eq1():
    r = nominal_response(ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0))
    w = np.linspace(-0.9, 0.9, 7)
    assert np.allclose(sgd.pulse_drift(w, 0.3, 0.2, 0.05, r), sgd.eq1_drift(w, 0.3, 0.05), atol=1e-12)
    assert sgd.fixed_point(0.3, 0.2, response=r) == 0.3


@pytest.mark.parametrize("w0", [-0.8, -0.3, 0.2, 0.7])
def test_fixed_point_lies_between_optimum_and_symmetry_point(w0):
    r = nominal_response(SOFT)
    point = sgd.fixed_point(w0, 0.1, response=r)
    assert abs(float(sgd.pulse_drift(point, w0, 0.1, 1.0, r))) < 1e-10
    assert 0 < (point - 0.0) / (w0 - 0.0) < 1  # strictly between G_sym = 0 and G₀
    assert sgd.fixed_point(w0, 0.1, kappa=1.0, w_sym=0.0) == pytest.approx(point, abs=1e-9)


def test_fixed_point_approximation_when_residual_is_small():
    """With |w − w₀| ≪ σ, E|g + ε| ≈ σ√(2/π) and the fixed point is (w₀ + κ′w_sym)/(1 + κ′)."""
    # residual/σ ≈ 0.06, so E|g + ε| exceeds σ√(2/π) by a factor 1 + (g/σ)²/2 ≈ 1.002
    exact = sgd.fixed_point(0.05, 0.5, kappa=1.0, w_sym=-0.05)
    approx = sgd.fixed_point_approx(0.05, -0.05, 1.0, 0.5)
    assert exact - 0.05 == pytest.approx(approx - 0.05, rel=5e-3)
    # ... and a poor one when the residual is comparable to σ (the reason for the exact mean):
    # there E|g + ε| > σ√(2/π) and the approximation underestimates the residual by over 20 %
    exact = sgd.fixed_point(0.8, 0.02, kappa=1.0, w_sym=0.0)
    approx = sgd.fixed_point_approx(0.8, 0.0, 1.0, 0.02)
    assert abs(approx - 0.8) < 0.8 * abs(exact - 0.8)


def test_integrated_mean_equation_reaches_the_fixed_point():
    r = nominal_response(SOFT)
    t, w = sgd.integrate_sgd(0.0, 0.6, 0.1, 0.02, 2000, response=r)
    assert t[-1] == 2000
    assert w[-1] == pytest.approx(sgd.fixed_point(0.6, 0.1, response=r), abs=1e-6)
    # the mean equation relaxes without overshoot: w approaches the fixed point from below
    assert np.all(np.diff(w) >= -1e-9)


def test_stationary_std_of_eq1():
    assert sgd.stationary_std(0.02, 0.1) == pytest.approx(math.sqrt(0.02 * 0.01 / (2 - 0.02)))


# -- SHD (Eqs. 3–4) -------------------------------------------------------------------------------------


def test_natural_frequency_and_period():
    assert shd.natural_frequency(0.02, 0.02) == pytest.approx(0.02)
    assert shd.natural_frequency(0.04, 0.01, transfer_every=2, columns=2) == pytest.approx(0.01)
    assert shd.natural_period(0.02, 0.02) == pytest.approx(2 * math.pi / 0.02)


def test_symmetric_shd_conserves_energy_and_oscillates_at_omega0():
    r = nominal_response(ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0))
    ode = shd.integrate_shd(c_init=-0.2, c0=0.1, sigma=0.1, eta_a=0.02, eta_c=0.01, steps=3000,
                            response_a=r, response_c=r, a_ref=0.0, c_ref=0.0, a_main_init=0.0)
    kinetic, potential = shd.energy(ode["A"], ode["C"], 0.1, 0.02, 0.01)
    total = kinetic + potential
    assert np.max(np.abs(total / total[0] - 1)) < 1e-3
    period = shd.crossing_period(ode["t"], ode["C"] - 0.1)
    assert period == pytest.approx(shd.natural_period(0.02, 0.01), rel=0.01)


def test_asymmetric_shd_decays_at_the_predicted_damping():
    """Small amplitude (|C − C₀| ≪ σ): amplitude ∝ e^{−ct/2}, c = η_A κ_A σ√(2/π)."""
    soft, sym = nominal_response(SOFT), nominal_response(ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0))
    sigma, eta = 0.2, 0.02
    ode = shd.integrate_shd(c_init=-0.01, c0=0.0, sigma=sigma, eta_a=eta, eta_c=eta, steps=4000,
                            response_a=soft, response_c=sym, a_ref=0.0, c_ref=0.0)
    fit = shd.fit_damped_oscillation(ode["t"], ode["C"], eta)
    predicted = 0.5 * shd.damping(eta, 1.0, sigma * math.sqrt(2 / math.pi))
    assert fit["decay"] == pytest.approx(predicted, rel=0.03)
    assert fit["omega"] == pytest.approx(math.sqrt(eta * eta - predicted**2), rel=0.01)


def test_reference_offset_biases_the_stationary_core_weight():
    """With A_ref = A_sym + δ_r the mean equations settle at C − C₀ = −κ_A E|g + ε| δ_r."""
    soft, sym = nominal_response(SOFT), nominal_response(ConstantStepDevice(dw_min=0.001, w_max=1.0, w_min=-1.0))
    offset, sigma = 0.2, 0.1
    ode = shd.integrate_shd(c_init=0.0, c0=0.0, sigma=sigma, eta_a=0.05, eta_c=0.05, steps=8000,
                            response_a=soft, response_c=sym, a_ref=offset, c_ref=0.0, a_main_init=offset)
    bias = ode["C"][-1]
    expected = shd.reference_bias(1.0, folded_normal_mean(bias, sigma), offset)
    assert bias == pytest.approx(expected, rel=0.02)
    assert abs(ode["A"][-1]) < 1e-4


def test_crossing_period_and_fit_of_synthetic_signals():
    t = np.arange(5000.0)
    assert shd.crossing_period(t, np.cos(2 * math.pi * t / 250.0)) == pytest.approx(250.0, rel=1e-3)
    noisy = np.cos(2 * math.pi * t / 250.0) + 0.05 * np.random.default_rng(1).standard_normal(t.size)
    assert shd.crossing_period(t, noisy, hysteresis=0.3) == pytest.approx(250.0, rel=0.01)
    signal = 0.3 * np.exp(-1e-3 * t) * np.cos(0.03 * t + 0.4)
    fit = shd.fit_damped_oscillation(t, signal, 0.028)
    assert fit["decay"] == pytest.approx(1e-3, rel=1e-3) and fit["omega"] == pytest.approx(0.03, rel=1e-4)
    assert fit["amplitude"] == pytest.approx(0.3, rel=1e-3)
