"""CLIP, DINO structure, Gram, ArcFace and dlib identity metrics on tiny inputs / tiny networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark import imageio
from benchmark.errors import AssetError, CheckpointError
from benchmark.features.dino_vit import DinoViT, ViTConfig, load_dino
from benchmark.metrics import create_metric
from benchmark.metrics.base import EvalSet

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_VIT = {"patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2, "img_size": 32}


@pytest.fixture
def tiny_clip():
    from open_clip import factory

    factory._MODEL_CONFIGS["osasis-tiny-test"] = TINY_CLIP
    yield "osasis-tiny-test"
    factory._MODEL_CONFIGS.pop("osasis-tiny-test", None)


def test_clip_similarity_matches_open_clip(folders, tiny_clip):
    import open_clip
    from PIL import Image

    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"], resolution=32)
    res = create_metric("clip-i-vitl14", random_weights=True, arch=tiny_clip, seed=3).compute(data)
    torch.manual_seed(3)
    model, _, preprocess = open_clip.create_model_and_transforms(tiny_clip, pretrained=None)
    model.eval()

    def embed(path):
        img = imageio.resize_pil(Image.open(path).convert("RGB"), 32)
        with torch.no_grad():
            return torch.nn.functional.normalize(model.encode_image(preprocess(img).unsqueeze(0)), dim=1)[0]

    ref = embed(data.style[0])
    expected = [float(embed(p) @ ref) for p in data.stylized]
    assert list(res.per_image.values()) == pytest.approx(expected, abs=1e-5)
    assert any("random weights (smoke)" in n for n in res.notes)


def test_clip_missing_weights_names_file():
    with pytest.raises(AssetError, match="ViT-L-14.pt"):
        create_metric("clip-i-vitl14")


def test_dino_strict_loading(tmp_path):
    cfg = ViTConfig(**TINY_VIT)
    model, _ = load_dino(cfg, random_weights=True, seed=1)
    keys = set(model.state_dict())
    assert {
        "cls_token",
        "pos_embed",
        "patch_embed.proj.weight",
        "blocks.0.attn.qkv.weight",
        "blocks.1.mlp.fc2.bias",
        "norm.weight",
    } <= keys
    path = tmp_path / "dino.pth"
    torch.save(model.state_dict(), path)
    loaded, _ = load_dino(cfg, path=path)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded.last_keys(x), model.last_keys(x))
    torch.save({**model.state_dict(), "head.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="unexpected"):
        load_dino(cfg, path=path)


def test_dino_pos_embed_interpolation():
    model = DinoViT(ViTConfig(**TINY_VIT))
    assert model.last_keys(torch.rand(1, 3, 48, 40)).shape == (1, 1 + 6 * 5, 32)


def test_structure_metric(folders):
    opts = {"random_weights": True, "vit_config": TINY_VIT, "short_side": 32, "protocol": "clean"}
    same = EvalSet.from_folders(folders["content"], folders["content"], resolution=32)
    assert create_metric("structure-dino-vitb8", **opts).compute(same).value == pytest.approx(0.0, abs=1e-10)
    data = EvalSet.from_folders(folders["content"], folders["stylized"], resolution=32)
    a = create_metric("structure-dino-vitb8", batch_size=2, **opts).compute(data)
    b = create_metric("structure-dino-vitb8", batch_size=8, **opts).compute(data)
    assert a.value > 0 and a.per_image == pytest.approx(b.per_image, rel=1e-5)


def test_gram_metric_real_vgg(folders):
    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"], resolution=32)
    res = create_metric("gram-vgg16").compute(data)
    assert res.value > 0 and res.direction == "lower" and not res.notes
    self_ref = EvalSet.from_folders(folders["style"], folders["style"], folders["style"], resolution=32)
    assert create_metric("gram-vgg16").compute(self_ref).value == pytest.approx(0.0, abs=1e-12)


def test_arcface_tiny_random(folders):
    data = EvalSet.from_folders(folders["content"], folders["stylized"], resolution=32)
    res = create_metric("id-arcface-irse50", random_weights=True, width=8, batch_size=4).compute(data)
    assert -1 <= res.value <= 1 and res.n == 6
    same = EvalSet.from_folders(folders["content"], folders["content"], resolution=32)
    assert create_metric("id-arcface-irse50", random_weights=True, width=8).compute(same).value == pytest.approx(1.0)
    with pytest.raises(AssetError, match="model_ir_se50.pth"):
        create_metric("id-arcface-irse50")


def test_dlib_identity_real_faces(tmp_path):
    import matplotlib.cbook as cbook
    from PIL import Image
    from skimage import data as skdata

    astro = Image.fromarray(skdata.astronaut()).crop((100, 0, 356, 256))
    hopper = Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    for d in ("c", "s"):
        (tmp_path / d).mkdir()
    astro.save(tmp_path / "c" / "a.png")
    astro.transpose(Image.FLIP_LEFT_RIGHT).save(tmp_path / "s" / "a.png")
    astro.save(tmp_path / "c" / "b.png")
    hopper.save(tmp_path / "s" / "b.png")
    res = create_metric("id-dlib-resnet").compute(EvalSet.from_folders(tmp_path / "c", tmp_path / "s", resolution=128))
    assert res.per_image["a"] > res.per_image["b"]
    assert any("no face detected" in n for n in res.notes)


def test_dlib_no_face_fallback(folders):
    res = create_metric("id-dlib-resnet").compute(
        EvalSet.from_folders(folders["content"], folders["stylized"], resolution=32)
    )
    assert np.isfinite(res.value)
    assert any("stylized 6/6" in n for n in res.notes)
