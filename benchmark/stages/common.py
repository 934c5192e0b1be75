"""Helpers shared by the stage modules: resolved run settings from params and CLI overrides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.params import load_params, method_params


@dataclass(frozen=True)
class RunSettings:
    """Seed, device and resolution for a stage, after CLI overrides."""

    params: dict[str, Any]
    seed: int
    device: str
    resolution: int


def settings(params_path: Path | None, device: str | None = None, seed: int | None = None) -> RunSettings:
    params = load_params(params_path)
    return RunSettings(
        params=params,
        seed=int(params["seed"] if seed is None else seed),
        device=str(device or params.get("device", "cpu")),
        resolution=int(params["resolution"]),
    )


def method_section(run: RunSettings, method: str) -> dict[str, Any]:
    """The method's params without runner-level keys (batch size)."""
    section = method_params(run.params, method)
    section.pop("batch_size", None)
    return section


def batch_size_for(run: RunSettings, method: str, override: int | None = None) -> int:
    if override:
        return override
    return int(method_params(run.params, method).get("batch_size", 8))
