"""Table formatting: CI cells, arrows, best in bold per direction, and the three renderers."""

from __future__ import annotations

import math

from benchmark.report.tables import Cell, Table, fmt_ci, fmt_number, wide_table

from .fakes import summary_rows


def test_ci_cell_uses_larger_half_width_and_fixed_digits() -> None:
    assert fmt_ci(0.5, 0.45, 0.58, 3) == "0.500 ± 0.080"
    assert fmt_ci(2.0, 2.0, 2.0, 2) == "2.00 ± 0.00"
    assert fmt_ci(-0.25, -0.3, -0.2, 2) == "−0.25 ± 0.05"
    assert fmt_ci(math.nan, 0, 1, 3) == "–"
    assert fmt_ci(1.0, math.nan, math.nan, 1) == "1.0"
    assert fmt_number(None, 2) == "–"


def test_best_in_bold_follows_direction() -> None:
    summary = summary_rows([
        ("a", "low", "S", "fid", 10.0, 9.0, 11.0, "lower"),
        ("b", "low", "S", "fid", 12.0, 11.0, 13.0, "lower"),
        ("a", "low", "S", "id", 0.5, 0.4, 0.6, "higher"),
        ("b", "low", "S", "id", 0.7, 0.6, 0.8, "higher"),
    ])  # fmt: skip
    table = wide_table(summary, ["fid", "id"], 2, "T")
    assert table.columns == ["split", "reference set", "method", "fid ↓", "id ↑"]
    rows = {r[2].text: r for r in table.rows}
    assert rows["a"][3].bold and not rows["b"][3].bold  # lower is better
    assert rows["b"][4].bold and not rows["a"][4].bold  # higher is better
    md = table.to_markdown()
    assert "**10.00 ± 1.00**" in md and "**0.70 ± 0.10**" in md and "| 12.00 ± 1.00" in md


def test_ties_are_all_bold() -> None:
    summary = summary_rows([("a", "low", "S", "fid", 1.0, 1.0, 1.0, "lower"),
                            ("b", "low", "S", "fid", 1.0, 1.0, 1.0, "lower")])  # fmt: skip
    assert all(r[3].bold for r in wide_table(summary, ["fid"], 1, "T").rows)


def test_renderers_escape_and_mark_bold() -> None:
    table = Table("T_1 & co", ["a|b", "λ ↓"], [[Cell("x_1"), Cell("1.0 ± 0.1", bold=True)]], "cap 95%", ["n"])
    md = table.to_markdown()
    assert "a\\|b" in md and "**1.0 ± 0.1**" in md and md.endswith("n\n")
    tex = table.to_latex()
    assert r"\textbf{1.0 $\pm$ 0.1}" in tex and r"x\_1" in tex and r"95\%" in tex and r"$\lambda$ $\downarrow$" in tex
    html = table.to_html("t1")
    assert '<table id="t1">' in html and '<td class="best"><b>1.0 ± 0.1</b></td>' in html and "T_1 &amp; co" in html
    assert "(no results)" in Table("E", ["a"], []).to_markdown()
