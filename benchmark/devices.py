"""Device selection shared by methods and metrics."""

from __future__ import annotations

import torch

from benchmark.errors import ConfigError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; an explicit CUDA request without CUDA is an error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"--device {device!r}: not a device; use cpu, cuda, cuda:N or auto") from exc
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"--device {device!r}: unsupported device type; use cpu, cuda, cuda:N or auto")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev


def autocast(device: torch.device, dtype: str | None):
    """An autocast context for ``dtype`` in {None, 'fp16', 'bf16'} (a no-op for None)."""
    if dtype in (None, "fp32", "none"):
        return torch.autocast(device_type=device.type, enabled=False)
    table = {"fp16": torch.float16, "bf16": torch.bfloat16}
    if dtype not in table:
        raise ConfigError(f"unknown precision {dtype!r}; use fp32, fp16 or bf16")
    return torch.autocast(device_type=device.type, dtype=table[dtype])
