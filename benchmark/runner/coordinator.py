"""The coordinator of ``osasis-bench run``: plan, submit ready stages, follow them, check ``dvc status``.

Everything a run writes is under ``.runner/<run id>/`` (git-ignored): ``plan.json``, ``events.jsonl``,
``logs/<stage>.log`` (every attempt appended), ``records/<stage>.<attempt>.json`` (where it ran, the
``CUDA_VISIBLE_DEVICES`` it saw, timings) and ``summary.json``; ``.runner/LATEST`` names the last run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from benchmark.errors import ConfigError
from benchmark.runner import dvcgraph
from benchmark.runner.executors import DONE, FAILED, PREEMPTED, RUNNING, Executor, Job, wait_all
from benchmark.runner.plan import PlannedStage, RunnerError, build_plan, check_clean, load_params, plan_to_json
from benchmark.runner.worker import THREAD_VARS, push_outputs, restore_from_run_cache

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass
class RunOptions:
    root: Path
    executor: Executor | None  # None with dry=True
    executor_name: str = "local"
    storage: str = "shared"  # shared | clone
    git_url: str | None = None  # clone: where workers clone the pinned commit from
    remote_url: str | None = None  # clone: the DVC remote workers push to
    local_fallback: Executor | None = None  # clone: runs the stages a worker cannot (see plan.remote_ok)
    retries: int = 2  # extra attempts for preempted jobs
    dry: bool = False
    poll_interval: float = 0.2
    status_every: float = 10.0
    out: TextIO = field(default_factory=lambda: sys.stderr)


@dataclass
class StageState:
    stage: PlannedStage
    state: str = "queued"  # queued | running | done | failed | blocked | cancelled
    attempts: int = 0
    job: Job | None = None
    executor: Executor | None = None
    where: str = ""
    message: str = ""
    t_submit: float = 0.0
    t_end: float = 0.0
    record: dict[str, Any] | None = None
    restored: bool | None = None
    cause: tuple[str, ...] = ()  # the failed stages that block this one


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Coordinator:
    def __init__(self, options: RunOptions) -> None:
        self.o = options
        self.root = options.root.resolve()
        self.interrupted = False
        self.events: TextIO | None = None

    # --- output ------------------------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        print(message, file=self.o.out, flush=True)

    def event(self, kind: str, **data: Any) -> None:
        if self.events is not None:
            self.events.write(json.dumps({"t": time.time(), "event": kind, **data}) + "\n")
            self.events.flush()

    def eta(self, states: dict[str, StageState]) -> float | None:
        done = [s for s in states.values() if s.state == "done" and s.t_end]
        if not done:
            return None
        by_group: dict[str, list[float]] = {}
        for s in done:
            by_group.setdefault(s.stage.group, []).append(s.t_end - s.t_submit)
        overall = sum(s.t_end - s.t_submit for s in done) / len(done)

        def estimate(s: StageState) -> float:
            values = by_group.get(s.stage.group)
            return sum(values) / len(values) if values else overall

        now = time.time()
        work = sum(estimate(s) for s in states.values() if s.state == "queued")
        work += sum(max(0.0, estimate(s) - (now - s.t_submit)) for s in states.values() if s.state == "running")
        running = sum(s.state == "running" for s in states.values())
        slots = (self.o.executor.slots if self.o.executor else None) or max(1, running)
        return work / slots

    def status_line(self, states: dict[str, StageState]) -> str:
        kinds = ("done", "running", "queued", "failed", "blocked")
        counts = {k: sum(s.state == k for s in states.values()) for k in kinds}
        return (f"[{counts['done']}/{len(states)} done | {counts['running']} running | {counts['queued']} queued | "
                f"{counts['failed']} failed | {counts['blocked']} blocked | "
                f"ETA {_fmt_seconds(self.eta(states))}]")  # fmt: skip

    def show_running(self, states: dict[str, StageState]) -> None:
        now = time.time()
        self.say(self.status_line(states))
        for s in states.values():
            if s.state == "running":
                self.say(f"    running {s.stage.name:60s} {s.where:32s} {_fmt_seconds(now - s.t_submit)}")

    # --- planning ----------------------------------------------------------------------------------------------

    def plan(self) -> tuple[str, list[PlannedStage], dvcgraph.PipelineGraph]:
        graph = dvcgraph.load_graph(self.root)
        if self.o.dry:
            commit = check_clean_or_warn(self.root, graph, self.say)
        else:
            commit = check_clean(self.root, graph)
        params = load_params(self.root)
        stale = graph.stale(dvcgraph.changed_stages(self.root))
        gpus_available = bool(self.o.executor and self.o.executor.gpus_available)
        plan = build_plan(graph, stale, params, gpus_available)
        for stage in plan:
            executor = self.executor_for(stage)
            if stage.resources.gpus and executor is not None and not executor.gpus_available:
                raise ConfigError(f"stage {stage.name} needs a GPU but the {executor.name} executor has none "
                                  f"(give --gpus, or use a profile with device: cpu)")  # fmt: skip
        return commit, plan, graph

    def executor_for(self, stage: PlannedStage) -> Executor | None:
        if self.o.storage == "clone" and not stage.remote_ok:
            return self.o.local_fallback
        return self.o.executor

    def print_plan(self, commit: str, plan: list[PlannedStage]) -> None:
        self.say(f"plan: {len(plan)} stale stage(s) at commit {commit[:12]} "
                 f"(executor {self.o.executor_name}, storage {self.o.storage}), in submission order:")  # fmt: skip
        for i, stage in enumerate(plan, 1):
            res = stage.resources
            where = "coordinator" if self.o.storage == "clone" and not stage.remote_ok else "worker"
            after = ", ".join(stage.upstream[:3]) if stage.upstream else "-"
            after += f" (+{len(stage.upstream) - 3})" if len(stage.upstream) > 3 else ""
            mem = f"{res.mem_gb:g} GB" if res.mem_gb else "default mem"
            self.say(f"  {i:3d}. {stage.name:60s} gpu={res.gpus} cpu={res.cpus} {mem} {res.time_min} min "
                     f"[{where}] after: {after}")  # fmt: skip

    # --- the run -----------------------------------------------------------------------------------------------

    def run(self) -> int:
        commit, plan, graph = self.plan()
        if self.o.dry:
            self.print_plan(commit, plan)
            return EXIT_OK
        run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{commit[:8]}"
        run_dir = self.root / ".runner" / run_id
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = self.root / ".runner" / f"{run_id}.{suffix}"
        run_dir.mkdir(parents=True)
        (self.root / ".runner" / "LATEST").write_text(run_dir.name + "\n")
        (run_dir / "plan.json").write_text(json.dumps({"commit": commit, "executor": self.o.executor_name,
                                                       "storage": self.o.storage, "stages": plan_to_json(plan)},
                                                      indent=1))  # fmt: skip
        self.events = open(run_dir / "events.jsonl", "a")  # noqa: SIM115 - closed in finish()
        self.say(f"osasis-bench run {run_dir.name}: {len(plan)} stale stage(s) at commit {commit[:12]} on "
                 f"{self.o.executor_name} ({self.o.storage} storage); logs in {run_dir / 'logs'}")  # fmt: skip
        self.event("start", commit=commit, stages=[s.name for s in plan])
        states = {s.name: StageState(s) for s in plan}
        if self.o.storage == "clone":  # workers pull what they read from the remote: push what is only here
            ready = sorted({up for s in plan if s.remote_ok for up in graph.stages[s.name].upstream} - set(states))
            push_outputs(self.root, ready, run_dir / "logs" / "coordinator-push.log")
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        t0 = time.time()
        try:
            self.loop(states, run_dir, commit)
        except KeyboardInterrupt:  # a second Ctrl-C: stop the stages without waiting for them
            for s in states.values():
                if s.state == "running":
                    s.executor.cancel(s.job)
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for executor in {self.o.executor, self.o.local_fallback} - {None}:
                executor.close()
        return self.finish(states, run_dir, commit, time.time() - t0)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True

    def spec(self, s: StageState, run_dir: Path, commit: str) -> dict[str, Any]:
        name = s.stage.name
        spec = {"stage": name, "attempt": s.attempts, "gpus": s.stage.resources.gpus, "workdir": str(self.root),
                "log": str(run_dir / "logs" / f"{name}.log"),
                "record": str(run_dir / "records" / f"{name}.{s.attempts}.json"),
                "commit": commit, "storage": "shared",
                # the coordinator's thread settings: Ray and Slurm set their own, and float results depend on them
                "thread_env": {var: os.environ.get(var) for var in THREAD_VARS}}  # fmt: skip
        if self.o.storage == "clone" and s.stage.remote_ok:
            lock = self.root / "dvc.lock"
            spec["storage"] = "clone"
            spec["clone"] = {"git_url": self.o.git_url or str(self.root), "remote_url": self.o.remote_url,
                             "lock_text": lock.read_text() if lock.is_file() else ""}  # fmt: skip
        return spec

    def loop(self, states: dict[str, StageState], run_dir: Path, commit: str) -> None:
        last_status = time.time()
        while True:
            if self.interrupted:
                self.say("interrupted: cancelling running stages (run again to resume; finished stages stay done)")
                cancelled = []
                for s in states.values():
                    if s.state == "running":
                        s.executor.cancel(s.job)
                        cancelled.append((s.executor, s.job))
                        s.state, s.message = "cancelled", "interrupted"
                        self.event("cancelled", stage=s.stage.name)
                for executor, job in cancelled:
                    wait_all(executor, [job])
                return
            changed = False
            for s in states.values():
                if s.state == "running":
                    changed |= self.follow(s, states)
            running = {id(e): sum(s.state == "running" and s.executor is e for s in states.values())
                       for e in (self.o.executor, self.o.local_fallback) if e is not None}  # fmt: skip
            for s in states.values():
                if s.state != "queued":
                    continue
                ups = [states[u].state for u in s.stage.upstream]
                if any(u in ("failed", "blocked", "cancelled") for u in ups):
                    s.state = "blocked"
                    causes: set[str] = set()
                    for u in s.stage.upstream:
                        up = states[u]
                        if up.state == "blocked":
                            causes |= set(up.cause)
                        elif up.state in ("failed", "cancelled"):
                            causes.add(u)
                    s.cause = tuple(sorted(causes))
                    s.message = "upstream failed: " + ", ".join(s.cause)
                    self.event("blocked", stage=s.stage.name, message=s.message)
                    changed = True
                    continue
                executor = self.executor_for(s.stage)
                if all(u == "done" for u in ups) and executor.can_accept(s.stage, running[id(executor)]):
                    s.attempts += 1
                    s.executor = executor
                    s.job = executor.submit(s.stage, self.spec(s, run_dir, commit))
                    s.state, s.t_submit = "running", time.time()
                    running[id(executor)] += 1
                    self.event("submit", stage=s.stage.name, attempt=s.attempts, executor=executor.name)
                    changed = True
            if not any(s.state in ("queued", "running") for s in states.values()):
                return
            if time.time() - last_status > self.o.status_every or (changed and self.o.status_every <= 1):
                self.show_running(states)
                last_status = time.time()
            time.sleep(self.o.poll_interval)

    def follow(self, s: StageState, states: dict[str, StageState]) -> bool:
        status = s.executor.poll(s.job)
        s.where = status.where or s.where
        if status.state == RUNNING:
            return False
        s.record = status.record
        name = s.stage.name
        self.keep_remote_log(s)
        if status.state == DONE and self.o.storage == "clone":
            try:
                if s.job.spec.get("storage") == "clone":
                    s.restored = restore_from_run_cache(self.root, name, Path(s.job.spec["log"]))
                else:  # ran here; later workers may read its outputs
                    push_outputs(self.root, [name], Path(s.job.spec["log"]))
            except RunnerError as exc:
                status.state, status.message = FAILED, str(exc)
        s.t_end = time.time()
        if status.state == DONE:
            s.state = "done"
            extra = "" if s.restored is None else (" restored from the run-cache" if s.restored else
                                                   " (run-cache miss: DVC re-ran it on the coordinator)")
            self.say(f"done     {name} in {_fmt_seconds(s.t_end - s.t_submit)} on {s.where}{extra} "
                     f"{self.status_line(states)}")  # fmt: skip
        elif status.state == PREEMPTED and s.attempts <= self.o.retries:
            s.state, s.job = "queued", None
            self.say(f"retry    {name}: {status.message} (attempt {s.attempts} of {1 + self.o.retries})")
        else:
            s.state, s.message = "failed", status.message
            self.say(f"FAILED   {name}: {status.message}; log: {s.job.spec['log']}")
        self.event(s.state if s.state != "queued" else "retry", stage=name, where=s.where, message=status.message,
                   attempt=s.attempts, restored=s.restored)  # fmt: skip
        return True

    def keep_remote_log(self, s: StageState) -> None:
        """A worker without the shared filesystem returns its log; append it here unless it is already here."""
        text = (s.record or {}).get("log_text")
        if not text:
            return
        log = Path(s.job.spec["log"])
        if text.splitlines()[0] not in (log.read_text(errors="replace") if log.is_file() else ""):
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as fh:
                fh.write(text)

    def finish(self, states: dict[str, StageState], run_dir: Path, commit: str, wall: float) -> int:
        failed = [s for s in states.values() if s.state == "failed"]
        blocked = [s for s in states.values() if s.state == "blocked"]
        status_clean: bool | None = None
        leftover: list[str] = []
        if not failed and not self.interrupted:
            leftover = sorted(dvcgraph.changed_stages(self.root))
            status_clean = not leftover
        code = EXIT_INTERRUPTED if self.interrupted else EXIT_FAILED if failed or leftover else EXIT_OK
        summary = {
            "commit": commit, "executor": self.o.executor_name, "storage": self.o.storage, "wall_seconds": wall,
            "exit_code": code, "dvc_status_clean": status_clean, "dvc_status_leftover": leftover,
            "stages": {name: {"state": s.state, "attempts": s.attempts, "where": s.where, "message": s.message,
                              "seconds": (s.t_end - s.t_submit) if s.t_end else None, "restored": s.restored,
                              "log": str(run_dir / "logs" / f"{name}.log"),
                              "overhead_seconds": overhead(s)} for name, s in states.items()},
        }  # fmt: skip
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        self.event("finish", exit_code=code)
        if self.events:
            self.events.close()
        done = sum(s.state == "done" for s in states.values())
        self.say(f"summary: {done}/{len(states)} stage(s) done in {_fmt_seconds(wall)} at commit {commit[:12]}; "
                 f"{len(failed)} failed, {len(blocked)} blocked; run record {run_dir}")  # fmt: skip
        for s in failed:
            self.say(f"  failed:  {s.stage.name} ({s.message}) log: {run_dir / 'logs' / (s.stage.name + '.log')}")
        for s in blocked:
            self.say(f"  blocked: {s.stage.name} ({s.message})")
        if leftover:
            self.say(f"  dvc status is not clean after the run: {', '.join(leftover)}")
        elif status_clean:
            self.say("  dvc status: data and pipelines are up to date")
        if self.interrupted:
            self.say("  interrupted; run the same command again to resume")
        return code


def overhead(s: StageState) -> float | None:
    """Runner time around DVC for one stage: submit-to-noticed minus the time inside ``dvc repro``."""
    r = s.record
    if not (r and s.t_end and r.get("t_dvc_end")):
        return None
    return (s.t_end - s.t_submit) - (r["t_dvc_end"] - r["t_dvc_start"])


def check_clean_or_warn(root: Path, graph: dvcgraph.PipelineGraph, say) -> str:
    """``--dry`` on a dirty tree: warn instead of refusing (nothing runs)."""
    from benchmark.runner.plan import DirtyTreeError, git_commit

    try:
        return check_clean(root, graph)
    except DirtyTreeError as exc:
        say(f"warning: {exc}; a real run would refuse")
        return git_commit(root)
