"""Applying drawn counts to the devices: the closed-form n-pulse response of each listed device.

Each listed device gets its n⁺ up and n⁻ down pulses at once, as a random-order mix
(:meth:`~analogtrain.devices.base.PulsedDevice.apply_pulses`; closed form for the affine models,
:mod:`analogtrain.devices.affine`). The one approximation of the aggregated strategies lies here:
the order of a device's pulses within the batch is treated as random (exact to first order in the
step size; exact for one sample's pulses, which all have one sign).

:func:`apply_pulse_counts_jointly` applies the counts of several arrays of one device model in one
call — one training step of a whole network pays the fixed cost of the response once — with the
same result as one by one: either the family's compiled kernel writes each array in place
(:func:`analogtrain.devices.kernels.response_kernel`, CPU), or the listed devices of all arrays are
gathered, updated by one tensor response, and written back; each array's normal draws come from its
own generator.
"""

from __future__ import annotations

import torch

from analogtrain import compiled
from analogtrain.crossbar.update.counts import PulseCounts
from analogtrain.devices.base import DeviceParameters, NoiseSegments, PulsedDevice, randn
from analogtrain.devices.kernels import response_kernel

#: One array's job: (weights, params, counts, generator, parameters stacked as (len(params), numel)).
Job = tuple[torch.Tensor, DeviceParameters, PulseCounts, "torch.Generator | None", "torch.Tensor | None"]


def apply_pulse_counts(device: PulsedDevice, weights: torch.Tensor, params: DeviceParameters, counts: PulseCounts,
                       generator: torch.Generator | None = None, stacked: torch.Tensor | None = None) -> torch.Tensor:
    """Weights (out, in) after the pulses of ``counts`` by the tensor response; ``weights`` may be
    changed in place (use the result). ``stacked``: the parameters as one tensor (one gather)."""
    if counts.index is None:
        shape = weights.shape
        return device.apply_pulses(weights, params, counts.n_up.view(shape), counts.n_down.view(shape), generator)
    index = counts.index
    if stacked is None:
        flat = {name: value.reshape(-1).index_select(0, index) for name, value in params.items()}
    else:
        flat = dict(zip(params, stacked.index_select(1, index)))
    updated = device.apply_pulses(weights.reshape(-1).index_select(0, index), flat, counts.n_up, counts.n_down,
                                  generator)
    result = weights if weights.is_contiguous() else weights.contiguous()
    result.view(-1).index_copy_(0, index, updated)  # the untouched devices stay as they are
    return result


def apply_pulse_counts_jointly(device: PulsedDevice, jobs: list[Job], kernel: str = "auto") -> list[torch.Tensor]:
    """:func:`apply_pulse_counts` of several arrays of the same device model; returns the new
    weights of every job, in order (in place where the weights are contiguous). ``kernel``: the
    arrays' ``UpdateConfig.kernel``."""
    fast = response_kernel(device)
    if fast is not None and all(_kernel_takes(kernel, w, p, c) for w, p, c, _, _ in jobs):
        for weights, params, counts, generator, _ in jobs:
            normal = None
            if device.needs_normals(counts.n_up, counts.n_down):  # as the tensor response draws them
                normal = randn((counts.n_up.numel(),), generator, like=weights)
            fast(device, weights, counts.index, counts.n_up, counts.n_down, params, normal)
            torch.autograd.graph.increment_version(weights)  # written through NumPy: caches see the change
        return [weights for weights, *_ in jobs]
    if len(jobs) == 1 or not device.applies_jointly():
        return [apply_pulse_counts(device, w, p, c, g, s) for w, p, c, g, s in jobs]
    flat_weights, flat_params, sizes = [], [], []
    for weights, params, counts, _, stacked in jobs:
        if stacked is None:
            stacked = torch.stack([value.reshape(-1) for value in params.values()])
        if counts.index is None:
            flat_weights.append(weights.reshape(-1))
            flat_params.append(stacked)
        else:
            flat_weights.append(weights.reshape(-1).index_select(0, counts.index))
            flat_params.append(stacked.index_select(1, counts.index))
        sizes.append(counts.n_up.numel())
    names = jobs[0][1].keys()
    updated = device.apply_pulses(
        torch.cat(flat_weights), dict(zip(names, torch.cat(flat_params, dim=1))),
        torch.cat([job[2].n_up for job in jobs]), torch.cat([job[2].n_down for job in jobs]),
        NoiseSegments([(job[3], size) for job, size in zip(jobs, sizes)]),
    )
    results = []
    for (weights, _, counts, _, _), part in zip(jobs, updated.split(sizes)):
        result = weights if weights.is_contiguous() else weights.contiguous()
        if counts.index is None:
            result.view(-1).copy_(part)
        else:
            result.view(-1).index_copy_(0, counts.index, part)
        results.append(result)
    return results


def _kernel_takes(kernel: str, weights: torch.Tensor, params: DeviceParameters, counts: PulseCounts) -> bool:
    """Whether the compiled kernel may write this array: chosen, on CPU, contiguous, of one dtype,
    every parameter of the array's shape."""
    return (compiled.applies(kernel, weights, counts.n_up, counts.n_down) and weights.is_contiguous()
            and all(value.shape == weights.shape and value.dtype == weights.dtype for value in params.values()))
