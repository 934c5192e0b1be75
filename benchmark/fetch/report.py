"""The fetch report: what each asset's state is after a fetch, written as JSON for the DVC fetch stage."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from benchmark.errors import AssetError
from benchmark.imageio import atomic_write_text


def portable_path(path: str | None) -> str | None:
    """``path`` relative to the repository when inside it, else with the home directory as ``~``."""
    if not path:
        return path
    from benchmark.assets import REPO_ROOT

    resolved = Path(path).absolute()
    if resolved.is_relative_to(REPO_ROOT):
        return str(resolved.relative_to(REPO_ROOT))
    home = Path.home()
    return "~/" + str(resolved.relative_to(home)) if resolved.is_relative_to(home) else str(path)


Status = Literal["present", "downloaded", "missing", "failed", "skipped"]


@dataclass
class AssetOutcome:
    """The result for one asset. ``verified`` is True when a pinned checksum was checked."""

    name: str
    file: str
    status: Status
    path: str | None = None
    verified: bool = False
    sha256: str | None = None
    bytes: int | None = None
    message: str = ""
    where_to_put: str = ""


@dataclass
class FetchReport:
    """All outcomes of one fetch run plus its settings."""

    profile: str | None
    dest: str
    offline: bool
    outcomes: list[AssetOutcome] = field(default_factory=list)

    def by_status(self, *statuses: Status) -> list[AssetOutcome]:
        return [o for o in self.outcomes if o.status in statuses]

    @property
    def missing(self) -> list[AssetOutcome]:
        """Assets not usable after the run (never found, or failed)."""
        return self.by_status("missing", "failed")

    @property
    def ok(self) -> bool:
        return not self.missing

    def unpinned(self) -> list[AssetOutcome]:
        return [o for o in self.outcomes if o.status in ("present", "downloaded") and not o.verified]

    def to_dict(self) -> dict:
        """JSON-ready form; paths are made machine-independent (repository-relative, or ``~/...``)."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        assets = [{**asdict(o), "path": portable_path(o.path)} for o in self.outcomes]
        return {"profile": self.profile, "dest": portable_path(self.dest), "offline": self.offline, "ok": self.ok,
                "counts": counts, "assets": assets}  # fmt: skip

    def write(self, path: str | Path) -> Path:
        """Write the report as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return Path(path)

    def error_message(self) -> str:
        """One message naming every missing asset, why, and where to put a hand-downloaded copy."""
        lines = [f"{len(self.missing)} asset(s) could not be fetched"
                 + (" (offline mode: nothing was downloaded)" if self.offline else "") + ":"]  # fmt: skip
        for o in self.missing:
            lines.append(f"  - {o.name}: {(o.message or o.status).rstrip('.')}. Put a copy at {o.where_to_put}")
        return "\n".join(lines)


class FetchError(AssetError):
    """Some assets are missing after a fetch; ``report`` holds the full outcome."""

    def __init__(self, report: FetchReport) -> None:
        super().__init__(report.error_message())
        self.report = report
