"""How well a density split finds known-rare images (the smoke domain records ground-truth rarity)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from benchmark.splits.density import SplitResult


@dataclass(frozen=True)
class PrecisionAtK:
    """``hits`` of the ``k`` low-density ids are truly rare; ``n_rare`` rare ids were among the candidates."""

    k: int
    hits: int
    n_rare: int
    hit_ids: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.hits / self.k if self.k else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.n_rare if self.n_rare else 0.0

    def to_dict(self) -> dict:
        return {"k": self.k, "hits": self.hits, "n_rare": self.n_rare, "precision": self.precision,
                "recall": self.recall, "hit_ids": list(self.hit_ids)}  # fmt: skip


def precision_at_k(split: SplitResult, rare_ids: Iterable[str]) -> PrecisionAtK:
    """Precision (and recall) of the low-density split against the ids known to be rare."""
    rare = {str(i) for i in rare_ids} & set(split.ids)
    hits = tuple(i for i in split.low_density if i in rare)
    return PrecisionAtK(k=split.k, hits=len(hits), n_rare=len(rare), hit_ids=hits)


def load_rare_ids(path: str | Path, attribute: str | None = None) -> list[str]:
    """Ids with a rare attribute (any, or only ``attribute``).

    Reads the smoke domain's ``attributes.jsonl`` (one ``{"id", "file", "rare": [...], ...}`` per line; the id used
    by splits is the file stem), or a JSON list of ids, or a JSON object with a ``rare`` list.
    """
    path = Path(path)
    if path.suffix == ".jsonl":
        out = []
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                rare = record.get("rare") or []
                if (attribute in rare) if attribute else rare:
                    out.append(Path(record["file"]).stem if record.get("file") else str(record["id"]))
        return out
    data = json.loads(path.read_text())
    if isinstance(data, list):
        return [str(i) for i in data]
    return [str(i) for i in data.get("rare", [])]
