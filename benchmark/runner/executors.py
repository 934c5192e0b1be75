"""Where stages run: one small interface (``submit``, ``poll``, ``cancel``) and three implementations.

* :class:`LocalExecutor` (default): a pool of subprocesses with a GPU token pool; a GPU stage gets one id
  through ``CUDA_VISIBLE_DEVICES``, a CPU stage gets none. Nothing to install.
* :class:`SlurmExecutor`: one Slurm job per stage through submitit (``--gres=gpu:1`` for GPU stages).
* :class:`RayExecutor` (optional extra ``ray``): one Ray task per stage with ``num_gpus``; a Ray cluster
  (``--address auto``, KubeRay) or a local one started for the run.

Every executor runs :func:`benchmark.runner.worker.run_task`. A job that ends without a result because the
machine took it away (a kill signal, Slurm preemption or node failure, a Ray worker or node dying) is
reported as ``preempted``; the coordinator retries those a bounded number of times.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError
from benchmark.runner.plan import PlannedStage

RUNNING, DONE, FAILED, PREEMPTED = "running", "done", "failed", "preempted"
WORKER_SCRIPT = str(Path(__file__).with_name("worker.py"))  # run as a script: no package (torch) import


@dataclass
class JobStatus:
    state: str  # running | done | failed | preempted
    where: str = ""
    message: str = ""
    record: dict[str, Any] | None = None


@dataclass
class Job:
    stage: str
    spec: dict[str, Any]
    handle: Any = None
    gpu: str | None = None
    cancelled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Executor(ABC):
    """Runs worker specs somewhere; the coordinator decides what and when."""

    name = "?"
    gpus_available = False
    slots: int | None = None  # how many stages may run at once (None: the scheduler decides)

    def can_accept(self, stage: PlannedStage, running: int) -> bool:
        return self.slots is None or running < self.slots

    @abstractmethod
    def submit(self, stage: PlannedStage, spec: dict[str, Any]) -> Job: ...

    @abstractmethod
    def poll(self, job: Job) -> JobStatus: ...

    @abstractmethod
    def cancel(self, job: Job) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the executor started."""


def detect_gpus() -> list[str]:
    """GPU ids of this machine: ``CUDA_VISIBLE_DEVICES`` when set, else ``nvidia-smi -L``, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
        return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]
    return []


def _read_record(spec: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return json.loads(Path(spec["record"]).read_text())
    except (OSError, ValueError):
        return None


class LocalExecutor(Executor):
    """Subprocesses on this machine, at most ``jobs`` at once, each GPU id held by one stage at a time."""

    name = "local"

    def __init__(self, jobs: int, gpus: list[str]) -> None:
        if jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {jobs}")
        self.slots = jobs
        self.free_gpus = list(gpus)
        self.gpus_available = bool(gpus)

    def can_accept(self, stage: PlannedStage, running: int) -> bool:
        return running < self.slots and (stage.resources.gpus == 0 or bool(self.free_gpus))

    def submit(self, stage: PlannedStage, spec: dict[str, Any]) -> Job:
        job = Job(stage.name, spec)
        if stage.resources.gpus:
            job.gpu = self.free_gpus.pop(0)
            spec["gpu_ids"] = job.gpu
        spec_path = Path(spec["record"]).with_suffix(".spec.json")
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec))
        Path(spec["log"]).parent.mkdir(parents=True, exist_ok=True)
        with open(spec["log"], "a") as log:  # a worker traceback lands in the stage log
            job.handle = subprocess.Popen([sys.executable, WORKER_SCRIPT, str(spec_path)],
                                          cwd=spec["workdir"], stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)  # fmt: skip
        return job

    def _release(self, job: Job) -> None:
        if job.gpu is not None:
            self.free_gpus.append(job.gpu)
            self.free_gpus.sort(key=lambda g: (len(g), g))
            job.gpu = None

    def poll(self, job: Job) -> JobStatus:
        proc: subprocess.Popen = job.handle
        where = f"local pid {proc.pid}" + (f" gpu {job.gpu}" if job.gpu is not None else "")
        rc = proc.poll()
        if rc is None:
            return JobStatus(RUNNING, where)
        self._release(job)
        record = _read_record(job.spec)
        if rc == 0:
            return JobStatus(DONE, where, record=record)
        if rc < 0 and not job.cancelled:
            # the stage's dvc process must be gone before a retry, or its write lock still counts as held
            _wait_for_group_exit(proc.pid)
            return JobStatus(PREEMPTED, where, f"killed by signal {-rc}", record)
        return JobStatus(FAILED, where, f"exit code {rc}", record)

    def cancel(self, job: Job) -> None:
        job.cancelled = True
        proc: subprocess.Popen = job.handle
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._release(job)


def _wait_for_group_exit(pgid: int, timeout: float = 30.0) -> None:
    """Wait until no process of the group ``pgid`` (the worker's session) is left, SIGKILLing stragglers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.1)


class SlurmExecutor(Executor):
    """One Slurm job per stage through submitit; the job runs the worker in the same Python environment."""

    name = "slurm"

    def __init__(self, folder: Path, partition: str | None = None, account: str | None = None,
                 time_min: int | None = None, extra: dict[str, Any] | None = None,
                 max_inflight: int | None = None) -> None:  # fmt: skip
        try:
            import submitit
        except ImportError as exc:
            raise ConfigError("the slurm executor needs submitit: pip install submitit") from exc
        if shutil.which("sbatch") is None:
            raise ConfigError("the slurm executor needs the Slurm client commands (sbatch) on PATH")
        self.submitit = submitit
        self.folder = folder
        self.partition, self.account, self.time_min = partition, account, time_min
        self.extra = dict(extra or {})
        self.slots = max_inflight
        gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True, timeout=30).stdout
        self.gpus_available = "gpu" in gres

    def submit(self, stage: PlannedStage, spec: dict[str, Any]) -> Job:
        # a new executor per job: submitit keeps parameters between update_parameters calls
        executor = self.submitit.AutoExecutor(folder=self.folder / "%j", cluster="slurm")
        params: dict[str, Any] = {"name": f"osasis-{stage.name}", "cpus_per_task": stage.resources.cpus,
                                  "timeout_min": self.time_min or stage.resources.time_min}  # fmt: skip
        if stage.resources.mem_gb:
            params["mem_gb"] = stage.resources.mem_gb
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.account:
            params["slurm_account"] = self.account
        if stage.resources.gpus:
            params["slurm_gres"] = f"gpu:{stage.resources.gpus}"
        if self.extra:
            params["slurm_additional_parameters"] = self.extra
        executor.update_parameters(**params)
        from benchmark.runner.worker import run_task

        return Job(stage.name, spec, handle=executor.submit(run_task, spec))

    def poll(self, job: Job) -> JobStatus:
        sjob = job.handle
        where = f"slurm job {sjob.job_id}"
        if not sjob.done():
            return JobStatus(RUNNING, f"{where} {sjob.state.lower()}")
        utils = self.submitit.core.utils
        try:
            record = sjob.result()
        except utils.UncompletedJobError as exc:
            state = PREEMPTED if not job.cancelled else FAILED
            return JobStatus(state, where, f"job ended without a result ({sjob.state}): {str(exc)[:300]}")
        except utils.FailedJobError as exc:
            return JobStatus(FAILED, where, f"job failed: {str(exc)[-300:]}")
        rc = record.get("returncode", 1)
        return JobStatus(DONE if rc == 0 else FAILED, where, "" if rc == 0 else f"exit code {rc}", record)

    def cancel(self, job: Job) -> None:
        job.cancelled = True
        job.handle.cancel(check=False)


class RayExecutor(Executor):
    """One Ray task per stage (``num_gpus`` = the stage's GPUs); Ray sets ``CUDA_VISIBLE_DEVICES``."""

    name = "ray"

    def __init__(self, address: str | None, jobs: int | None, gpus: list[str]) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("the ray executor is an optional extra: pip install 'osasis-bench[ray]'") from exc
        self.ray = ray
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local cluster for this run
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(num_cpus=jobs or os.cpu_count() or 1, num_gpus=len(gpus), include_dashboard=False,
                     log_to_driver=False)  # fmt: skip
        self.gpus_available = ray.cluster_resources().get("GPU", 0) > 0
        from benchmark.runner.worker import run_task

        self.remote = ray.remote(max_retries=0)(run_task)

    def submit(self, stage: PlannedStage, spec: dict[str, Any]) -> Job:
        options: dict[str, Any] = {"num_gpus": stage.resources.gpus, "num_cpus": stage.resources.cpus,
                                   "name": stage.name}  # fmt: skip
        if stage.resources.mem_gb:
            options["memory"] = int(stage.resources.mem_gb * 2**30)
        return Job(stage.name, spec, handle=self.remote.options(**options).remote(spec))

    def poll(self, job: Job) -> JobStatus:
        ray = self.ray
        ready, _ = ray.wait([job.handle], timeout=0)
        if not ready:
            record = _read_record(job.spec)
            where = f"ray {record['host']} pid {record['pid']}" if record else "ray (pending)"
            return JobStatus(RUNNING, where)
        try:
            record = ray.get(job.handle)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.OwnerDiedError) as exc:  # fmt: skip
            return JobStatus(FAILED if job.cancelled else PREEMPTED, "ray", f"{type(exc).__name__}: {exc}"[:300])
        except ray.exceptions.TaskCancelledError:
            return JobStatus(FAILED, "ray", "cancelled")
        except ray.exceptions.RayError as exc:
            return JobStatus(FAILED, "ray", f"{type(exc).__name__}: {str(exc)[-300:]}")
        rc = record.get("returncode", 1)
        where = f"ray {record.get('host')} pid {record.get('pid')}"
        return JobStatus(DONE if rc == 0 else FAILED, where, "" if rc == 0 else f"exit code {rc}", record)

    def cancel(self, job: Job) -> None:
        job.cancelled = True
        self.ray.cancel(job.handle, force=True)

    def close(self) -> None:
        self.ray.shutdown()


def wait_all(executor: Executor, jobs: list[Job], timeout: float = 30.0) -> None:
    """Poll cancelled jobs until they have ended (or ``timeout``)."""
    deadline = time.time() + timeout
    pending = list(jobs)
    while pending and time.time() < deadline:
        pending = [job for job in pending if executor.poll(job).state == RUNNING]
        if pending:
            time.sleep(0.2)
