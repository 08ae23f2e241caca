"""Memory estimates, checked before large tensors are allocated (issue 16).

An analog array of ``out × in`` crosspoints holds its conductances and one tensor per
per-device parameter (device-to-device variation), plus a few working tensors of the same shape
(weight cache, update temporaries). :func:`array_bytes` estimates::

    out · in · (1 + n_device_parameters + WORKING_COPIES) · bytes_per_element

and :func:`check_allocation` refuses (ConfigError stating the estimate) anything above the
memory available: ``/proc/meminfo``'s ``MemAvailable`` (else ``os.sysconf`` physical pages,
else psutil), the free memory of a CUDA device, or the cap in the environment variable
``ANALOGTRAIN_MAX_BYTES`` (bytes) when it is set and lower.
"""

from __future__ import annotations

import os

from analogtrain.errors import ConfigError

#: Tensors of an array's shape besides the conductances and the device parameters.
WORKING_COPIES = 2

#: Estimates below this many bytes are always allowed (without reading the free memory).
SMALL = 64 * 2**20

#: Environment variable: an upper bound (bytes) on any one estimated allocation.
CAP_VARIABLE = "ANALOGTRAIN_MAX_BYTES"


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def host_available_bytes() -> int | None:
    """Memory available to a new allocation on this machine (None if it cannot be read)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        pass
    try:  # pragma: no cover - only without /proc and sysconf
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # pragma: no cover
        return None


def available_bytes(torch_device=None) -> int | None:
    """Free memory where tensors go (CUDA: the device's free memory), lowered by the cap."""
    limit = None
    if torch_device is not None and getattr(torch_device, "type", str(torch_device).split(":")[0]) == "cuda":
        try:
            import torch

            limit = int(torch.cuda.mem_get_info(torch.device(torch_device))[0])
        except Exception:
            limit = None
    else:
        limit = host_available_bytes()
    cap = os.environ.get(CAP_VARIABLE, "").strip()
    if cap:
        try:
            value = int(float(cap))
        except ValueError:
            raise ConfigError(f"{CAP_VARIABLE} must be a number of bytes, got {cap!r}") from None
        limit = value if limit is None else min(limit, value)
    return limit


def device_parameter_count(device) -> int:
    """Number of per-crosspoint parameter tensors a device model samples (drawn on a 1×1 array)."""
    import torch

    try:
        params = device.sample((1, 1), torch.Generator().manual_seed(0), torch.device("cpu"), torch.float32)
        return len(params)
    except Exception:
        return 8


def array_bytes(out_features: int, in_features: int, n_parameters: int, element_size: int = 4,
                arrays: int = 1) -> int:
    """Estimated bytes of ``arrays`` arrays of ``out × in`` with ``n_parameters`` device parameters."""
    return int(out_features) * int(in_features) * (1 + n_parameters + WORKING_COPIES) * element_size * arrays


def check_allocation(what: str, estimate: int, torch_device=None) -> None:
    """ConfigError if ``estimate`` bytes exceed the memory available (see the module docstring).

    Estimates below :data:`SMALL` are not checked (nothing to read for the many small arrays)."""
    if estimate < SMALL and not os.environ.get(CAP_VARIABLE, "").strip():
        return
    limit = available_bytes(torch_device)
    if limit is not None and estimate > limit:
        raise ConfigError(
            f"{what} would need about {format_bytes(estimate)} ({estimate} bytes), more than the "
            f"{format_bytes(limit)} available (set {CAP_VARIABLE} to change the cap); use smaller sizes"
        )
