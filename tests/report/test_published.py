"""The published numbers as data, and ours-vs-published differences."""

from __future__ import annotations

import math

import pytest

from benchmark.report.paper import NOT_RUN, paper_tables, table2
from benchmark.report.published import load_published, published_table1

from .fakes import params, summary_rows


def test_published_file_holds_both_tables() -> None:
    pub = load_published()
    assert pub.value("osasis", "AAHQ", "artfid") == pytest.approx(34.89)
    assert pub.value("mtg-hfgi", "metfaces", "artfid") == pytest.approx(38.02)  # case-insensitive set names
    assert pub.value("inst", "prev_references", "artfid") == pytest.approx(35.86)  # paper-profile set names
    assert pub.value("diffuseit", "Prev", "structure-dino-vitb8") == pytest.approx(0.0310)
    assert len(pub.table1) == 5 and all(len(sets) == 3 for sets in pub.table1.values())
    assert list(pub.table2) == ["w/o SPN", "λ=0.1", "λ=0.5", "λ=1.0"]
    assert pub.table2["λ=1.0"]["id-arcface-irse50"] == pytest.approx(0.7321)
    assert pub.table2["λ=0.1"] == pub.table1["osasis"]["AAHQ"]  # Table 2 repeats the AAHQ column
    md = published_table1(pub).to_markdown()
    assert "**34.89**" in md and "**38.02**" in md and "**0.7323**" in md  # best per column as printed


def _ours(profile: str):
    rows = [("osasis", "low_density", "aahq_references", "artfid", 35.89, 35.0, 36.5, "lower"),
            ("osasis", "low_density", "aahq_references", "id-arcface-irse50", 0.6800, 0.67, 0.70, "higher")]
    p = params(profile)
    p["methods"] = ["osasis"]
    p["method_cfg"] = {}
    p["report"]["table1"]["metrics"] = ["artfid", "id-arcface-irse50", "structure-dino-vitb8"]
    p["report"]["published"] = {"methods": {}}
    p["report"]["table2"] = {"split": "low_density", "reference_set": "AAHQ", "variants": {"osasis": "λ=0.1"}}
    return summary_rows(rows), p


def test_paper_profile_prints_published_beside_ours_with_difference() -> None:
    summary, p = _ours("paper")
    out = paper_tables(summary, p, load_published())
    rows = out.raw["table1_vs_published"].set_index(["key", "reference_set", "metric"])
    artfid = rows.loc[("osasis", "AAHQ", "artfid")]
    assert artfid["published"] == pytest.approx(34.89) and artfid["difference"] == pytest.approx(1.0)
    assert not artfid["published_in_ci"]
    ident = rows.loc[("osasis", "AAHQ", "id-arcface-irse50")]
    assert ident["difference"] == pytest.approx(-0.0025) and ident["published_in_ci"]
    assert math.isnan(rows.loc[("inst", "Prev", "artfid")]["ours"])  # not run: kept with NaN
    md = out.tables["table1_vs_published"].to_markdown()
    assert "| +1.000 " in md and "−0.0025" in md and "not run" in md and "| 0.6992" in md
    assert md.index("MTG+HFGI") < md.index("OSASIS")  # the paper's row order
    t2 = out.raw["table2_vs_published"].set_index(["key", "metric"])
    assert t2.loc[("λ=0.1", "artfid")]["difference"] == pytest.approx(1.0)
    assert "NOT comparable" not in out.tables["table1"].to_markdown()


def test_smoke_profile_is_labelled_not_comparable() -> None:
    summary, p = _ours("smoke")
    out = paper_tables(summary, p, load_published())
    assert "table1_vs_published" not in out.tables
    assert "NOT comparable to the paper" in out.tables["table1"].to_markdown()


def test_table2_without_variants_says_not_run() -> None:
    summary = summary_rows([("beta", "low_density", "AAHQ", "artfid", 1.0, 0.9, 1.1, "lower")])
    table, raw = table2(summary, {"osasis-spn-off": "w/o SPN"}, ["artfid"], "low_density", None, 3, {})
    assert not table.rows and not len(raw)
    assert NOT_RUN in table.to_markdown()


def test_table2_renders_present_variants_in_config_order() -> None:
    summary = summary_rows([
        ("v1", "low_density", "AAHQ", "artfid", 2.0, 1.9, 2.1, "lower"),
        ("v0", "low_density", "AAHQ", "artfid", 1.0, 0.9, 1.1, "lower"),
        ("v0", "low_density", "MetFaces", "artfid", 5.0, 4.9, 5.1, "lower"),
    ])  # fmt: skip
    table, _ = table2(summary, {"v1": "λ=1", "v0": "off", "v9": "absent"}, ["artfid"], "low_density", "aahq", 2, {})
    assert [r[0].text for r in table.rows] == ["λ=1", "off"]
    assert table.rows[1][2].bold and table.rows[1][2].text == "1.00 ± 0.10"
