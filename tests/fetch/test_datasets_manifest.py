"""The paper data manifest (data/assets/datasets.yaml) is well formed, and an offline fetch of it is fast and clear."""

from __future__ import annotations

import re

import pytest

from benchmark.assets import MANIFEST_DIR, manifest
from benchmark.fetch import FetchError, fetch_assets
from benchmark.splits import IN_DOMAIN_GROUPS, OOD_GROUP

DATASETS = MANIFEST_DIR / "datasets.yaml"


@pytest.fixture(scope="module")
def table():
    return manifest(DATASETS)


def test_every_entry_is_complete(table):
    for asset in table.values():
        assert asset.license and asset.license != "unknown", asset.name
        assert asset.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", asset.sha256), asset.name
        assert asset.description, asset.name
        assert asset.url or asset.how_to_get or "collection" in asset.extra, asset.name
        if "raw.githubusercontent.com" in asset.url:
            assert re.search(r"/[0-9a-f]{40}/", asset.url), f"{asset.name}: GitHub URL not pinned to a commit"
        if asset.extra.get("group") and asset.url:
            assert asset.sha256 and asset.size, f"{asset.name}: reference images are pinned"


def test_reference_groups_have_five_each(table):
    groups: dict[str, int] = {}
    for asset in table.values():
        if "group" in asset.extra:
            groups[asset.extra["group"]] = groups.get(asset.extra["group"], 0) + 1
    for group in (*IN_DOMAIN_GROUPS, OOD_GROUP, "osasis_repo_styles"):
        assert groups[group] == 5, group
    assert groups["osasis_repo_inputs"] == 6


def test_offline_paper_fetch_names_each_missing_asset(dirs):
    with pytest.raises(FetchError) as err:
        fetch_assets(None, profile="paper", manifest_path=DATASETS, offline=True)
    report = err.value.report
    assert {o.status for o in report.outcomes} <= {"missing", "skipped"}
    text = str(err.value)
    assert "prev-ref-mermaid" in text and str(dirs["cache"] / "datasets/references/prev/mermaid.png") in text
