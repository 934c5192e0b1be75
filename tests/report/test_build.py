"""The whole report stage on a fake project: outputs, byte-stability, self-contained HTML."""

from __future__ import annotations

from pathlib import Path


def test_report_outputs_and_byte_stability(built_report: tuple[Path, dict[str, bytes]]) -> None:
    root, first = built_report
    second = {p.relative_to(root / "reports").as_posix(): p.read_bytes()
              for p in sorted((root / "reports").rglob("*")) if p.is_file()}  # fmt: skip
    assert sorted(second) == sorted(first)
    assert [k for k in first if first[k] != second[k]] == []
    for name in ("table1", "table1_extended", "table2", "main", "all_metrics"):
        for ext in ("md", "tex", "csv"):
            assert f"tables/{name}.{ext}" in first
    for name in ("teaser", "low_density_comparison", "ood_references", "tradeoff", "density", "qualitative_grid"):
        assert f"figures/{name}.png" in first and f"figures/{name}.pdf" in first
    assert "figures/mixing_ablation.png" not in first and "figures/text_edit.png" not in first
    assert {"tables/leaderboard.md", "tables/leaderboard.csv", "index.html"} <= set(first)
    for name, data in first.items():
        if not name.endswith(".png"):
            assert str(root).encode() not in data, f"absolute path in {name}"


def test_table_contents(built_report: tuple[Path, dict[str, bytes]]) -> None:
    _, files = built_report
    t1 = files["tables/table1.md"].decode()
    assert "artfid ↓ AAHQ" in t1 and "id-dlib-resnet ↑ ood" in t1
    assert "alpha-spn0p5" not in t1  # variants stay out of Table 1
    assert "NOT comparable to the paper" in t1
    t2 = files["tables/table2.md"].decode()
    assert "λ=0.1" in t2 and "λ=0.5" in t2 and "w/o SPN" not in t2
    board = files["tables/leaderboard.md"].decode()
    assert "Ranked by the primary metric (artfid" in board
    low_aahq = board.split("### Leaderboard: low_density · AAHQ")[1].split("###")[0]
    lines = [line for line in low_aahq.splitlines() if line.startswith("| ") and "rank" not in line]
    ranked = [line.split("|")[2].strip() for line in lines]
    assert ranked == ["alpha", "beta", "alpha-spn0p5"]  # artfid ↓: alpha 33 < beta 36 < variant 39
    assert "| 2.50" in low_aahq and "| 100" in low_aahq  # fine-tune s/ref and peak MB from costs.csv


def test_html_is_self_contained(built_report: tuple[Path, dict[str, bytes]]) -> None:
    _, files = built_report
    html = files["index.html"].decode()
    assert html.count("data:image/png;base64,") == 6
    assert 'id="table-table1"' in html and 'id="table-leaderboard-0"' in html and 'id="fig-teaser"' in html
    assert 'id="fig-mixing_ablation" class="skipped"' in html and "variants not run" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert 'href="figures/teaser.pdf"' in html


def test_paper_profile_writes_ours_vs_published(tmp_path: Path, monkeypatch) -> None:
    from benchmark.report.build import build_report

    from .fakes import write_project

    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, profile="paper")
    build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
    compared = (tmp_path / "reports/tables/table1_vs_published.md").read_text()
    # alpha is mapped to osasis by report.published.methods
    assert "| OSASIS       | AAHQ          | artfid               | 33.0" in compared
    assert "| 34.890 " in compared and "−1.878" in compared
    assert "NOT comparable" not in (tmp_path / "reports/index.html").read_text()
    assert 'id="table-table1_vs_published"' in (tmp_path / "reports/index.html").read_text()


def test_ablation_feeds_table2_and_mixing_figure_only(tmp_path: Path, monkeypatch) -> None:
    import pandas as pd

    from benchmark.report.build import build_report

    from .fakes import ABLATION, METRICS, SPLITS, _value, add_ablation, write_project

    monkeypatch.chdir(tmp_path)
    write_project(tmp_path)
    add_ablation(tmp_path, reference="aahq_1")
    build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
    t2 = pd.read_csv("reports/tables/table2.csv")
    assert set(t2["setting"]) == {"w/o SPN", "λ=0.1"} and set(t2["split"]) == {"low_density"}
    assert set(t2["n_references"]) == {1}  # the ablation's reference only, for the base row too
    stems = SPLITS["low_density"]
    base = t2[(t2["method"] == "alpha") & (t2["metric"] == "structure-dino-vitb8")]["value"].item()
    expected = sum(_value("alpha", "aahq_1", "low_density", "structure-dino-vitb8", s) for s in stems) / len(stems)
    assert abs(base - expected) < 1e-6
    off = t2[(t2["method"] == "alpha-spn-off") & (t2["metric"] == "structure-dino-vitb8")]["value"].item()
    assert abs(off - base - ABLATION["alpha-spn-off"]) < 1e-6
    assert "Ablation references: aahq_1" in Path("reports/tables/table2.md").read_text()
    for table in ("table1.md", "table1_extended.md", "main.md", "leaderboard.md", "metric_agreement.md"):
        text = Path("reports/tables", table).read_text()
        assert "alpha-spn-off" not in text and "alpha-rev" not in text, table
    assert Path("reports/figures/mixing_ablation.png").is_file()
    assert set(METRICS) <= set(t2["metric"])


def test_paper_profile_table2_vs_published_reads_the_ablation(tmp_path: Path, monkeypatch) -> None:
    from benchmark.report.build import build_report

    from .fakes import add_ablation, write_project

    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, profile="paper")
    add_ablation(tmp_path, reference="aahq_1")
    build_report(Path("results/tidy.csv"), Path("params.yaml"), Path("reports"))
    compared = Path("reports/tables/table2_vs_published.md").read_text()
    assert "w/o SPN" in compared and "36.41" in compared  # published w/o SPN ArtFID beside ours
    rows = {tuple(c.strip() for c in line.split("|")[1:4]): line for line in compared.splitlines()}
    assert "not run" not in rows[("w/o SPN", "AAHQ", "artfid")]  # the ablation variant ran
    assert "not run" in rows[("λ=0.5", "AAHQ", "artfid")]  # no λ=0.5 variant in this fake ablation
