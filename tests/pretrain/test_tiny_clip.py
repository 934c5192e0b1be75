"""The smoke world's tiny CLIP: built from the committed open_clip config, saved as safetensors, loaded through the
same ``build_clip``/open_clip path as ViT-B/32 (pinned files only), and its committed quality holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark import assets
from benchmark.errors import CheckpointError
from benchmark.features.clip import build_clip
from benchmark.pretrain import clip as tc
from benchmark.pretrain.common import TrainSettings

CPU = torch.device("cpu")


def test_config_is_registered_with_a_short_context() -> None:
    import open_clip

    model = build_clip(tc.ARCH, True, None, seed=0)
    assert tc.ARCH in open_clip.list_models()
    assert model.context_length == 32 and model.visual.image_size == (64, 64)
    tokens = open_clip.get_tokenizer(tc.ARCH)(["a photo of a cartoon face with a hat"])
    assert tokens.shape == (1, 32) and int(tokens[0, 0]) == 49406  # CLIP BPE start-of-text
    with torch.no_grad():
        img = model.encode_image(torch.rand(3, 3, 64, 64))
        txt = model.encode_text(tokens)
    assert img.shape == (3, 64) and txt.shape == (1, 64)


def test_saved_weights_load_through_open_clip_and_unpinned_files_are_refused(tmp_path: Path) -> None:
    import open_clip

    model = build_clip(tc.ARCH, True, None, seed=3)
    path = tmp_path / "clip.safetensors"
    tc.save_clip(path, model)
    loaded = open_clip.create_model(tc.ARCH, pretrained=str(path))
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        diff = (loaded.encode_image(x) - model.half().float().encode_image(x)).abs().max()
    assert diff < 1e-4  # the same weights (fp16-rounded)
    with pytest.raises(CheckpointError, match="pinned"):
        build_clip(tc.ARCH, False, path, seed=0)


def test_contrastive_loss_counts_identical_captions_as_positives() -> None:
    img = torch.eye(3, 8)
    txt = torch.eye(3, 8)
    scale = torch.tensor(4.0)
    distinct = tc.contrastive_loss(img, txt, scale, ["a", "b", "c"])
    same = tc.contrastive_loss(img, txt, scale, ["a", "a", "c"])
    assert torch.isfinite(distinct) and same > distinct  # two equal captions: the target is split between them
    shuffled = tc.contrastive_loss(img[[2, 0, 1]], txt[[2, 0, 1]], scale, ["c", "a", "b"])
    assert torch.allclose(shuffled, distinct)  # batch order does not matter


def test_training_is_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tc, "MAGENTA_PER_STYLE", 0)
    data = tc.captioned_images("train", 6, magenta_per_style=0)
    assert data.images.shape == (12, 3, 64, 64) and data.styles[0] is None and data.styles[1] == "posterize-ink"
    s = TrainSettings(steps=2, batch_size=4, lr=1e-3, warmup=1)
    runs = [tc.train_clip(data, s)[0] for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0].state_dict().values(), runs[1].state_dict().values()))


def test_model_input_options() -> None:
    x = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    official = tc.model_input(x, "official")
    assert official.min() >= -1 and official.max() <= 1
    mixed = tc.model_input(x, torch.tensor([True, False]))
    assert torch.equal(mixed[0], official[0]) and torch.equal(mixed[1], tc.model_input(x, "clip")[1])


def _committed():
    try:
        return assets.resolve("clip-tiny-smoke")
    except Exception:  # noqa: BLE001
        pytest.skip("the tiny CLIP is not committed yet")


def test_committed_tiny_clip_loads_as_the_embedder_and_keeps_its_quality() -> None:
    """The OSASIS embedder loads the committed file through build_clip (pin check, open_clip); zero-shot hair
    colour and style on a few regenerated held-out faces agree with the recorded accuracy."""
    from osasis.method.embedders import CLIPEmbedder, get_embedder

    _committed()
    emb = get_embedder("clip-tiny-smoke", device=CPU, preprocess="clip")
    assert isinstance(emb, CLIPEmbedder) and emb.arch == tc.ARCH and emb.size == 64
    assert emb.embed_text(["a photo of a cartoon face", "a pencil sketch of a cartoon face"]).shape == (2, 64)
    record = json.loads((assets.REPO_ROOT / "data/smoke/models/record.json").read_text())["models"]["clip"]
    recorded = record["quality"]["heldout"]["clip"]
    data = tc.captioned_images("heldout", 24, magenta_per_style=0)
    measured = tc.evaluate_clip(emb.model, data, "clip")
    for attribute in ("hair_colour",):
        assert measured["zero_shot"][attribute]["accuracy"] >= recorded["zero_shot"][attribute]["accuracy"] - 0.2
    assert measured["style"]["accuracy"] >= recorded["style"]["accuracy"] - 0.2
