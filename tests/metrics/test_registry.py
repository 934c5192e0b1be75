from __future__ import annotations

import pytest

from benchmark.errors import ConfigError, PairingError
from benchmark.metrics import METRICS, create_metric
from benchmark.metrics.base import EvalSet, Metric


def test_all_builtin_metrics_resolve_and_declare_info():
    for name in METRICS.names():
        cls = METRICS.get(name)
        assert issubclass(cls, Metric)
        assert cls.info.direction in ("lower", "higher")
        assert cls.info.range[0] < cls.info.range[1]
        assert cls.info.protocol


def test_names_encode_protocol():
    names = set(METRICS.names())
    assert {
        "lpips-alex",
        "lpips-vgg",
        "ssim",
        "fid-inception2015",
        "kid-inception2015",
        "artfid",
        "id-arcface-irse50",
        "id-dlib-resnet",
        "structure-dino-vitb8",
        "clip-i-vitl14",
        "gram-vgg16",
        "fid-vgg16",
        "artfid-vgg16",
        "structure-vgg16",
    } <= names


def test_unknown_metric_and_option():
    with pytest.raises(ConfigError):
        create_metric("no-such-metric")
    with pytest.raises(ConfigError, match="unknown option"):
        create_metric("ssim", bogus=1)


def test_pairing_mismatch_raises(folders):
    (folders["stylized"] / "img00.png").rename(folders["stylized"] / "other.png")
    with pytest.raises(PairingError):
        EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"])


def test_style_reference_pairing(folders):
    from benchmark.metrics.common import style_reference_index

    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"])
    assert style_reference_index(data) == [[0]] * 6
    data.style = [folders["stylized"] / "img01.png", folders["style"] / "ref.png"]
    refs = style_reference_index(data)
    assert refs[1] == [0] and refs[0] == [0, 1]
    data.style = []
    with pytest.raises(PairingError):
        style_reference_index(data)
