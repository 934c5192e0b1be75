"""Procedural stylizers: deterministic, size-preserving, image-changing, with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import ConfigError
from benchmark.imageio import load_pil
from benchmark.smoke.faces import generate_faces
from benchmark.smoke.stylizers import STYLIZERS, apply_style, stylize_folder, write_style_task


@pytest.fixture(scope="module")
def faces():
    return [img for img, _ in generate_faces(3, seed=0, size=64)]


@pytest.mark.parametrize("name", sorted(STYLIZERS))
def test_stylizer_contract(name, faces):
    for img in faces:
        out = apply_style(name, img)
        again = apply_style(name, img.copy())
        assert out.size == img.size and out.mode == "RGB"
        assert np.array_equal(np.asarray(out), np.asarray(again))
        assert np.abs(np.asarray(out, np.float32) - np.asarray(img, np.float32)).mean() > 5


@pytest.mark.parametrize("name", sorted(STYLIZERS))
@pytest.mark.parametrize("size", [(40, 56), (128, 128)])
def test_stylizers_handle_other_sizes(name, size, faces):
    img = faces[0].resize(size)
    assert apply_style(name, img).size == size


def test_stylizers_are_distinct(faces):
    outs = {name: np.asarray(apply_style(name, faces[0]), np.float32) for name in STYLIZERS}
    names = sorted(outs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(outs[a] - outs[b]).mean() > 5, (a, b)


def test_unknown_stylizer(faces):
    with pytest.raises(ConfigError, match="unknown stylizer"):
        apply_style("cubism", faces[0])


def test_style_task_ground_truth_of_reference_is_reference(tmp_path, faces):
    task = write_style_task("mosaic", faces[0], {"a": faces[0], "b": faces[1]}, tmp_path / "task")
    assert (task / "reference.png").read_bytes() == (task / "ground_truth" / "a.png").read_bytes()
    out = stylize_folder("mosaic", task / "inputs", tmp_path / "gt")
    assert [p.name for p in out] == ["a.png", "b.png"]
    assert np.array_equal(np.asarray(load_pil(out[1])), np.asarray(load_pil(task / "ground_truth" / "b.png")))
