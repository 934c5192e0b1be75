"""Density split on synthetic images with a fake reconstructor whose error is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark import seeding
from benchmark.errors import ConfigError
from benchmark.splits import (
    SplitResult,
    density_split,
    load_rare_ids,
    materialise_split,
    noise_like,
    precision_at_k,
    read_split,
    sample_candidates,
    write_split,
)

# brightness of each synthetic image; the fake reconstructor's error grows with it
LEVELS = {"00007": 40, "00011": 230, "00023": 90, "00042": 200, "00050": 10, "00061": 150, "00077": 120,
          "00080": 60}  # fmt: skip


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    rng = np.random.default_rng(0)
    for image_id, level in LEVELS.items():
        arr = np.clip(level + rng.integers(-5, 6, size=(16, 16, 3)), 0, 255).astype(np.uint8)
        path = tmp_path / "src" / f"{image_id}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(arr, "RGB").save(path)
        paths.append(path)
    return paths


def fake_reconstruct(x: torch.Tensor, gens) -> torch.Tensor:
    """Error proportional to brightness, plus a small seeded jitter (a 'stochastic reconstruction')."""
    noise = noise_like(x.shape[1:], gens)
    return x + x.mean(dim=(1, 2, 3), keepdim=True) * (0.5 + 0.05 * noise)


def mean_abs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean(dim=(1, 2, 3))


def test_split_picks_the_known_hardest_and_easiest(images):
    result = density_split(images, fake_reconstruct, mean_abs, k=3, seed=1, batch_size=3, resolution=8,
                           reconstructor="fake", distance_name="mean_abs")  # fmt: skip
    by_level = sorted(LEVELS, key=LEVELS.get)
    assert result.low_density == by_level[::-1][:3]
    assert result.high_density == by_level[:3]
    assert result.ranks()["00011"] == 1 and result.ranks()["00050"] == len(LEVELS)
    assert result.settings["N"] == 8 and result.settings["reconstructor"] == "fake"
    assert result.settings["resolution"] == 8 and "code_version" in result.settings


def test_scores_do_not_depend_on_batch_size_or_order_and_follow_the_seed(images):
    one = density_split(images, fake_reconstruct, mean_abs, k=2, seed=5, batch_size=1, resolution=8)
    many = density_split(images[::-1], fake_reconstruct, mean_abs, k=2, seed=5, batch_size=4, resolution=8)
    other = density_split(images, fake_reconstruct, mean_abs, k=2, seed=6, batch_size=1, resolution=8)
    assert dict(zip(one.ids, one.scores)) == pytest.approx(dict(zip(many.ids, many.scores)), abs=1e-6)
    assert one.scores != other.scores


def test_split_file_round_trips(images, tmp_path):
    result = density_split(images, fake_reconstruct, mean_abs, k=2, seed=1, batch_size=4, resolution=8)
    path = write_split(result, tmp_path / "splits" / "density.json")
    back = read_split(path)
    assert back.ids == [result.ids[i] for i in result.order()]
    assert dict(zip(back.ids, back.scores)) == dict(zip(result.ids, result.scores))
    assert back.low_density == result.low_density and back.high_density == result.high_density
    assert back.settings == result.settings
    data = json.loads(path.read_text())
    assert [im["rank"] for im in data["images"]] == list(range(1, 9))
    assert list(path.parent.iterdir()) == [path]  # atomic write leaves no temporary file


def test_materialise_writes_resized_pngs_and_keeps_originals(images, tmp_path):
    result = density_split(images, fake_reconstruct, mean_abs, k=2, seed=1, batch_size=8, resolution=8)
    folders = materialise_split(result, images, tmp_path / "out", resolution=8)
    low = folders["low_density"]
    assert sorted(p.name for p in low.glob("*.png")) == sorted(f"{i}.png" for i in result.low_density)
    with Image.open(low / f"{result.low_density[0]}.png") as img:
        assert img.size == (8, 8)
    original = low / "originals" / f"{result.low_density[0]}.png"
    assert original.is_symlink() and original.resolve() == (tmp_path / "src" / original.name).resolve()


def test_invalid_k_and_duplicate_ids(images, tmp_path):
    with pytest.raises(ConfigError, match="2k"):
        density_split(images, fake_reconstruct, mean_abs, k=5, seed=0, resolution=8)
    dup = tmp_path / "other" / images[0].name
    dup.parent.mkdir()
    dup.write_bytes(images[0].read_bytes())
    with pytest.raises(ConfigError, match="unique"):
        density_split([images[0], dup], fake_reconstruct, mean_abs, k=1, seed=0, resolution=8)


def test_precision_at_k_counts_rare_hits():
    split = SplitResult(ids=["a", "b", "c", "d", "e", "f"], scores=[0.9, 0.1, 0.8, 0.2, 0.7, 0.3], k=3)
    assert split.low_density == ["a", "c", "e"]
    score = precision_at_k(split, ["a", "e", "b", "zzz"])
    assert (score.hits, score.k, score.n_rare) == (2, 3, 3)
    assert score.precision == pytest.approx(2 / 3) and score.recall == pytest.approx(2 / 3)
    assert score.hit_ids == ("a", "e")


def test_load_rare_ids_from_smoke_attributes(tmp_path):
    lines = [{"id": 0, "file": "00000.png", "rare": []}, {"id": 1, "file": "00001.png", "rare": ["hat"]},
             {"id": 2, "file": "00002.png", "rare": ["glasses", "hat"]}]  # fmt: skip
    path = tmp_path / "attributes.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert load_rare_ids(path) == ["00001", "00002"]
    assert load_rare_ids(path, attribute="glasses") == ["00002"]


def test_sample_candidates_is_seeded_and_distinct():
    a = sample_candidates(70000, 200, seed=0)
    assert a == sample_candidates(70000, 200, seed=0) and a != sample_candidates(70000, 200, seed=1)
    assert len(set(a)) == 200 and all(len(i) == 5 for i in a) and a == sorted(a)
    with pytest.raises(ConfigError):
        sample_candidates(10, 11, seed=0)


def test_averaging_decodes_keeps_decode_zero_and_records_the_setting(images):
    """n_decodes=1 is the single-decode split; n>1 averages decodes whose first one is that same decode."""
    one = density_split(images, fake_reconstruct, mean_abs, k=2, seed=5, batch_size=3, resolution=8)
    four = density_split(images, fake_reconstruct, mean_abs, k=2, seed=5, batch_size=3, resolution=8, n_decodes=4)
    assert "n_decodes" not in one.settings and four.settings["n_decodes"] == 4
    assert four.scores != one.scores
    assert four.scores == pytest.approx(one.scores, rel=0.1)  # the same quantity, less decode noise
    ids = [p.stem for p in images]

    def decode(j: int) -> list[float]:
        keys = [(i,) if j == 0 else (i, "decode", j) for i in ids]
        rec = lambda x, _gens: fake_reconstruct(x, [seeding.generator(5, *key) for key in keys])  # noqa: E731
        return density_split(images, rec, mean_abs, k=2, seed=5, batch_size=len(images), resolution=8).scores

    manual = np.mean([decode(j) for j in range(4)], axis=0)
    assert four.scores == pytest.approx(list(manual), rel=1e-6)
    with pytest.raises(ConfigError, match="n_decodes"):
        density_split(images, fake_reconstruct, mean_abs, k=2, seed=5, n_decodes=0)
