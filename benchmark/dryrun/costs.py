"""Per-stage cost records: wall time, CPU time and peak memory of every pipeline command.

When ``$OSASIS_BENCH_COST_LOG`` names a file, every ``osasis-bench`` command appends one JSON line to it when it
ends: the DVC stage (``$DVC_STAGE``, set by ``dvc repro``), the command, wall and CPU seconds, peak resident memory
(``ru_maxrss``) and the exit code. The dry run turns these lines into its cost table.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COST_LOG_ENV = "OSASIS_BENCH_COST_LOG"
_STARTED = time.perf_counter()


def record_command(command: str, exit_code: int) -> None:
    """Append this process's cost line to ``$OSASIS_BENCH_COST_LOG`` (nothing when it is unset)."""
    target = os.environ.get(COST_LOG_ENV)
    if not target:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = {
        "stage": os.environ.get("DVC_STAGE", command),
        "command": command,
        "wall_s": round(time.perf_counter() - _STARTED, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 3),
        "peak_rss_mb": round(max(usage.ru_maxrss, children.ru_maxrss) / 1024, 1),
        "exit_code": exit_code,
    }
    with open(target, "a", encoding="utf-8") as handle:  # one short append per process: lines stay whole
        handle.write(json.dumps(line, sort_keys=True) + "\n")


def read_costs(path: Path) -> list[dict[str, Any]]:
    """The cost lines of a log, the last one per stage (a stage re-run replaces its earlier record)."""
    rows: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for text in path.read_text(encoding="utf-8").splitlines():
            if text.strip():
                row = json.loads(text)
                rows[row["stage"]] = row
    return list(rows.values())


def stage_group(stage: str) -> str:
    """``finetune@osasis-aahq_1`` -> ``finetune``."""
    return stage.split("@", 1)[0]


def cost_table(rows: Iterable[dict[str, Any]], order: list[str] | None = None) -> str:
    """A Markdown table of the stage costs (in pipeline order when ``order`` is given), with a total row."""
    rows = list(rows)
    if order:
        rank = {name: i for i, name in enumerate(order)}
        rows.sort(key=lambda r: rank.get(r["stage"], len(rank)))
    lines = ["| stage | wall s | CPU s | peak RSS MB |", "|---|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| `{row['stage']}` | {row['wall_s']:.1f} | {row['cpu_s']:.1f} | {row['peak_rss_mb']:.0f} |")
    if rows:
        lines.append(f"| **total** ({len(rows)} stages) | {sum(r['wall_s'] for r in rows):.1f} | "
                     f"{sum(r['cpu_s'] for r in rows):.1f} | {max(r['peak_rss_mb'] for r in rows):.0f} (max) |")
    return "\n".join(lines) + "\n"
