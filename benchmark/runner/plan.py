"""What to run and with what: the stale stages, their resources, the work-tree checks.

Resources come from the profile (``params.yaml``) and the methods: a stage of the ``device`` kind runs on
the profile's device, so it holds exactly one GPU when the profile says ``device: cuda`` (or ``auto`` and
the executor has GPUs), or when its method declares ``device_requirement = "cuda"`` (``runner.gpu: always``
gives every such stage a GPU whatever the device, ``never`` none). Stages listed in
``runner.cpu_stages`` (fetch, aggregate, report by default) never hold a GPU. Memory and time limits per
stage group come from the optional ``runner`` section of the profile.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmark.atomic import MARKER
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.runner.dvcgraph import PipelineGraph, StageInfo

DEFAULT_RUNNER_SECTION: dict[str, Any] = {
    # auto: a stage holds a GPU when the profile's device is cuda or its method needs CUDA; always: every stage
    # outside cpu_stages holds one (code that picks its device itself); never: no stage does
    "gpu": "auto",
    "cpu_stages": ["fetch", "aggregate", "report"],
    "mem_gb": {"default": None},  # None: the cluster's default
    "time_min": {"default": 60},
}


class DirtyTreeError(BenchmarkError):
    """The work tree differs from its commit in files the pipeline reads."""


class RunnerError(BenchmarkError):
    """A DVC step the coordinator runs itself (push, restore) failed; the message names its log."""


@dataclass(frozen=True)
class Resources:
    gpus: int  # 0 or 1
    cpus: int
    mem_gb: float | None
    time_min: int


@dataclass(frozen=True)
class PlannedStage:
    name: str
    group: str
    method: str | None
    upstream: tuple[str, ...]  # upstream stages that are stale too (the rest are already up to date)
    resources: Resources
    remote_ok: bool  # can run on a worker without a shared filesystem (see worker.py)


def runner_section(params: Mapping[str, Any]) -> dict[str, Any]:
    section = {**DEFAULT_RUNNER_SECTION, **dict(params.get("runner") or {})}
    unknown = sorted(set(section) - set(DEFAULT_RUNNER_SECTION))
    if unknown:
        raise ConfigError(f"params 'runner': unknown keys {unknown}; known: {sorted(DEFAULT_RUNNER_SECTION)}")
    if section["gpu"] not in ("auto", "always", "never"):
        raise ConfigError(f"params runner.gpu must be auto, always or never, got {section['gpu']!r}")
    return section


def stage_method(stage: StageInfo, params: Mapping[str, Any]) -> str | None:
    """The method entry a matrix stage belongs to (``finetune@osasis-spn-off-aahq_1`` -> ``osasis-spn-off``)."""
    if "@" not in stage.name:
        return None
    item = stage.name.split("@", 1)[1]
    entries = [*params.get("methods", []), *((params.get("ablation") or {}).get("methods") or [])]
    matches = [m for m in entries if item == m or item.startswith(f"{m}-")]
    return max(matches, key=len) if matches else None


def method_requires_cuda(method: str, params: Mapping[str, Any]) -> bool:
    from benchmark.methods import METHODS

    base = ((params.get("method_cfg") or {}).get(method) or {}).get("base", method)
    return METHODS.get(base).device_requirement == "cuda"


def stage_resources(stage: StageInfo, params: Mapping[str, Any], gpus_available: bool) -> Resources:
    section = runner_section(params)
    mem = section["mem_gb"].get(stage.group, section["mem_gb"].get("default"))
    time_min = section["time_min"].get(stage.group, section["time_min"].get("default", 60))
    gpus = 0
    if stage.group in section["cpu_stages"] or section["gpu"] == "never":
        gpus = 0
    elif section["gpu"] == "always":
        gpus = 1
    else:
        device = str(params.get("device", "cpu"))
        method = stage_method(stage, params)
        needs_cuda = method is not None and method_requires_cuda(method, params)
        if needs_cuda or device.startswith("cuda") or (device == "auto" and gpus_available):
            gpus = 1
    return Resources(gpus=gpus, cpus=1, mem_gb=float(mem) if mem else None, time_min=int(time_min))


def build_plan(graph: PipelineGraph, stale: list[str], params: Mapping[str, Any],
               gpus_available: bool) -> list[PlannedStage]:  # fmt: skip
    """The stale stages in topological order with resources and their stale upstream."""
    stale_set = set(stale)
    plan = []
    for name in stale:
        info = graph.stages[name]
        # a worker without the shared workspace can pull only cached outputs of upstream stages
        uncached = {out for up in info.upstream for out in graph.stages[up].outs} - {
            out for up in info.upstream for out in graph.stages[up].cached_outs}
        reads_uncached = any(_overlaps(dep, out) for dep in info.deps for out in uncached)
        plan.append(PlannedStage(
            name=name, group=info.group, method=stage_method(info, params),
            upstream=tuple(up for up in info.upstream if up in stale_set),
            resources=stage_resources(info, params, gpus_available),
            remote_ok=info.run_cacheable and not reads_uncached,
        ))  # fmt: skip
    return plan


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/")


def load_params(root: Path) -> dict[str, Any]:
    path = root / "params.yaml"
    if not path.is_file():
        raise ConfigError(f"no params.yaml in {root}")
    return yaml.safe_load(path.read_text()) or {}


def plan_to_json(plan: list[PlannedStage]) -> list[dict[str, Any]]:
    return [{**asdict(stage), "resources": asdict(stage.resources)} for stage in plan]


# --- git -----------------------------------------------------------------------------------------------------


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise ConfigError(f"git {' '.join(args)} failed in {root}: {result.stderr.strip()}")
    return result.stdout


def git_commit(root: Path) -> str:
    """The commit the work tree is on (refusing a repository without one)."""
    try:
        return _git(root, "rev-parse", "--verify", "HEAD").strip()
    except ConfigError as exc:
        raise ConfigError(f"{root} has no git commit to pin the run to; commit first ({exc})") from exc


def dirty_paths(root: Path, graph: PipelineGraph) -> list[str]:
    """Changed or untracked files, except what DVC itself writes (dvc.lock, .gitignore, stage outputs) and the
    output markers stages leave in a folder that holds their outputs."""
    outs = {out.rstrip("/") for info in graph.stages.values() for out in info.outs}
    dirty = []
    for line in _git(root, "status", "--porcelain", "--untracked-files=all").splitlines():
        path = line[3:].split(" -> ")[-1].strip('"')
        if path == "dvc.lock" or Path(path).name == ".gitignore":
            continue
        if any(path == out or path.startswith(f"{out}/") for out in outs):
            continue
        parent = Path(path).parent.as_posix()
        if Path(path).name == MARKER and any(out.startswith(f"{parent}/") for out in outs):
            continue  # the suite's output marker beside a stage's outputs (e.g. reports/), written by that stage
        dirty.append(path)
    return dirty


def check_clean(root: Path, graph: PipelineGraph) -> str:
    """The commit to record; a :class:`DirtyTreeError` when sources differ from it."""
    commit = git_commit(root)
    dirty = dirty_paths(root, graph)
    if dirty:
        shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
        raise DirtyTreeError(f"the work tree has uncommitted changes ({shown}); commit or stash them so the run "
                             f"can be pinned to one commit")  # fmt: skip
    return commit
