"""InST: tokenizer ids, uint8 cast, embedding manager, placeholder replacement, key converter, schedule, resumable
training, official embedding loading (stubs) and the method contract on the committed smoke model."""

from __future__ import annotations

import gzip
import json
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from baselines.inst import configs as C
from baselines.inst.convert import convert_ldm_state, read_sd_checkpoint
from baselines.inst.diffusion import InferenceSettings, decode_timesteps, ldm_alphas_cumprod
from baselines.inst.embedding import Attentions, ImageTower, PromptEncoder, uint8_cast
from baselines.inst.tokenizer import token_id, tokenize
from baselines.inst.train import STATE_FILE, TrainSettings, train_embedding
from baselines.inst.weights import load_official_embedding
from benchmark.errors import CheckpointError, ConfigError
from benchmark.methods import create_method
from benchmark.testing import MethodContract

DATA = Path(__file__).parent / "data"
PROMPTS = ["*", "", "a painting in the style of *", "Hello, World! it's 3.14 cafés   naïve", "x " * 100,
           "An OIL painting of a cat wearing a hat, trending on artstation", "*.* ** 😀 naïve—dash"]  # fmt: skip


def test_tokenizer_matches_open_clip_reference() -> None:
    import open_clip

    ours, ref = tokenize(PROMPTS), open_clip.get_tokenizer("ViT-L-14")(PROMPTS)
    assert ours.shape == ref.shape == (len(PROMPTS), 77)
    for row_ours, row_ref in zip(ours, ref):
        n = int((row_ref != 0).sum())  # open_clip pads with 0, ldm/transformers with <|endoftext|>
        assert torch.equal(row_ours[:n], row_ref[:n])
        assert (row_ours[n:] == 49407).all()
    assert token_id("*") == 265 and ours[4, -1] == 49407  # truncated rows still end in EOS


def test_uint8_cast_reproduces_numpy() -> None:
    x = torch.tensor([-1.0, -0.99, -0.5, 0.0, 0.5, 0.99, 1.0]).view(1, 1, 1, 7).expand(1, 3, 1, 7)
    expected = x[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert torch.equal(uint8_cast(x)[0], torch.from_numpy(expected))
    assert uint8_cast(x)[0, 0, :, 0].tolist() == [255, 0, 0, 0, 0, 0, 1]
    assert uint8_cast(x, fix=True)[0, 0, :, 0].tolist() == [0, 1, 64, 128, 191, 254, 255]


def test_attention_single_key_reduces_to_value_path() -> None:
    torch.manual_seed(0)
    att = Attentions().eval()
    e = torch.randn(1, 768)
    with torch.no_grad():
        expected = att.net[1](att.attn2.to_out[0](att.attn2.to_v(e)))
        assert torch.allclose(att.placeholder_embedding(e), expected, atol=1e-5)
    assert sum(p.numel() for p in att.parameters()) == 2 * (3 * 512 * 768 + 512 * 768 + 768) + 768 * 768 + 768
    with pytest.raises(ConfigError, match="one style image"):
        att.placeholder_embedding(torch.randn(2, 768))


def _tiny_text() -> nn.Module:
    torch.manual_seed(1)
    return C.build_text_encoder({**C.SMOKE_TEXT, "vocab_size": 49408})


def test_placeholder_replaced_before_position_embeddings() -> None:
    text = _tiny_text()
    enc = PromptEncoder(text, token_id("*"))
    v = torch.randn(768)
    with torch.no_grad():
        hooked = enc(["a *", "*"], v)
        plain = enc(["a *", "*"], None)
        text.get_input_embeddings().weight[265] = v  # the same vector as the token's own row
        edited = enc(["a *", "*"], None)
    torch.testing.assert_close(hooked, edited, rtol=0, atol=1e-6)
    assert torch.equal(hooked[1, 0], plain[1, 0])  # BOS precedes the placeholder (causal mask)
    assert not torch.allclose(hooked[0, 2:], plain[0, 2:])


def test_converter_on_full_size_sd14_key_manifest() -> None:
    manifest = json.loads(gzip.decompress((DATA / "sd14_ldm_keys.json.gz").read_bytes()))
    assert len(manifest) == 1131  # model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.*
    state = {k: torch.empty(v, device="meta") for k, v in manifest.items()}
    parts = convert_ldm_state(state, C.SD14_UNET)
    with torch.device("meta"):
        targets = {"unet": C.build_unet(C.SD14_UNET), "vae": C.build_vae(C.SD14_VAE),
                   "text": C.build_text_encoder(C.SD14_TEXT)}  # fmt: skip
    for name, model in targets.items():
        own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert {k: tuple(v.shape) for k, v in parts[name].items()} == own, name
    with pytest.raises(CheckpointError, match="no VAE keys"):
        convert_ldm_state({k: v for k, v in state.items() if not k.startswith("first_stage")}, C.SD14_UNET)


def _fake_modules(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> dict[str, types.ModuleType]:
    mods = {}
    for name in names:
        mods[name] = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, mods[name])
    return mods


def test_sd_checkpoint_read_with_stubbed_lightning_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mods = _fake_modules(monkeypatch, ["pytorch_lightning", "pytorch_lightning.callbacks"])

    class ModelCheckpoint:  # what a Lightning checkpoint pickles besides tensors
        def __init__(self) -> None:
            self.monitor = "val/loss"

    ModelCheckpoint.__module__, ModelCheckpoint.__qualname__ = "pytorch_lightning.callbacks", "ModelCheckpoint"
    mods["pytorch_lightning.callbacks"].ModelCheckpoint = ModelCheckpoint
    path = tmp_path / "sd.ckpt"
    torch.save({"state_dict": {"model.diffusion_model.x": torch.ones(2)}, "callbacks": {"cb": ModelCheckpoint()},
                "global_step": 470000}, path)  # fmt: skip
    monkeypatch.delitem(sys.modules, "pytorch_lightning.callbacks")
    state = read_sd_checkpoint(path)
    assert list(state) == ["model.diffusion_model.x"]
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"state_dict": {}, "x": types.SimpleNamespace()}))
    with pytest.raises(CheckpointError, match="not allowed"):
        read_sd_checkpoint(evil)


def _official_embedding_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, training: bool) -> tuple[Path, dict]:
    """An embeddings.pt as the official EmbeddingManager.save writes it (pickled ldm classes)."""
    mods = _fake_modules(monkeypatch, ["ldm", "ldm.modules", "ldm.modules.attention", "ldm.modules.embedding_manager"])

    class CrossAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale, self.heads = 64**-0.5, 8
            self.to_q, self.to_k, self.to_v = (nn.Linear(768, 512, bias=False) for _ in range(3))
            self.to_out = nn.Sequential(nn.Linear(512, 768), nn.Dropout(0.05))

    class OfficialAttentions(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn1, self.attn2 = CrossAttention(), CrossAttention()
            self.net = nn.Sequential(nn.Dropout(0.05), nn.Linear(768, 768))

    CrossAttention.__module__, CrossAttention.__qualname__ = "ldm.modules.attention", "CrossAttention"
    OfficialAttentions.__module__ = "ldm.modules.embedding_manager"
    OfficialAttentions.__qualname__ = OfficialAttentions.__name__ = "Attentions"
    mods["ldm.modules.attention"].CrossAttention = CrossAttention
    mods["ldm.modules.embedding_manager"].Attentions = OfficialAttentions
    torch.manual_seed(3)
    module = OfficialAttentions().train(training)
    path = tmp_path / "embeddings.pt"
    torch.save({"string_to_token": {"*": torch.tensor(265)}, "attention": module}, path)
    for name in list(mods):
        monkeypatch.delitem(sys.modules, name)
    return path, {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_official_embedding_loads_through_stubs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, expected = _official_embedding_file(tmp_path, monkeypatch, training=True)
    state, tokens, training = load_official_embedding(path)
    assert tokens == {"*": 265} and training is True
    assert set(state) == set(expected) and all(torch.equal(state[k], expected[k]) for k in expected)
    Attentions().load_state_dict(state, strict=True)  # same parameter names as ours


class _PixelTower(ImageTower):
    """A cheap deterministic image tower for the training tests."""

    label = "pixels"

    def forward(self, images_u8: torch.Tensor) -> torch.Tensor:
        x = images_u8.permute(0, 3, 1, 2).float()
        x = torch.nn.functional.adaptive_avg_pool2d(x, 16).flatten(1)
        proj = torch.randn(x.shape[1], 768, generator=torch.Generator().manual_seed(0))
        return torch.nn.functional.normalize(x @ proj + 1.0, dim=-1)


@pytest.fixture(scope="module")
def smoke_ldm() -> Any:
    from baselines.inst.weights import load_smoke_ldm
    from benchmark import assets

    return load_smoke_ldm(assets.resolve("smoke_inst_ldm"))


def test_training_resumes_bit_exactly(tmp_path: Path, smoke_ldm: Any) -> None:
    ref = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 2 - 1

    def run(steps: int, state_dir: Path | None) -> tuple[dict, list[float]]:
        torch.manual_seed(23)
        att = Attentions()
        s = TrainSettings(steps=steps, checkpoint_every=2, fix_uint8_cast=True)
        losses = train_embedding(smoke_ldm, _PixelTower(), att, 265, ref, s, state_dir=state_dir, run_key="k")
        return att.state_dict(), losses

    straight, losses = run(4, None)
    run(2, tmp_path)  # "interrupted" after step 2 (its state file is on disk)
    assert (tmp_path / STATE_FILE).is_file()
    resumed, resumed_losses = run(4, tmp_path)
    assert resumed_losses == losses and all(torch.equal(straight[k], resumed[k]) for k in straight)
    torch.manual_seed(23)
    assert not torch.equal(Attentions().state_dict()["net.1.weight"], straight["net.1.weight"])  # it trained


def test_decoding_schedule_is_the_notebooks() -> None:
    sched, ts = decode_timesteps(InferenceSettings())
    assert ts.tolist() == list(range(681, 0, -20)) and len(ts) == 35
    assert float(sched.final_alpha_cumprod) == float(ldm_alphas_cumprod()[0])
    from diffusers import DDIMScheduler  # diffusers' own float32 "scaled_linear" agrees to float32 rounding

    stock = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").alphas_cumprod
    torch.testing.assert_close(ldm_alphas_cumprod(), stock, rtol=1e-5, atol=1e-7)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="architecture"):
        create_method("inst", {"architecture": "sd-v2"})
    with pytest.raises(ConfigError, match="inversion"):
        create_method("inst", {"inversion": "ddim"})
    with pytest.raises(ConfigError, match="unknown parameters"):
        create_method("inst", {"guidance_scale": 7.5})


SMOKE_CFG = {"architecture": "smoke-ldm64", "model": "smoke_inst_ldm", "image_tower": "vgg16-imagenet",
             "image_size": 64, "steps": 3, "checkpoint_every": 3, "ddim_steps": 4}  # fmt: skip


def test_pretrained_style_path_with_dropout_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.testing import make_test_images

    path, _ = _official_embedding_file(tmp_path, monkeypatch, training=True)
    ref = make_test_images(tmp_path / "ref", n=1, size=48)[0]
    outs = []
    for dropout in (False, False, True):
        m = create_method("inst", {**SMOKE_CFG, "pretrained_style_path": str(path), "inference_dropout": dropout},
                          seed=0, resolution=32)  # fmt: skip
        m.prepare(ref, tmp_path / "work")
        m.load(ref, tmp_path / "work")
        outs.append(m.stylize(torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)), ["a"]))
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])


def test_style_posterior_is_encoded_once_per_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The style's VAE posterior is cached per load(): a second reference must not reuse the first one's."""
    from baselines.inst.diffusion import LatentDiffusion
    from benchmark.testing import make_test_images

    refs = make_test_images(tmp_path / "ref", n=2, size=48)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    cfg = {**SMOKE_CFG, "steps": 1, "ddim_steps": 2, "adain": True}  # AdaIN reads the style latent
    calls: list[int] = []
    posterior = LatentDiffusion.posterior
    monkeypatch.setattr(LatentDiffusion, "posterior", lambda self, x: calls.append(len(x)) or posterior(self, x))

    def stylized(method: Any, ref: Path) -> torch.Tensor:
        method.prepare(ref, tmp_path / ref.stem)
        method.load(ref, tmp_path / ref.stem)
        calls.clear()  # training encodes too
        return method.stylize(images, ["a", "b"])

    reused = create_method("inst", cfg, seed=0, resolution=32)
    first = stylized(reused, refs[0])
    assert len(calls) == 3  # the style once, then each input image
    second = stylized(reused, refs[1])
    fresh = stylized(create_method("inst", cfg, seed=0, resolution=32), refs[1])
    assert torch.equal(second, fresh) and not torch.equal(first, second)


class TestInSTContract(MethodContract):
    """Shared method contract on the committed smoke LDM (3 training steps, 4 DDIM steps)."""

    method_name = "inst"

    def tiny_config(self, tmp_path: Path) -> dict[str, Any]:
        return dict(SMOKE_CFG)


def test_prepare_resumes_from_its_state_dir(tmp_path: Path) -> None:
    from benchmark.testing import make_test_images

    ref = make_test_images(tmp_path / "ref", n=1, size=48)[0]
    cfg = {**SMOKE_CFG, "steps": 4, "checkpoint_every": 2, "state_dir": str(tmp_path / "state")}
    full = create_method("inst", cfg, seed=0)
    full.prepare(ref, tmp_path / "full")
    assert not list((tmp_path / "state").rglob(STATE_FILE))  # removed after a finished run
    part = create_method("inst", {**cfg, "steps": 2, "keep_train_state": True}, seed=0)
    part.prepare(ref, tmp_path / "part")  # an interrupted run leaves its state behind
    key = create_method("inst", cfg, seed=0).run_key(ref)
    assert part.run_key(ref) != key  # steps is part of the key ...
    (tmp_path / "state" / part.run_key(ref)).rename(tmp_path / "state" / key)  # ... so move it under the 4-step key
    create_method("inst", cfg, seed=0).prepare(ref, tmp_path / "resumed")
    a = torch.load(tmp_path / "full" / "inst_embedding.pt", weights_only=True)["attention"]
    b = torch.load(tmp_path / "resumed" / "inst_embedding.pt", weights_only=True)["attention"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_clip_vision_tower_from_a_clipmodel_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from baselines.inst.embedding import CLIPImageTower
    from baselines.inst.weights import load_clip_vision

    tiny = {**C.CLIP_L14_VISION, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
            "num_attention_heads": 2}  # fmt: skip
    torch.manual_seed(4)
    source = C.build_vision_tower(tiny)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    state["vision_model.embeddings.position_ids"] = torch.arange(257)[None]  # older transformers saved it
    state["text_projection.weight"] = torch.zeros(768, 8)  # the text half of the HF file is ignored
    save_file(state, str(tmp_path / "model.safetensors"))
    model = load_clip_vision(tmp_path / "model.safetensors", tiny)
    x = uint8_cast(torch.rand(1, 3, 40, 40) * 2 - 1, fix=True)
    emb = CLIPImageTower(model)(x)
    assert emb.shape == (1, 768) and torch.allclose(emb.norm(dim=-1), torch.ones(1))
    torch.testing.assert_close(emb, CLIPImageTower(source)(x))
    with pytest.raises(CheckpointError, match="not found"):
        load_clip_vision(tmp_path / "missing.safetensors", tiny)
