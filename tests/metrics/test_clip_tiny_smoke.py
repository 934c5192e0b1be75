"""``clip-i-tiny-smoke``: the labelled smoke substitute of CLIP-I, on the committed tiny CLIP."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark import assets
from benchmark.metrics import create_metric
from benchmark.metrics.base import EvalSet
from benchmark.testing import make_test_images


def test_tiny_clip_image_similarity_is_labelled_and_sane(tmp_path: Path) -> None:
    try:
        assets.resolve("clip-tiny-smoke")
    except Exception:  # noqa: BLE001
        pytest.skip("the tiny CLIP is not committed yet")
    content = make_test_images(tmp_path / "c", n=3)
    stylized = make_test_images(tmp_path / "s", n=3, seed=1)
    metric = create_metric("clip-i-tiny-smoke", device="cpu", cache=False)
    assert "NOT clip-i-vitl14" in metric.info.protocol
    data = EvalSet([p.stem for p in content], content, stylized, style=[content[0]], resolution=64)
    result = metric.compute(data)
    assert -1.0 <= result.value <= 1.0
    assert any("smoke substitute" in n for n in result.notes)
    same = metric.compute(EvalSet([p.stem for p in content], content, content, style=[content[0]], resolution=64))
    assert same.per_image[content[0].stem] == pytest.approx(1.0, abs=1e-5)  # the reference itself
