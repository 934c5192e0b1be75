"""Reading ``params.yaml`` (the active profile) and the per-profile files under ``profiles/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchmark.assets import REPO_ROOT
from benchmark.errors import ConfigError

PROFILES_DIR = REPO_ROOT / "profiles"
DEFAULT_PARAMS = REPO_ROOT / "params.yaml"


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    """The parameters of the active profile."""
    path = Path(path or DEFAULT_PARAMS)
    if not path.is_file():
        raise ConfigError(f"parameter file not found: {path}")
    params = yaml.safe_load(path.read_text()) or {}
    for key in ("profile", "seed", "resolution", "methods", "references", "splits"):
        if key not in params:
            raise ConfigError(f"{path}: missing top-level key {key!r}")
    return params


def method_params(params: dict[str, Any], method: str) -> dict[str, Any]:
    """The ``method_cfg.<method>`` section without the ``base`` key (empty when the method has no parameters)."""
    section = dict((params.get("method_cfg") or {}).get(method) or {})
    section.pop("base", None)
    return section


def base_method(params: dict[str, Any], method: str) -> str:
    """The registered method behind a pipeline entry.

    A *variant* is a ``method_cfg`` section with a ``base`` key naming a registered method, typically written
    with a YAML merge of the base section (``osasis-spn0.5: {<<: *osasis, base: osasis, spn_weight: 0.5}``), so
    it can sit in the ``methods`` list (and the DVC matrix) like any method, e.g. for the SPN ablation.
    """
    section = (params.get("method_cfg") or {}).get(method) or {}
    return str(section.get("base", method))


def profile_file(name: str) -> Path:
    path = PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
        raise ConfigError(f"unknown profile {name!r}; known profiles: {known}")
    return path


def use_profile(name: str, params_path: str | Path | None = None) -> bool:
    """Copy ``profiles/<name>.yaml`` to the active parameter file; True when it changed."""
    source = profile_file(name).read_bytes()
    target = Path(params_path or DEFAULT_PARAMS)
    if target.is_file() and target.read_bytes() == source:
        return False
    from benchmark.imageio import atomic_write_bytes

    atomic_write_bytes(target, source)
    return True
