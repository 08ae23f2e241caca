"""The ``moments`` strategy: each device's pulse counts drawn from their exact mean and variance.

Over a mini-batch, the number of coincidences device (i, j) receives in one direction is a sum
of independent Bernoulli trials (one per time slot and sample) with probabilities r = p_i·q_j:
a Poisson-binomial count N with mean λ = Σr and variance v = λ − Σr². This module draws N per
device from a distribution with exactly that mean and (nearly) that variance:

* λ < 10, or v < 2 (probabilities near 1, dense pulses): Binomial(m, λ/m) with m = λ²/Σr² (so
  its variance λ − λ²/m equals v), drawn by inverting its CDF with one uniform per device (the
  Poisson limit when m is large). A fractional m is handled as a mixture of ⌊m⌋ and ⌊m⌋ + 1
  trials with the same mean and variance; for λ/m > 1/2 the number of misses m − N is drawn
  instead (no underflow of P(N = 0) near saturation). Where m < ⌈λ⌉ (nearly saturated, v < 1)
  ⌈λ⌉ trials are used and the variance is slightly above v;
* otherwise a normal approximation, stochastically rounded: ⌊λ + √(v − 1/6)·ξ + U⌋, whose mean is
  exactly λ and whose variance is v (the rounding adds 1/6 on average when the spread is ≳ 1).

The means λ and the sums Σr² of every device and direction are four matrix products over the batch
(:func:`~analogtrain.crossbar.update.probabilities.expected_pulse_counts`). Each device's counts
have the reference distribution's mean and variance, but devices are drawn independently: the
correlations between devices that share a row or column train are dropped (the ``trains``
strategy keeps them).
"""

from __future__ import annotations

import torch

from analogtrain.crossbar.update.probabilities import PulseProbabilities, expected_pulse_counts

LARGE_MEAN = 10.0
#: Below this variance the rounded normal cannot match v; the binomial draw is used instead.
MIN_NORMAL_VARIANCE = 2.0
_MAX_TRIALS = 1e6


def moment_counts(prob: PulseProbabilities, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_up, n_down) of every device (out, in): up counts drawn first, then down counts."""
    mean_up, squares_up, mean_down, squares_down = expected_pulse_counts(prob)
    return sample_counts(mean_up, squares_up, generator), sample_counts(mean_down, squares_down, generator)


def sample_counts(
    mean: torch.Tensor,
    sum_squares: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Integer counts (as floats) with E[N] = mean and Var[N] ≈ mean − sum_squares."""
    uniform = torch.rand(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    large = (mean >= LARGE_MEAN) & (mean - sum_squares >= MIN_NORMAL_VARIANCE)
    if bool(large.all()):
        return _normal_counts(mean, sum_squares, uniform, generator)
    small_mean = torch.where(large, torch.zeros_like(mean), mean) if bool(large.any()) else mean
    counts = _binomial_counts(small_mean, sum_squares, uniform)
    if bool(large.any()):
        counts = torch.where(large, _normal_counts(mean, sum_squares, uniform, generator), counts)
    return counts


def _normal_counts(mean, sum_squares, uniform, generator):
    normal = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    spread = (mean - sum_squares).sub_(1.0 / 6.0).clamp_(min=0.0).sqrt_()
    return spread.mul_(normal).add_(mean).add_(uniform).floor_().clamp_(min=0.0)


def _binomial_counts(mean, sum_squares, uniform):
    """Inverse-CDF draw of Binomial(m, λ/m), m = λ²/Σr², one uniform per element.

    P(N = 0) = (1 − q)^m and P(N = k + 1) = P(N = k)·(m − k)/(k + 1)·q/(1 − q). The first terms
    run on the whole tensor (as many as the largest mean needs for most elements); the few
    elements whose uniform lies further in the tail continue on a compacted index set.
    """
    m = (mean * mean).div_(sum_squares.clamp(min=1e-30)).clamp_(max=_MAX_TRIALS)
    # A whole number of trials (a fractional m in the recursion biases the mean): ⌊m⌋ with
    # probability w = ⌊m⌋(⌊m⌋ + 1 − m)/m, else ⌊m⌋ + 1. Both have mean λ; the mixture's variance is
    # λ − λ²(w/⌊m⌋ + (1 − w)/(⌊m⌋ + 1)) = λ − λ²/m. The uniform picks the branch and is rescaled.
    low = torch.maximum(torch.floor(m), torch.ceil(mean)).clamp_(min=1.0)
    weight = (low * (low + 1.0 - m) / m.clamp(min=1e-30)).clamp_(0.0, 1.0)
    use_low = uniform < weight
    uniform = torch.where(use_low, uniform / weight.clamp(min=1e-30),
                          (uniform - weight) / (1.0 - weight).clamp(min=1e-30)).clamp_(0.0, 1.0 - 1e-7)
    trials = torch.where(use_low, low, low + 1.0)
    prob = (mean / trials).clamp_(max=1.0)
    # Near saturation draw the misses (trials − N ~ Binomial(trials, 1 − prob)) instead.
    flip = prob > 0.5
    prob = torch.where(flip, 1.0 - prob, prob)
    odds = prob / (1.0 - prob)
    term = torch.log1p(-prob).mul_(trials).exp_()  # P(N = 0)
    cdf = term.clone()
    counts = (uniform > cdf).to(mean.dtype)
    typical = float(mean.mean())
    full_passes = int(min(13.0, typical + 2.0 * typical**0.5 + 2.0))
    for k in range(full_passes):
        term.mul_(trials - k).mul_(odds).div_(k + 1).clamp_(min=0.0)
        cdf.add_(term)
        counts.add_(uniform > cdf)
    index = (uniform > cdf).view(-1).nonzero().squeeze(1)
    if index.numel() == 0:
        return torch.where(flip, trials - counts, counts)
    flat_counts = counts.view(-1)
    u, c, t = uniform.view(-1)[index], cdf.view(-1)[index], term.view(-1)[index]
    n, o = trials.view(-1)[index], odds.view(-1)[index]
    k = full_passes
    while index.numel() > 0 and k < 100_000:
        t = (t * (n - k) * o / (k + 1)).clamp(min=0.0)
        c = c + t
        more = (u > c) & (t > 1e-12 * c)
        flat_counts[index[more]] += 1.0
        index, u, c, t, n, o = index[more], u[more], c[more], t[more], n[more], o[more]
        k += 1
    return torch.where(flip, trials - counts, counts)
