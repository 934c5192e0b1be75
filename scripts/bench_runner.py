"""Wall time of ``osasis-bench run`` against a serial ``dvc repro``, the runner's overhead per stage, and a
critical-path estimate for the paper matrix.

1. Builds the runner tests' tiny pipeline (``tests/runner/workspace.py``: the real ``dvc.yaml``, one method on
   two references; ``fetch`` and ``prepare`` reproduced first), copies it twice, and times on the same state a
   serial ``dvc repro`` and ``osasis-bench run --executor local --jobs 2`` (fake GPU ids 0,1). Reports the
   ratio, checks the products are byte-identical, and the runner's overhead per stage (the time from
   submitting a stage to noticing it finished, minus the time inside its ``dvc repro``).
2. Reads the paper profile's stage graph (``dvc.yaml`` with ``profiles/paper.yaml``, in a scratch directory)
   and weights it with measured costs: fine-tune and stylize seconds from ``results/costs.csv`` (the smoke
   profile's measurements, per method; stylize = seconds per image x the paper's images per cell), every other
   stage with its duration measured in step 1. Prints the serial sum, the critical path, and list-scheduled
   makespans on 1-8 GPUs. These are smoke-model costs on a CPU: the estimate gives the matrix's shape (how much
   parallel speed-up its graph allows), not paper-scale GPU hours.

Usage: python scripts/bench_runner.py [--skip-timing] [--out results/bench_runner.json]
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmark.runner.dvcgraph import load_graph  # noqa: E402
from tests.runner.workspace import assert_same_products, clone_workspace, make_base, osasis_run, run  # noqa: E402


def time_runs(scratch: Path) -> dict:
    base = make_base(scratch / "base")
    serial_ws = clone_workspace(base, scratch / "serial")
    runner_ws = clone_workspace(base, scratch / "runner")
    t0 = time.time()
    run([sys.executable, "-m", "dvc", "repro"], serial_ws)
    serial = time.time() - t0
    t0 = time.time()
    osasis_run(runner_ws, "--executor", "local", "--jobs", "2", "--gpus", "0,1", "--status-every", "1000")
    parallel = time.time() - t0
    assert_same_products(runner_ws, serial_ws)
    latest = (runner_ws / ".runner" / "LATEST").read_text().strip()
    summary = json.loads((runner_ws / ".runner" / latest / "summary.json").read_text())
    overheads = [s["overhead_seconds"] for s in summary["stages"].values() if s["overhead_seconds"] is not None]
    durations: dict[str, list[float]] = defaultdict(list)
    for name, s in summary["stages"].items():
        durations[name.split("@")[0]].append(s["seconds"])
    return {
        "stages": len(summary["stages"]), "serial_dvc_repro_seconds": serial, "runner_jobs2_seconds": parallel,
        "ratio_serial_over_runner": serial / parallel, "runner_internal_wall_seconds": summary["wall_seconds"],
        "overhead_per_stage_mean_seconds": sum(overheads) / len(overheads),
        "overhead_per_stage_max_seconds": max(overheads),
        "stage_seconds_by_group": {g: sum(v) / len(v) for g, v in durations.items()},
    }  # fmt: skip


def paper_graph(scratch: Path):
    ws = scratch / "paper-graph"
    if (ws / "dvc.yaml").is_file():  # made earlier in this run
        return load_graph(ws)
    ws.mkdir()
    shutil.copy(REPO / "dvc.yaml", ws / "dvc.yaml")
    shutil.copy(REPO / "profiles" / "paper.yaml", ws / "params.yaml")
    run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], ws)
    return load_graph(ws)


def smoke_costs(path: Path) -> dict[str, dict[str, float]]:
    per_method: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with open(path) as fh:
        for row in csv.DictReader(fh):
            per_method[row["method"]]["finetune"].append(float(row["finetune_seconds"]))
            per_method[row["method"]]["stylize_per_image"].append(float(row["stylize_seconds_per_image"]))
    return {m: {k: sum(v) / len(v) for k, v in d.items()} for m, d in per_method.items()}


def dryrun_costs(path: Path, params: dict) -> dict[tuple[str, str | None], float]:
    """(stage group, method) -> wall seconds from a dry-run cost table (``osasis-bench dryrun --costs-out``): the
    full-size networks at the dry run's reduced counts; ablation variants also stand for their base method."""
    from types import SimpleNamespace

    from benchmark.runner.plan import stage_method

    out: dict[tuple[str, str | None], float] = {}
    for row in json.loads(path.read_text())["stages"]:
        group = row["stage"].split("@")[0]
        method = stage_method(SimpleNamespace(name=row["stage"]), params)
        out[(group, method)] = row["wall_s"]
        base = ((params.get("method_cfg") or {}).get(method) or {}).get("base") if method else None
        if base:
            out.setdefault((group.replace("ablation-", ""), base), row["wall_s"])
    return out


def critical_path(graph, cost) -> tuple[float, float, dict[int, float]]:
    finish: dict[str, float] = {}
    for name in graph.order:
        info = graph.stages[name]
        finish[name] = cost[name] + max((finish[u] for u in info.upstream), default=0.0)
    total = sum(cost.values())
    makespans = {g: list_schedule(graph, cost, g) for g in (1, 2, 4, 8, 16)}
    return total, max(finish.values()), makespans


def list_schedule(graph, cost, workers: int) -> float:
    """Greedy list scheduling (longest remaining path first), as the runner submits ready stages."""
    children = graph.downstream()
    tail: dict[str, float] = {}
    for name in reversed(graph.order):
        tail[name] = cost[name] + max((tail[c] for c in children[name]), default=0.0)
    waiting = {n: len(graph.stages[n].upstream) for n in graph.order}
    ready = [(-tail[n], n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < workers:
            _, name = heapq.heappop(ready)
            heapq.heappush(running, (now + cost[name], name))
        now, name = heapq.heappop(running)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (-tail[child], child))
    return now


def paper_estimate_from_dryrun(scratch: Path, table: Path) -> dict:
    """The paper matrix weighted with the dry run's per-stage costs (same group and method)."""
    import yaml

    from benchmark.runner.plan import stage_method

    graph = paper_graph(scratch)
    params = yaml.safe_load((REPO / "profiles" / "paper.yaml").read_text())
    measured = dryrun_costs(table, params)
    cost, unmatched = {}, []
    for name, info in graph.stages.items():
        method = stage_method(info, params)
        base = ((params.get("method_cfg") or {}).get(method) or {}).get("base") if method else None
        group = info.group
        for key in ((group, method), (group.replace("ablation-", ""), base or method), (group, None)):
            if key in measured:
                cost[name] = measured[key]
                break
        else:
            cost[name] = 0.0
            unmatched.append(name)
    total, path, makespans = critical_path(graph, cost)
    return {
        "stages": len(graph.stages), "serial_sum_seconds": total, "critical_path_seconds": path,
        "max_speedup": total / path, "list_schedule_seconds_by_gpus": makespans, "stages_without_cost": unmatched,
        "based_on": f"{table}: full-size networks at the dry run's reduced counts (1 iteration, 2 sampling steps, "
                    "1 image per split) on its machine; a lower bound on the paper matrix's stage costs, and its "
                    "graph shape (paper matrix from dvc.yaml + profiles/paper.yaml)",
    }  # fmt: skip


def paper_estimate(scratch: Path, group_seconds: dict[str, float]) -> dict:
    import yaml

    graph = paper_graph(scratch)
    params = yaml.safe_load((REPO / "profiles" / "paper.yaml").read_text())
    costs = smoke_costs(REPO / "results" / "costs.csv")
    k = params["prepare"]["density"]["k"]
    images = {"stylize": 2 * k + 6, "ablation-stylize": k}  # low + high density (k each) + the six OOD faces
    from benchmark.runner.plan import stage_method

    cost = {}
    for name, info in graph.stages.items():
        method = stage_method(info, params)
        base = ((params.get("method_cfg") or {}).get(method) or {}).get("base", method) if method else None
        measured = costs.get(method) or costs.get(base or "")
        group = info.group.replace("ablation-", "")
        if group == "finetune" and measured:
            cost[name] = measured["finetune"]
        elif group == "stylize" and measured:
            cost[name] = measured["stylize_per_image"] * images[info.group]
        else:
            cost[name] = group_seconds.get(info.group, group_seconds.get(group, 0.0))
    total, path, makespans = critical_path(graph, cost)
    return {
        "stages": len(graph.stages), "serial_sum_seconds": total, "critical_path_seconds": path,
        "max_speedup": total / path, "list_schedule_seconds_by_gpus": makespans,
        "based_on": "results/costs.csv (smoke, CPU) for finetune/stylize per method; other stages: their measured "
                    "durations in the tiny runner pipeline; paper matrix structure from dvc.yaml + profiles/paper.yaml",
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-timing", action="store_true", help="only the paper estimate (stage costs: 10 s)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--dryrun-costs", type=Path, default=None,
                        help="also weight the paper matrix with a dry-run cost table (osasis-bench dryrun --costs-out)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        scratch = Path(tmp)
        result: dict = {}
        if not args.skip_timing:
            result["tiny_pipeline"] = timing = time_runs(scratch)
            print(f"tiny pipeline, {timing['stages']} stages after fetch+prepare: serial dvc repro "
                  f"{timing['serial_dvc_repro_seconds']:.1f} s, osasis-bench run --jobs 2 "
                  f"{timing['runner_jobs2_seconds']:.1f} s, ratio {timing['ratio_serial_over_runner']:.2f}; "
                  f"runner overhead per stage {timing['overhead_per_stage_mean_seconds']:.2f} s mean, "
                  f"{timing['overhead_per_stage_max_seconds']:.2f} s max")  # fmt: skip
            groups = timing["stage_seconds_by_group"]
        else:
            groups = {"fetch": 10.0, "prepare": 30.0, "evaluate": 20.0, "ablation-evaluate": 20.0, "text-edit": 15.0,
                      "aggregate": 10.0, "report": 20.0}  # fmt: skip
        result["paper_matrix"] = paper = paper_estimate(scratch, groups)
        print(f"paper matrix, {paper['stages']} stages: serial {paper['serial_sum_seconds']:.0f} s, critical path "
              f"{paper['critical_path_seconds']:.0f} s (at most {paper['max_speedup']:.1f}x); list-scheduled: "
              + ", ".join(f"{g} GPU(s) {s:.0f} s" for g, s in paper["list_schedule_seconds_by_gpus"].items()))
        print(f"  based on: {paper['based_on']}")
        if args.dryrun_costs:
            result["paper_matrix_dryrun_costs"] = dry = paper_estimate_from_dryrun(scratch, args.dryrun_costs)
            print(f"paper matrix with dry-run stage costs: serial {dry['serial_sum_seconds']:.0f} s, critical path "
                  f"{dry['critical_path_seconds']:.0f} s (at most {dry['max_speedup']:.1f}x); list-scheduled: "
                  + ", ".join(f"{g} GPU(s) {s:.0f} s" for g, s in dry["list_schedule_seconds_by_gpus"].items()))
            print(f"  based on: {dry['based_on']}")
        if args.out:
            args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
