"""``osasis-bench run``: reproduce the DVC pipeline in parallel on local GPUs, Slurm or Ray, with ``dvc.lock``,
the DVC cache and the run-cache exactly as truthful as after a serial ``dvc repro``.

Each stale stage (changed, or downstream of a changed one) runs as ``dvc --wait-for-lock repro
--single-item <stage>`` once its upstream is done; the run ends with ``dvc status`` clean or fails.
Modules: :mod:`~benchmark.runner.dvcgraph` (the only one touching DVC internals), :mod:`~benchmark.runner.plan`
(stale set, resources, work-tree checks), :mod:`~benchmark.runner.executors`, :mod:`~benchmark.runner.worker`,
:mod:`~benchmark.runner.coordinator`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", type=Path, default=Path("."), help="the repository (its dvc.yaml and params.yaml)")
    p.add_argument("--executor", choices=["local", "slurm", "ray"], default="local", help="where stages run")
    p.add_argument("--jobs", type=int, default=None,
                   help="stages at once (local: default = CPU count; slurm/ray: default = no limit but the cluster's)")
    p.add_argument("--gpus", default=None,
                   help="GPU ids for the local executor or a local Ray cluster, e.g. 0,1,2,3 (default: detected)")
    p.add_argument("--retries", type=int, default=2, help="extra attempts for a preempted or killed stage")
    p.add_argument("--dry", action="store_true", help="print the plan (stages, resources, order) and exit")
    p.add_argument("--status-every", type=float, default=10.0, help="seconds between progress tables")
    p.add_argument("--storage", choices=["shared", "clone"], default="shared",
                   help="shared: workers use this workspace and DVC cache; clone: workers clone the pinned commit "
                        "and exchange data through the default DVC remote")  # fmt: skip
    p.add_argument("--git-url", default=None, help="clone storage: the git URL workers clone (default: this repo)")
    g = p.add_argument_group("slurm")
    g.add_argument("--partition", default=None, help="Slurm partition")
    g.add_argument("--account", default=None, help="Slurm account")
    g.add_argument("--time", type=int, default=None, dest="time_min",
                   help="Slurm time limit in minutes for every stage (default: the profile's runner.time_min)")
    g.add_argument("--slurm-log-dir", type=Path, default=None,
                   help="submitit folder (shared by all nodes; default: <repo>/.runner/slurm)")
    g = p.add_argument_group("ray")
    g.add_argument("--address", default=None, help="Ray cluster address (e.g. auto); default: a local cluster")


def _gpu_list(text: str | None) -> list[str]:
    from benchmark.runner.executors import detect_gpus

    if text is None:
        return detect_gpus()
    ids = [g.strip() for g in text.split(",") if g.strip()]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"--gpus lists an id twice: {text}")
    return ids


def run_from_args(args: argparse.Namespace) -> int:
    import os

    from benchmark.runner import dvcgraph
    from benchmark.runner.coordinator import Coordinator, RunOptions
    from benchmark.runner.executors import LocalExecutor, RayExecutor, SlurmExecutor

    root = args.repo.resolve()
    if not (root / "dvc.yaml").is_file():
        raise ConfigError(f"no dvc.yaml in {root}")
    if args.retries < 0:
        raise ConfigError("--retries must be 0 or more")
    gpus = _gpu_list(args.gpus)
    jobs = args.jobs
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    remote_url = None
    if args.storage == "clone":
        remote_url = dvcgraph.default_remote_url(root)
    executor = fallback = None
    if args.dry:
        executor = LocalExecutor(jobs or 1, gpus) if args.executor == "local" else None
    elif args.executor == "local":
        executor = LocalExecutor(jobs or os.cpu_count() or 1, gpus)
    elif args.executor == "slurm":
        executor = SlurmExecutor(args.slurm_log_dir or root / ".runner" / "slurm", partition=args.partition,
                                 account=args.account, time_min=args.time_min, max_inflight=jobs)  # fmt: skip
    else:
        executor = RayExecutor(args.address, jobs, gpus)
    if args.storage == "clone" and not args.dry:
        fallback = executor if args.executor == "local" else LocalExecutor(jobs or os.cpu_count() or 1, gpus)
    options = RunOptions(root=root, executor=executor, executor_name=args.executor, storage=args.storage,
                         git_url=args.git_url, remote_url=remote_url, local_fallback=fallback,
                         retries=args.retries, dry=args.dry, status_every=args.status_every)  # fmt: skip
    try:
        return Coordinator(options).run()
    except KeyboardInterrupt:
        print("interrupted twice: running stages were cancelled; run the same command again to resume",
              file=sys.stderr)  # fmt: skip
        return 130
