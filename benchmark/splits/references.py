"""Reference sets of the paper profile, as manifest groups (``group:`` field of ``data/assets/datasets.yaml``).

Groups: ``aahq_references``, ``metfaces_references``, ``prev_references`` (the three Table 1 columns, 5 each),
``osasis_repo_styles`` and ``osasis_repo_inputs`` (the images shipped with the OSASIS code), and
``ood_references``: non-face or strongly non-FFHQ artworks for the out-of-domain experiment (paper Fig. 1b/5,
qualitative; the paper does not list its images, so the suite fixes its own set). OOD references are kept
apart from the in-domain columns and never enter Table 1 aggregates.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.assets import Asset, manifest, resolve

IN_DOMAIN_GROUPS = ("aahq_references", "metfaces_references", "prev_references")
OOD_GROUP = "ood_references"


def group_assets(group: str, manifest_path: str | Path | None = None) -> list[Asset]:
    """Manifest entries of ``group`` in manifest order."""
    return [a for a in manifest(manifest_path).values() if a.extra.get("group") == group]


def reference_paths(group: str) -> dict[str, Path]:
    """Resolved (verified) files of a reference group, by reference name (file stem)."""
    return {Path(a.file).stem: resolve(a.name) for a in group_assets(group)}
