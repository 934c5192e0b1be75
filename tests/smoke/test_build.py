"""build_smoke_world: documented layout, byte determinism, and ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.errors import ConfigError
from benchmark.smoke import magenta
from benchmark.smoke.build import build_smoke_world, ground_truth, resolve_params

TINY = {
    "n_train": 3,
    "n_pool": 2,
    "n_heldout": 2,
    "size": 32,
    "in_domain_styles": ["posterize-ink", "mosaic"],
    "ood_inputs": ["astronaut", "chelsea"],
}
if not magenta.magenta_available():
    TINY["ood_references"] = [{"stylizer": "pencil-sketch", "photo": "grace-hopper"}]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    manifest = build_smoke_world(root, TINY)
    return root, manifest


def test_layout(world):
    root, manifest = world
    for split, n in (("train", 3), ("pool", 2), ("heldout", 2)):
        names = sorted(p.name for p in (root / "faces" / split).iterdir())
        assert names == [f"{i:05d}.png" for i in range(n)] + ["attributes.json"]
    refs = json.loads((root / "references" / "references.json").read_text())
    n_ood = len(TINY.get("ood_references", resolve_params({})["ood_references"]))
    assert [r["kind"] for r in refs] == ["in-domain"] * 2 + ["ood"] * n_ood
    for r in refs:
        assert (root / "references" / f"{r['name']}.png").is_file()
        assert (root / r["source_file"]).is_file() and r["ground_truth"] is True
        assert r["name"].split("_", 1)[0] == r["stylizer"]
    in_domain = [r for r in refs if r["kind"] == "in-domain"]
    assert all((root / r["source"]).is_file() for r in in_domain)
    assert sorted(p.name for p in (root / "ood_inputs").iterdir()) == ["astronaut.png", "chelsea.png"]
    assert json.loads((root / "world.json").read_text()) == json.loads(json.dumps(manifest))
    assert manifest["counts"]["train"] == 3


def test_byte_deterministic(world, tmp_path):
    root, _ = world
    build_smoke_world(tmp_path / "again", TINY)
    assert _files(tmp_path / "again") == _files(root)
    other = build_smoke_world(tmp_path / "other", {**TINY, "seed": 1, "ood_references": [], "ood_inputs": []})
    assert other["split_seeds"]["train"] != json.loads((root / "world.json").read_text())["split_seeds"]["train"]
    assert (tmp_path / "other/faces/train/00000.png").read_bytes() != (root / "faces/train/00000.png").read_bytes()


def test_ground_truth_of_reference_is_reference(world, tmp_path):
    root, _ = world
    refs = json.loads((root / "references" / "references.json").read_text())
    for r in refs:
        src = tmp_path / r["name"] / "in"
        src.mkdir(parents=True)
        (src / "x.png").write_bytes((root / r["source_file"]).read_bytes())
        out = ground_truth(r["name"], src, tmp_path / r["name"] / "gt", world_dir=root)
        assert out[0].read_bytes() == (root / "references" / f"{r['name']}.png").read_bytes()
    # without world_dir the stylizer is read from the reference name
    out = ground_truth(refs[0]["name"], root / "faces" / "heldout", tmp_path / "gt2")
    assert [p.name for p in out] == ["00000.png", "00001.png"]


def test_bad_params():
    with pytest.raises(ConfigError, match="unknown smoke-world params"):
        resolve_params({"n_trian": 3})
    with pytest.raises(ConfigError, match="unknown stylizer"):
        resolve_params({"in_domain_styles": ["cubism"]})
    with pytest.raises(ConfigError, match="n_pool"):
        resolve_params({"n_pool": -1})


def test_cli(tmp_path, capsys):
    from benchmark.smoke.build import main

    params = {**TINY, "n_train": 1, "ood_references": [], "ood_inputs": [], "in_domain_styles": ["mosaic"]}
    assert main([str(tmp_path / "w"), "--params", json.dumps(params)]) == 0
    assert json.loads(capsys.readouterr().out)["train"] == 1
    assert (tmp_path / "w" / "references" / "references.json").is_file()
