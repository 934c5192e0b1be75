"""``osasis-bench dryrun``: the paper profile's pipeline at full size, with random weights, on any machine.

1. A marked workspace (:mod:`benchmark.dryrun.workspace`) receives a random-weight file in the official layout
   for every model asset of the paper profile (:mod:`benchmark.dryrun.weights`, written once per seed and reused)
   and procedural datasets at the paper's sizes (:mod:`benchmark.dryrun.datasets`).
2. They are served on a loopback HTTP server, and an overlay manifest pins them (:mod:`benchmark.dryrun.overlay`).
3. A copy of the repository gets the paper profile with only counts reduced (:mod:`benchmark.dryrun.profile`),
   and ``dvc repro`` runs there in dry-run mode: the paper fetch stage downloads and verifies every file, then the
   density split, every method of the paper profile, every paper metric, aggregation and the report run on the
   paper code path. Every product is stamped "dry run: random weights, not a result".
4. Each stage's wall time, CPU time and peak memory go into a cost table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmark.assets import CACHE_ENV, DRYRUN_ENV, REPO_ROOT, WEIGHTS_ENV
from benchmark.dryrun import costs, overlay, profile, workspace
from benchmark.dryrun.server import serve_folder
from benchmark.errors import BenchmarkError
from benchmark.imageio import atomic_write_text

#: Environment variables a dry run must not inherit (they would point stages at real weights or other caches).
CLEARED_ENV = (WEIGHTS_ENV, "OSASIS_BENCH_FEATURE_CACHE", "OSASIS_BENCH_INVERSION_CACHE", "OSASIS_BENCH_OFFLINE")


class DryRunError(BenchmarkError):
    """A dry-run stage failed, or the pipeline was not complete afterwards."""


@dataclass(frozen=True)
class DryRunResult:
    workspace: Path
    project: Path
    seconds: float
    costs: list[dict]


def _write_served_files(served: Path, base_url: str, seed: int) -> dict[str, Path]:
    from benchmark.dryrun.datasets import write_datasets
    from benchmark.dryrun.weights import MODEL_ASSETS, write_weights

    record = served / "weights.json"
    wanted = {"seed": seed, "assets": sorted(MODEL_ASSETS)}
    known = json.loads(record.read_text()) if record.is_file() else {}
    written: dict[str, Path] = {}
    if {k: known.get(k) for k in wanted} == wanted and all((served / f).is_file() for f in known["files"].values()):
        written.update({name: served / file for name, file in known["files"].items()})
    else:
        record.unlink(missing_ok=True)
        written.update(write_weights(served, seed=seed, workers=2))  # two processes: draws and writes overlap
        files = {name: path.relative_to(served).as_posix() for name, path in written.items()}
        atomic_write_text(record, json.dumps({**wanted, "files": files}, indent=1, sort_keys=True) + "\n")
    written.update(write_datasets(served, base_url=base_url, seed=seed))
    return written


def _dvc() -> list[str]:
    found = shutil.which("dvc")
    return [found] if found else [sys.executable, "-m", "dvc"]


def stage_env(ws: Path, project: Path) -> dict[str, str]:
    """The environment of the dry-run pipeline: dry-run mode, the project's code first, a private cache."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env.update({
        DRYRUN_ENV: str(ws), CACHE_ENV: str(ws / "cache"), costs.COST_LOG_ENV: str(ws / "costs.jsonl"),
        "PYTHONPATH": os.pathsep.join([str(project), *filter(None, [os.environ.get("PYTHONPATH")])]),
        # the stages' `osasis-bench` is this interpreter's, also when its environment is not activated
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), *filter(None, [os.environ.get("PATH")])]),
        "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1",
        "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
    })  # fmt: skip
    return env


def _repro(project: Path, env: dict[str, str], log: Path, *targets: str) -> None:
    with open(log, "a", encoding="utf-8") as handle:
        done = subprocess.run([*_dvc(), "repro", *targets], cwd=project, env=env, stdout=handle,
                              stderr=subprocess.STDOUT)  # fmt: skip
    if done.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        raise DryRunError(f"dry run: `dvc repro {' '.join(targets)}` failed (exit {done.returncode}); full log {log}; "
                          f"last lines:\n{tail}")  # fmt: skip


def run_dryrun(workspace_dir: Path, *, repo: Path = REPO_ROOT, seed: int = 0, keep_served: bool = False,
               overrides_file: Path | None = None) -> DryRunResult:  # fmt: skip
    """Prepare the workspace and run the dry-run pipeline; raise :class:`DryRunError` unless it completes."""
    started = time.perf_counter()
    params = profile.load_dryrun_params(repo / "profiles", overrides_file)
    ws = workspace.open_workspace(workspace_dir, repo)
    served, cache = ws / "served", ws / "cache"
    served.mkdir(exist_ok=True)
    if cache.exists():
        shutil.rmtree(cache)  # ours (inside the marked workspace): every dry run downloads again
    (ws / "costs.jsonl").unlink(missing_ok=True)
    (ws / "dvc.log").unlink(missing_ok=True)
    project = workspace.copy_project(repo, ws / "project")
    atomic_write_text(project / "params.yaml", "# osasis-bench dryrun: profiles/paper.yaml + profiles/dryrun/paper.yaml"
                      "\n" + yaml.safe_dump(params, sort_keys=False))  # fmt: skip
    env = stage_env(ws, project)
    with serve_folder(served) as base_url:
        written = _write_served_files(served, base_url, seed)
        overlay.write_overlay(ws / "manifest", base_url, written, served, repo / "data" / "assets")
        _repro(project, env, ws / "dvc.log", "fetch")
    if not keep_served:  # ~20 GB that only the fetch stage reads; written again by the next dry run
        shutil.rmtree(served)
    _repro(project, env, ws / "dvc.log")
    status = subprocess.run([*_dvc(), "status", "--json"], cwd=project, env=env, capture_output=True, text=True)
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        raise DryRunError(f"dry run: the pipeline is not up to date after `dvc repro`: {status.stdout}{status.stderr}")
    return DryRunResult(ws, project, time.perf_counter() - started, costs.read_costs(ws / "costs.jsonl"))


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_cost_table(result: DryRunResult, out: Path) -> list[Path]:
    """``out`` (JSON: machine, stamp, one row per stage) and ``out`` with ``.md`` (the Markdown table)."""
    from benchmark.runner.dvcgraph import load_graph

    rows = result.costs  # in the order the stages ran
    missing = sorted(set(load_graph(result.project).order) - {r["stage"] for r in rows})
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "threads": os.environ.get("OMP_NUM_THREADS", "default")}
    payload = {"stamp": profile.STAMP, "what": "osasis-bench dryrun: paper profile at full size, random weights, "
               "reduced counts (profiles/dryrun/paper.yaml)", "machine": machine,
               "total_seconds": round(result.seconds, 1), "stages_without_record": missing, "stages": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    md = out.with_suffix(".md")
    atomic_write_text(out, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    atomic_write_text(md, f"<!-- {profile.STAMP}; written by osasis-bench dryrun -->\n" + costs.cost_table(rows))
    return [out, md]

