"""The procedural face domain: determinism, sizes, attribute records and rare-attribute rates."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from benchmark.errors import ConfigError
from benchmark.imageio import validate_folder
from benchmark.smoke.faces import (
    DEFAULT_RARE_RATES,
    generate_faces,
    read_attributes,
    sample_attributes,
    sample_rare,
    write_face_dataset,
)


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def test_same_seed_same_bytes_and_different_seed_differs():
    a = generate_faces(6, seed=3)
    b = generate_faces(6, seed=3)
    c = generate_faces(6, seed=4)
    assert [_png(img) for img, _ in a] == [_png(img) for img, _ in b]
    assert all(_png(x) != _png(y) for (x, _), (y, _) in zip(a, c))
    assert [r.to_json() for _, r in a] == [r.to_json() for _, r in b]


def test_image_depends_only_on_seed_and_index():
    full = generate_faces(4, seed=9)
    tail = generate_faces(2, seed=9, start=2)
    assert _png(full[2][0]) == _png(tail[0][0]) and tail[1][1].index == 3


@pytest.mark.parametrize("size", [32, 64, 100])
def test_size_and_mode(size):
    ((img, attrs),) = generate_faces(1, seed=0, size=size)
    assert img.size == (size, size) and img.mode == "RGB"
    arr = np.asarray(img, dtype=np.float32)
    assert arr.std() > 20  # not a flat image
    json.dumps(attrs.to_json())


def test_faces_vary_and_are_aligned():
    imgs = np.stack([np.asarray(img, dtype=np.float32) for img, _ in generate_faces(24, seed=1)])
    assert imgs.std(axis=0).mean() > 25  # real variety between faces
    # aligned: the eye rows are darker than the forehead and cheeks on average (pupils, irises)
    eye_row = imgs[:, 29:32, 20:44].mean()
    cheek_row = imgs[:, 37:40, 20:44].mean()
    assert eye_row < cheek_row


def test_rare_flags_match_record():
    for i in range(200):
        attrs = sample_attributes(5, i)
        assert attrs.rare == [name for name in DEFAULT_RARE_RATES if getattr(attrs, name)]
        assert attrs.rare == sample_rare(5, i)


@pytest.mark.parametrize("rates", [DEFAULT_RARE_RATES, {"hat": 0.2, "glasses": 0.0, "hand": 0.5, "face_paint": 0.1}])
def test_rare_frequencies_within_binomial_tolerance(rates):
    n = 1500
    records = [sample_rare(11, i, rates) for i in range(n)]
    for name, rate in rates.items():
        count = sum(name in r for r in records)
        sigma = math.sqrt(n * rate * (1 - rate))
        assert abs(count - n * rate) <= 4 * sigma + 1, (name, count, n * rate)


def test_changing_rates_keeps_common_attributes():
    a = sample_attributes(2, 7, {"hat": 0.0, "glasses": 0.0, "hand": 0.0, "face_paint": 0.0})
    b = sample_attributes(2, 7, {"hat": 1.0, "glasses": 1.0, "hand": 1.0, "face_paint": 1.0})
    assert a.rare == [] and b.rare == list(DEFAULT_RARE_RATES)
    assert (a.head_rx, a.hair_style, a.skin) == (b.head_rx, b.hair_style, b.skin)


def test_bad_rates_raise():
    with pytest.raises(ConfigError, match="unknown rare attribute"):
        sample_rare(0, 0, {"moustache": 0.1})
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        sample_rare(0, 0, {"hat": 1.5})


def test_write_face_dataset(tmp_path):
    out = write_face_dataset(tmp_path / "faces", n=5, seed=2, size=32)
    assert sorted(p.name for p in out.iterdir()) == [f"{i:05d}.png" for i in range(5)] + ["attributes.json"]
    records = read_attributes(out)
    assert [r["id"] for r in records] == list(range(5))
    assert all(set(r) == {"id", "file", "rare", "attributes"} for r in records)
    assert [p.name for p in validate_folder(out)] == [r["file"] for r in records]  # a valid input folder
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    write_face_dataset(tmp_path / "faces", n=5, seed=2, size=32)  # replacing a dataset is allowed
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_write_face_dataset_refuses_foreign_folder(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a face dataset"):
        write_face_dataset(tmp_path / "other", n=1, seed=0)
    assert (tmp_path / "other" / "keep.txt").exists()
