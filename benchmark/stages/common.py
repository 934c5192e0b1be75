"""Helpers shared by the stage modules: resolved run settings from params and CLI overrides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.params import base_method, load_params, method_params


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
    if override is not None:
        return override
    return int(method_params(run.params, method).get("batch_size", 8))


def build_method(run: RunSettings, entry: str):
    """Instantiate a pipeline entry (a registered method or a variant) with its params section."""
    from benchmark.methods import runner

    instance = runner.build(base_method(run.params, entry), method_section(run, entry), run.device, run.seed,
                            run.resolution)  # fmt: skip
    instance.entry_name = entry
    return instance
