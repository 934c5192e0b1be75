"""Where every pipeline product lives (one place, so stages and reports agree)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError

PREPARED = Path("data/prepared")
RESULTS = Path("results")


@dataclass(frozen=True)
class Layout:
    """Paths of prepared data and results, relative to the repository root (the DVC working dir)."""

    prepared: Path = PREPARED
    results: Path = RESULTS

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Layout:
        paths = params.get("paths", {})
        return cls(prepared=Path(paths.get("prepared", PREPARED)), results=Path(paths.get("results", RESULTS)))

    def split_dir(self, split: str) -> Path:
        return self.prepared / "splits" / split

    def reference_path(self, reference: str) -> Path:
        return self.prepared / "references" / f"{reference}.png"

    def references_index(self) -> Path:
        return self.prepared / "references.json"

    def ground_truth_dir(self, reference: str, split: str) -> Path:
        return self.prepared / "ground_truth" / reference / split

    def model_dir(self, method: str, reference: str) -> Path:
        return self.results / "models" / method / reference

    def stylized_dir(self, method: str, reference: str, split: str) -> Path:
        return self.results / "stylized" / method / reference / split

    def reference_info(self, reference: str) -> dict[str, Any]:
        """The record of ``reference`` in ``references.json`` (set, kind, ground truth...)."""
        index = self.references_index()
        if not index.is_file():
            raise ConfigError(f"{index} not found: run the prepare stage first")
        records = {r["name"]: r for r in json.loads(index.read_text())}
        if reference not in records:
            raise ConfigError(f"reference {reference!r} is not in {index}; known: {sorted(records)}")
        return records[reference]
