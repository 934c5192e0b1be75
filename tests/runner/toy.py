"""A toy DVC pipeline (real DVC, shell-free Python steps, seconds per stage) for the runner's fault tests.

``a`` -> ``b1``, ``b2``, ``b3``, ``b4`` -> ``report``; ``params.yaml`` ``toy.<stage>`` sets ``sleep`` seconds and
``fail: true`` (exit 3). ``report`` is a CPU stage (the runner's default ``cpu_stages``); the rest hold a
(fake) GPU each (``runner.gpu: always``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.runner.workspace import run

STEP = '''\
import os, sys, time
from pathlib import Path
import yaml
name = sys.argv[1]
cfg = yaml.safe_load(Path("params.yaml").read_text())["toy"][name]
time.sleep(cfg.get("sleep", 0))
if cfg.get("fail"):
    sys.exit(3)
text = "".join(Path(dep, "value.txt").read_text() for dep in sys.argv[2:]) + f"{name}:{cfg.get('salt', 0)}\\n"
out = Path("out", name)
out.mkdir(parents=True, exist_ok=True)
(out / "value.txt").write_text(text)
'''
MIDDLE = ("b1", "b2", "b3", "b4")


def dvc_yaml(middle: tuple[str, ...] = MIDDLE) -> dict:
    stages = {"a": {"cmd": f"{sys.executable} step.py a", "deps": ["step.py"], "params": ["toy.a"], "outs": ["out/a"]}}
    for name in middle:
        stages[name] = {"cmd": f"{sys.executable} step.py {name} out/a", "deps": ["step.py", "out/a"],
                        "params": [f"toy.{name}"], "outs": [f"out/{name}"]}  # fmt: skip
    ins = [f"out/{n}" for n in middle]
    stages["report"] = {"cmd": f"{sys.executable} step.py report {' '.join(ins)}", "deps": ["step.py", *ins],
                        "params": ["toy.report"], "outs": ["out/report"]}  # fmt: skip
    return {"stages": stages}


def make_toy(dest: Path, sleeps: dict[str, float] | None = None, fail: tuple[str, ...] = (),
             middle: tuple[str, ...] = MIDDLE) -> Path:  # fmt: skip
    dest.mkdir(parents=True, exist_ok=True)
    toy = {name: {"sleep": (sleeps or {}).get(name, 0), "fail": name in fail} for name in ("a", *middle, "report")}
    params = {"profile": "toy", "seed": 0, "device": "cpu", "methods": [], "references": [], "toy": toy,
              "runner": {"gpu": "always"}}  # fmt: skip
    (dest / "params.yaml").write_text(yaml.safe_dump(params))
    (dest / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml(middle), sort_keys=False))
    (dest / "step.py").write_text(STEP)
    (dest / ".gitignore").write_text("/.runner/\n")
    run(["git", "init", "-q"], dest)
    run([sys.executable, "-m", "dvc", "init", "-q"], dest)
    run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], dest)
    commit(dest, "toy pipeline")
    return dest


def commit(ws: Path, message: str) -> None:
    run(["git", "add", "-A"], ws)
    run(["git", "commit", "-qm", message], ws)


def set_toy(ws: Path, name: str, **values: object) -> None:
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["toy"][name].update(values)
    (ws / "params.yaml").write_text(yaml.safe_dump(params))


def start_run(ws: Path, *args: str) -> subprocess.Popen:
    from tests.runner.workspace import env

    return subprocess.Popen([sys.executable, "-m", "benchmark", "run", "--repo", str(ws), *args], cwd=ws,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
