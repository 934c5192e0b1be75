"""The dry run's parameter file: the paper profile with only counts reduced, by an explicit override file.

``profiles/dryrun/paper.yaml`` is merged over ``profiles/paper.yaml``: mappings merge key by key, lists and scalars
replace, and ``key: null`` removes an entry. An override of ``method_cfg.<method>`` applies to that method's variants
too (the entries whose ``base`` is that method), since the paper profile writes them as YAML merges of the base
section. The result keeps
``profile: paper`` (the paper code path) and gains a ``dryrun`` section, whose ``stamp`` marks every product.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import ConfigError
from benchmark.params import PROFILES_DIR, check_ablation, check_entry_names

OVERRIDES_FILE = PROFILES_DIR / "dryrun" / "paper.yaml"
STAMP = "dry run: random weights, not a result"


def _merge(base: Any, override: Any, where: str) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is None:  # `key: null` removes an entry (e.g. all but one text edit)
                merged.pop(key, None)
            else:
                merged[key] = _merge(base[key], value, f"{where}.{key}") if key in base else copy.deepcopy(value)
        return merged
    if isinstance(base, dict) != isinstance(override, dict):
        raise ConfigError(f"dry-run override {where}: a mapping must override a mapping")
    return copy.deepcopy(override)


def dryrun_params(paper: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``paper`` with ``overrides`` applied (variants inherit their base's method overrides)."""
    unknown = sorted(set(overrides) - set(paper) - {"dryrun"})
    if unknown:
        raise ConfigError(f"dry-run overrides name keys the paper profile does not have: {unknown}")
    method_overrides = dict(overrides.get("method_cfg") or {})
    sections = paper.get("method_cfg") or {}
    for name, section in sections.items():
        base = (section or {}).get("base")
        if base in method_overrides and name not in method_overrides:
            method_overrides[name] = method_overrides[base]
    unknown_methods = sorted(set(method_overrides) - set(sections))
    if unknown_methods:
        raise ConfigError(f"dry-run overrides name methods the paper profile does not have: {unknown_methods}")
    params = _merge(paper, {**overrides, "method_cfg": method_overrides}, "params")
    params["profile"] = "paper"
    params["dryrun"] = {"stamp": STAMP, **(overrides.get("dryrun") or {})}
    check_entry_names(params)
    check_ablation(params)
    return params


def load_dryrun_params(profiles_dir: Path = PROFILES_DIR, overrides_file: Path | None = None) -> dict[str, Any]:
    """The dry run's parameters from the committed paper profile and override file."""
    paper = yaml.safe_load((profiles_dir / "paper.yaml").read_text())
    overrides = yaml.safe_load((overrides_file or profiles_dir / "dryrun" / "paper.yaml").read_text()) or {}
    return dryrun_params(paper, overrides)


def stamp(params: dict[str, Any]) -> str | None:
    """The dry-run stamp of a parameter set (None for a real run)."""
    section = params.get("dryrun")
    return str(section.get("stamp", STAMP)) if isinstance(section, dict) else None
