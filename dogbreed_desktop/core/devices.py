"""The devices a person may ask for, and resolving 'auto' to a torch device once, so every caller agrees on it.

torch is imported inside the functions: the window and the CLI's `--help` list the choices without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import torch

# What `--device` and the Train tab offer: value -> how the window names it.
DEVICES = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}


class DeviceUnavailable(UserError, RuntimeError):
    """A device was asked for that this machine does not have."""


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str = "auto") -> "torch.device":
    import torch

    kind = name.split(":")[0]  # "cuda:1" names one GPU
    if kind not in DEVICES:
        raise DeviceUnavailable(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("CUDA was asked for but no CUDA GPU is usable here")
    if kind == "mps" and not _mps_available():
        raise DeviceUnavailable("MPS was asked for but is not available here")
    return torch.device(name)


def describe_device(device: "torch.device") -> str:
    import torch

    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"
