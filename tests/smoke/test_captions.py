"""Captions from the smoke world's ground truth: they name exactly the face's attributes and the style."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.smoke import captions as cap
from benchmark.smoke.faces import HAIR, HAIR_STYLES, SKIN, sample_attributes


def test_full_caption_names_the_ground_truth() -> None:
    for i in range(40):
        a = sample_attributes(3, i, {"hat": 0.5, "glasses": 0.5, "hand": 0.5, "face_paint": 0.5})
        text = cap.full_caption(a, "pencil-sketch")
        assert text.startswith("a pencil sketch of a cartoon face with ")
        assert f"{cap.skin_name(a)} skin" in text
        if a.hair_style == "bald":
            assert "bald head" in text
        else:
            assert f"{cap.hair_phrase(a.hair_colour)} {a.hair_style} hair" in text
        for name, (present, _) in cap.BINARY.items():
            assert (f" {present}" in text) == bool(getattr(a, name)), (name, text)
        assert " no " not in text
    assert cap.full_caption(sample_attributes(3, 0)).startswith("a photo of a cartoon face with ")


def test_skin_name_recovers_the_base_tone() -> None:
    seen = set()
    for i in range(200):
        a = sample_attributes(0, i)
        name = cap.skin_name(a)
        base = SKIN[cap.SKIN_NAMES.index(name)]
        assert max(abs(x - y) for x, y in zip(a.skin, base)) <= 8
        seen.add(name)
    assert seen == set(cap.SKIN_NAMES)


def test_random_caption_is_seeded_and_never_contradicts_the_labels() -> None:
    attrs = [sample_attributes(1, i, {"hat": 0.3, "glasses": 0.3}) for i in range(60)]
    one = [cap.random_caption(a, None, np.random.default_rng(5)) for a in attrs]
    two = [cap.random_caption(a, None, np.random.default_rng(5)) for a in attrs]
    assert one == two
    rng = np.random.default_rng(0)
    for a in attrs:
        lab = cap.labels(a)
        text = cap.random_caption(a, "mosaic", rng)
        assert text.startswith("a pixel mosaic of a cartoon face")
        for name, (present, absent) in cap.BINARY.items():
            if lab[name]:
                assert absent not in text
            else:
                assert f"with {present}" not in text and f", {present}" not in text and f"and {present}" not in text
        words = text.replace(f"{lab['skin']} skin", "").replace("dark brown", "dark-brown").split()
        assert {w for w in words if w in HAIR} <= {a.hair_colour}, text

def test_zero_shot_prompt_sets() -> None:
    assert list(cap.zero_shot_prompts("hair_colour")) == list(HAIR)
    assert list(cap.zero_shot_prompts("hair_style")) == HAIR_STYLES
    assert cap.zero_shot_prompts("hat") == {True: "a photo of a cartoon face with a hat",
                                            False: "a photo of a cartoon face with no hat"}
    styles = cap.zero_shot_prompts("style")
    assert styles[None] == "a photo of a cartoon face" and len(set(styles.values())) == len(styles)
    with pytest.raises(ValueError, match="unknown attribute"):
        cap.zero_shot_prompts("nose")
