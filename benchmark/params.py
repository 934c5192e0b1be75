"""Reading ``params.yaml`` (the active profile) and the per-profile files under ``profiles/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmark.assets import DRYRUN_ENV, REPO_ROOT, dryrun_workspace
from benchmark.errors import ConfigError

PROFILES_DIR = REPO_ROOT / "profiles"
DEFAULT_PARAMS = REPO_ROOT / "params.yaml"


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    """The parameters of the active profile."""
    path = Path(path or DEFAULT_PARAMS)
    if not path.is_file():
        raise ConfigError(f"parameter file not found: {path} (pass --params, or run `osasis-bench use-profile smoke`)")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid YAML parameter file ({str(exc).splitlines()[0]})") from exc
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: a parameter file is a YAML mapping (profile: ..., seed: ..., ...)")
    for key in ("profile", "seed", "resolution", "methods", "references", "splits"):
        if key not in params:
            raise ConfigError(f"{path}: missing top-level key {key!r}")
    check_entry_names(params, path)
    check_ablation(params, path)
    check_dryrun_mode(params, path)
    return params


def check_dryrun_mode(params: dict[str, Any], path: Path | str = "params") -> None:
    """A dry-run parameter file runs only in dry-run mode, and dry-run mode only with one (random weights never
    meet a real run's parameters, nor real weights a dry run's stamp)."""
    marked = "dryrun" in params
    workspace = dryrun_workspace()
    if marked and workspace is None:
        raise ConfigError(f"{path} is a dry-run parameter file (it has a 'dryrun' section); it runs only inside "
                          f"`osasis-bench dryrun` (${DRYRUN_ENV} unset)")  # fmt: skip
    if workspace is not None and not marked:
        raise ConfigError(f"${DRYRUN_ENV} is set (dry-run mode, random weights) but {path} is not a dry-run "
                          f"parameter file; unset {DRYRUN_ENV} for a real run")  # fmt: skip


def check_entry_names(params: dict[str, Any], path: Path | str = "params") -> None:
    """Pipeline entries name DVC params (``method_cfg.<entry>``), where a dot would split the key."""
    entries = pipeline_methods(params)
    dotted = [m for m in entries if "." in str(m)]
    if dotted:
        raise ConfigError(f"{path}: method names must not contain '.' (DVC reads method_cfg.<name> as a nested "
                          f"key): {dotted}; e.g. write osasis-spn0p5 for λ=0.5")  # fmt: skip


@dataclass(frozen=True)
class Ablation:
    """The ``ablation`` section: method variants run on a few references and one split (paper Table 2, Fig. 8).

    Its cells are the ``ablation-*`` stages of ``dvc.yaml``; their results sit beside the main matrix's
    (``results/<stage>/<variant>/<reference>``) and feed Table 2 and the mixing figure, not Table 1 or the
    leaderboard.
    """

    methods: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    split: str = "low_density"


def ablation(params: dict[str, Any]) -> Ablation:
    """The profile's ablation (empty when the section is absent)."""
    section = params.get("ablation") or {}
    return Ablation(tuple(section.get("methods") or ()), tuple(section.get("references") or ()),
                    str(section.get("split", "low_density")))  # fmt: skip


def check_ablation(params: dict[str, Any], path: Path | str = "params") -> None:
    """Ablation cells must not collide with the main matrix and must reuse its references and splits."""
    abl = ablation(params)
    clash = sorted(set(abl.methods) & set(params["methods"]))
    if clash:
        raise ConfigError(f"{path}: ablation.methods repeats entries of methods (one DVC stage per output): {clash}")
    unknown = sorted(set(abl.references) - set(params["references"]))
    if unknown:
        raise ConfigError(f"{path}: ablation.references must be references of the profile; unknown: {unknown}")
    if abl.methods and abl.split not in params["splits"]:
        raise ConfigError(f"{path}: ablation.split {abl.split!r} is not one of splits {params['splits']}")


def pipeline_methods(params: dict[str, Any]) -> list[str]:
    """Every entry the pipeline runs: the main matrix's methods, then the ablation's."""
    return [*params["methods"], *ablation(params).methods]


def method_cells(params: dict[str, Any], method: str) -> tuple[list[str], list[str]]:
    """The references and splits the pipeline runs ``method`` on (main matrix or ablation)."""
    abl = ablation(params)
    if method in abl.methods:
        return list(abl.references), [abl.split]
    return list(params["references"]), list(params["splits"])


def method_params(params: dict[str, Any], method: str) -> dict[str, Any]:
    """The ``method_cfg.<method>`` section without the ``base`` key (empty when the method has no parameters)."""
    section = dict((params.get("method_cfg") or {}).get(method) or {})
    section.pop("base", None)
    return section


def base_method(params: dict[str, Any], method: str) -> str:
    """The registered method behind a pipeline entry.

    A *variant* is a ``method_cfg`` section with a ``base`` key naming a registered method, typically written
    with a YAML merge of the base section (``osasis-spn0p5: {<<: *osasis, base: osasis, spn_weight: 0.5}``), so
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
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"--params {target}: the parameter file must be a .yaml file")
    if target.is_dir() or target.is_symlink():
        raise ConfigError(f"--params {target}: not a regular file")
    if target.is_file() and target.read_bytes() == source:
        return False
    if target.is_file():
        try:
            current = yaml.safe_load(target.read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            current = None
        if not (isinstance(current, dict) and "profile" in current):
            raise ConfigError(f"--params {target} exists and is not an osasis-bench parameter file (no 'profile' "
                              "key); refusing to overwrite it")  # fmt: skip
    from benchmark.imageio import atomic_write_bytes

    atomic_write_bytes(target, source)
    return True
