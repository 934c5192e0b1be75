"""Evaluation splits: the OSASIS density split, its file format and folders, rarity scoring, reference groups."""

from __future__ import annotations

from benchmark.splits.candidates import candidate_files, density_candidates
from benchmark.splits.density import SplitResult, density_split, noise_like, sample_candidates
from benchmark.splits.io import materialise_split, read_split, write_split
from benchmark.splits.references import IN_DOMAIN_GROUPS, OOD_GROUP, group_assets, reference_paths
from benchmark.splits.scoring import PrecisionAtK, load_rare_ids, precision_at_k

__all__ = ["IN_DOMAIN_GROUPS", "OOD_GROUP", "PrecisionAtK", "SplitResult", "candidate_files", "density_candidates",
           "density_split", "group_assets",
           "load_rare_ids", "materialise_split", "noise_like", "precision_at_k", "read_split", "reference_paths",
           "sample_candidates", "write_split"]  # fmt: skip
