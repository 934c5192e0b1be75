"""Smoke substitutes on real ImageNet VGG16 weights: fid-vgg16, artfid-vgg16, structure-vgg16."""

from __future__ import annotations

import pytest

from benchmark.errors import ConfigError
from benchmark.metrics import create_metric
from benchmark.metrics.base import EvalSet

SET_OPTS = {"allow_small_n": True, "n_boot": 10}


def test_structure_vgg16_zero_on_identical_and_batch_invariant(folders):
    same = EvalSet.from_folders(folders["content"], folders["content"], resolution=32)
    assert create_metric("structure-vgg16").compute(same).value == pytest.approx(0.0, abs=1e-12)
    data = EvalSet.from_folders(folders["content"], folders["stylized"], resolution=32)
    a = create_metric("structure-vgg16", batch_size=2).compute(data)
    b = create_metric("structure-vgg16", batch_size=6).compute(data)
    assert a.value > 0 and a.per_image == pytest.approx(b.per_image, rel=1e-6)
    assert a.protocol_mode is None and any("smoke substitute" in n for n in a.notes)


def test_structure_vgg16_grows_with_structural_change(folders):
    """The ground truth (stylized + small noise) keeps the stylized image's structure better than the content."""
    vs_truth = create_metric("structure-vgg16").compute(EvalSet.from_folders(folders["gt"], folders["stylized"],
                                                                             resolution=32))  # fmt: skip
    vs_content = create_metric("structure-vgg16").compute(EvalSet.from_folders(folders["content"],
                                                                               folders["stylized"], resolution=32))
    assert vs_truth.value < vs_content.value


def test_artfid_vgg16_is_the_artfid_formula_on_fid_vgg16(evalset):
    art = create_metric("artfid-vgg16", **SET_OPTS).compute(evalset)
    fid = create_metric("fid-vgg16", **SET_OPTS).compute(evalset)
    lp = create_metric("lpips-alex").compute(evalset)
    assert art.value == pytest.approx((1 + lp.value) * (1 + fid.value), rel=1e-6)
    assert art.protocol_mode is None and fid.protocol_mode is None
    assert any("substitute" in n and "ArtFID" in n for n in art.notes)
    assert len(art.bootstrap) == SET_OPTS["n_boot"]


def test_fid_vgg16_of_a_set_against_itself_is_zero(folders):
    data = EvalSet.from_folders(folders["content"], folders["content"], folders["content"], resolution=32)
    assert create_metric("fid-vgg16", **SET_OPTS).compute(data).value == pytest.approx(0.0, abs=1e-6)


def test_substitutes_have_no_protocol_option():
    with pytest.raises(ConfigError, match="no reference implementation"):
        create_metric("fid-vgg16", protocol="reference")
