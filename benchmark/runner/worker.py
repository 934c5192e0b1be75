"""One stage on one worker: ``dvc --wait-for-lock repro --single-item <stage>``, so DVC itself hashes the
deps, caches the outputs and writes ``dvc.lock`` and the run-cache.

Every executor runs the same :func:`run_task` (the local executor as ``python .../runner/worker.py SPEC.json``,
Slurm through submitit, Ray as a remote function). Two storage modes:

* ``shared``: the worker runs in the coordinator's workspace (same files, same DVC cache).
* ``clone``: no shared filesystem. The worker clones the pinned commit into a fresh directory, writes the
  coordinator's current ``dvc.lock`` (so DVC knows the upstream outputs' hashes), runs
  ``dvc repro --pull --single-item`` (pulls the missing inputs from the DVC remote, or restores the stage
  from the remote run-cache), then pushes the stage's outputs and the run-cache. The coordinator restores
  the stage from the run-cache afterwards (``restore_from_run_cache``) without running it again.

A record (JSON) of each attempt says where it ran, which ``CUDA_VISIBLE_DEVICES`` the stage saw, and the
timings the runner's overhead is measured from.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# No ``benchmark`` import at module level: the local executor runs this file as a script, so a stage does not
# pay for importing the package (which loads torch) before its ``dvc repro`` starts.

RESTORED_MARK = "is cached - skipping run"


def dvc_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


#: Thread-count variables that change float results (kernel choice, reduction order): a stage runs with the
#: coordinator's values, not the ones an executor sets (Ray sets OMP_NUM_THREADS to the task's CPUs).
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _env(spec: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DVC_NO_ANALYTICS", "1")
    for var, value in (spec.get("thread_env") or {}).items():  # as the coordinator had them (byte-identical floats)
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
    if spec["gpus"] == 0:
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU stage never holds a GPU
    elif spec.get("gpu_ids"):
        env["CUDA_VISIBLE_DEVICES"] = spec["gpu_ids"]  # local executor; Slurm and Ray set it themselves
    return env


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log) -> int:
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def _clone_and_run(spec: dict[str, Any], env: dict[str, str], log) -> int:
    clone = spec["clone"]
    scratch = Path(tempfile.mkdtemp(prefix="osasis-run-", dir=clone.get("scratch_dir")))
    try:
        steps = [
            ["git", "clone", "--quiet", "--no-checkout", clone["git_url"], str(scratch)],
            ["git", "-C", str(scratch), "checkout", "--quiet", "--detach", spec["commit"]],
        ]
        for cmd in steps:
            if (rc := _run(cmd, scratch.parent, env, log)) != 0:
                return rc
        if clone.get("lock_text"):
            (scratch / "dvc.lock").write_text(clone["lock_text"])
        steps = [
            dvc_command("remote", "add", "--local", "--force", "--default", "runner", clone["remote_url"]),
            dvc_command("--wait-for-lock", "repro", "--pull", "--single-item", spec["stage"]),
            dvc_command("push", "--remote", "runner", spec["stage"]),
            dvc_command("push", "--remote", "runner", "--run-cache"),
        ]
        for cmd in steps:
            if (rc := _run(cmd, scratch, env, log)) != 0:
                return rc
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # the directory this worker created


def run_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one stage as described by ``spec`` (see :class:`benchmark.runner.coordinator.Coordinator`)."""
    t_start = time.time()
    env = _env(spec)
    record = {
        "stage": spec["stage"], "attempt": spec["attempt"], "host": socket.gethostname(), "pid": os.getpid(),
        "cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),  # what the stage's processes see
        "gpus": spec["gpus"], "storage": spec["storage"], "t_worker_start": t_start,
    }  # fmt: skip
    record_path = Path(spec["record"])
    _write_json(record_path, {**record, "state": "running"})
    log_path = Path(spec["log"])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        log.write(f"# {spec['stage']} attempt {spec['attempt']} on {record['host']} "
                  f"CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}\n")  # fmt: skip
        record["t_dvc_start"] = time.time()
        if spec["storage"] == "clone":
            rc = _clone_and_run(spec, env, log)
        else:
            cmd = dvc_command("--wait-for-lock", "repro", "--single-item", spec["stage"])
            rc = _run(cmd, Path(spec["workdir"]), env, log)
        record["t_dvc_end"] = time.time()
        log.write(f"# exit code {rc}\n")
    record.update(returncode=rc, state="done" if rc == 0 else "failed", t_worker_end=time.time())
    if spec["storage"] == "clone":  # the coordinator may not see this machine's files: send the log back too
        text = log_path.read_text(errors="replace")
        record["log_text"] = text[text.rfind(f"# {spec['stage']} attempt {spec['attempt']} "):][-200_000:]
    _write_json(record_path, record)
    return record


def restore_from_run_cache(root: Path, stage: str, log_path: Path) -> bool:
    """Coordinator side of ``clone`` mode: let DVC restore ``stage`` from the remote run-cache and write
    ``dvc.lock``. Returns whether DVC restored it (``True``) or had to run it here (``False``)."""
    env = _env({"gpus": 0})
    with open(log_path, "a") as log:
        log.write("# coordinator: restore from the run-cache\n")
        rc = _run(dvc_command("--wait-for-lock", "repro", "--pull", "--single-item", stage), root, env, log)
    if rc != 0:
        from benchmark.runner.plan import RunnerError

        raise RunnerError(f"restoring {stage} from the run-cache failed (exit {rc}); see {log_path}")
    text = log_path.read_text(errors="replace")
    tail = text[text.rindex("# coordinator: restore"):]
    return RESTORED_MARK in tail or "didn't change" in tail


def push_outputs(root: Path, stages: list[str], log_path: Path) -> None:
    """``clone`` mode: put the cached outputs of ``stages`` (produced here) on the default DVC remote, so that
    workers without the shared workspace can pull them."""
    if not stages:
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        rc = _run(dvc_command("push", *stages), root, _env({"gpus": 0}), log)
    if rc != 0:
        from benchmark.runner.plan import RunnerError

        raise RunnerError(f"dvc push of {', '.join(stages)} failed (exit {rc}); see {log_path}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python benchmark/runner/worker.py SPEC.json", file=sys.stderr)
        return 2
    record = run_task(json.loads(Path(argv[0]).read_text()))
    return int(record["returncode"] != 0)


if __name__ == "__main__":
    raise SystemExit(main())
