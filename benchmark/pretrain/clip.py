"""The smoke world's tiny CLIP: an open_clip ``CLIP`` from a committed model config, trained contrastively on
smoke faces (clean and stylized) with captions generated from their ground truth (:mod:`benchmark.smoke.captions`).

Images are 64 px; each training image is fed with one of the two preprocessing options of the OSASIS embedder
(``clip``: CLIP mean/std; ``official``: the [-1, 1] image), drawn per sample, so both options see the
distribution the model was trained on. Captions sharing a batch with the same text are treated as positives.
The weights are saved as a safetensors state dict (fp16) that ``open_clip.create_model(arch, pretrained=file)``
loads; quality (zero-shot accuracy per attribute and for the style, image-to-text recall@1) is measured on the
held-out split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.features.clip import CLIP_MEAN, CLIP_STD, register_configs
from benchmark.pretrain.common import TrainSettings, log, optimizer_step, run_loop, training_setup, warmup_lr
from benchmark.smoke import captions as cap
from benchmark.smoke.build import split_seed
from benchmark.smoke.faces import FaceAttributes, generate_faces
from benchmark.smoke.stylizers import STYLIZERS, apply_style

ARCH = "ViT-T-8-smoke64"
SIZE = 64
#: rare-attribute rates of the training and evaluation faces (raised from the world's 3-5 % so that every
#: attribute has enough positives; the common attributes and pixels are the world's, face for face)
RARE_RATES = {"hat": 0.2, "glasses": 0.2, "hand": 0.15, "face_paint": 0.15}
MAGENTA_PER_STYLE = 60
#: share of training samples captioned by :func:`cap.hard_negative_pair` (NegCLIP-style flipped-attribute
#: negatives, which teach the small text tower present vs. absent)
HARD_NEGATIVE_RATE = 0.5


@dataclass
class CaptionedImages:
    """Images (uint8, N×3×64×64), their face attributes and styles (``None`` = unstylized)."""

    images: torch.Tensor
    attrs: list[FaceAttributes]
    styles: list[str | None]


def styles_available() -> list[str | None]:
    """Unstylized, the procedural stylizers and (when the package is installed) the Magenta styles."""
    from benchmark.smoke.magenta import MAGENTA_STYLES, magenta_available

    names: list[str | None] = [None, *STYLIZERS]
    if magenta_available():
        names += [f"magenta-{k}" for k in MAGENTA_STYLES]
    return names


def _to_tensor(images: list) -> torch.Tensor:
    arr = np.stack([np.asarray(img.convert("RGB"), dtype=np.uint8) for img in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def captioned_images(split: str, n: int, seed: int = 0, magenta_per_style: int = MAGENTA_PER_STYLE
                     ) -> CaptionedImages:  # fmt: skip
    """Faces ``0..n-1`` of ``split`` (rare rates :data:`RARE_RATES`), each clean and once stylized: face ``i``
    gets procedural style ``i mod 6``, except that the first ``magenta_per_style`` faces of each residue class
    beyond it go to the Magenta styles when they are installed."""
    faces = generate_faces(n, split_seed(seed, split), SIZE, RARE_RATES)
    procedural = list(STYLIZERS)
    magenta = [s for s in styles_available() if s and s.startswith("magenta-")]
    images, attrs, styles = [], [], []
    cycle = len(procedural) + len(magenta)
    for i, (img, a) in enumerate(faces):
        k = i % cycle
        style = magenta[k - len(procedural)] if k >= len(procedural) and i < cycle * magenta_per_style else \
            procedural[i % len(procedural)]  # fmt: skip
        images += [img, apply_style(style, img)]
        attrs += [a, a]
        styles += [None, style]
    return CaptionedImages(_to_tensor(images), attrs, styles)


def model_input(images_u8: torch.Tensor, mode: str | torch.Tensor) -> torch.Tensor:
    """The tensor the image tower sees: ``clip`` (mean/std) or ``official`` ([-1, 1]); a bool tensor picks
    ``official`` per sample where True."""
    x = images_u8.float() / 255.0
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    clip_in, official_in = (x - mean) / std, x * 2 - 1
    if isinstance(mode, str):
        return official_in if mode == "official" else clip_in
    return torch.where(mode.view(-1, 1, 1, 1), official_in, clip_in)


def build_model() -> torch.nn.Module:
    import open_clip

    register_configs()
    return open_clip.create_model(ARCH, pretrained=None)


def contrastive_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, texts: list[str]) -> torch.Tensor:
    """Symmetric InfoNCE; every pair with identical caption text is a positive (targets split evenly). ``txt``
    may hold more rows than ``texts``: hard-negative captions, extra columns of the image-to-text softmax only."""
    n = len(texts)
    logits = scale.exp().clamp(max=100) * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T
    same = torch.tensor([[a == b for b in texts] for a in texts], dtype=torch.float32)
    target = same / same.sum(dim=1, keepdim=True)
    image_to_text = torch.sum(-target * logits.log_softmax(1)[:, :n], 1).mean()
    text_to_image = torch.sum(-target * logits[:, :n].log_softmax(0).T, 1).mean()
    return 0.5 * (image_to_text + text_to_image)


def train_clip(data: CaptionedImages, s: TrainSettings, device: str = "cpu"):
    import open_clip

    register_configs()  # before get_tokenizer: the context length comes from the registered config
    tokenizer = open_clip.get_tokenizer(ARCH)
    model, ema, opt, gen = training_setup(build_model, s, device)
    rng = np.random.default_rng(s.seed + 2)
    n = len(data.attrs)

    def step(i: int) -> dict[str, float]:
        warmup_lr(opt, s.lr, i, s.warmup)
        idx = torch.randint(0, n, (s.batch_size,), generator=gen)
        official = torch.rand(s.batch_size, generator=gen) < 0.5
        texts, negatives = [], []
        for j in idx.tolist():
            if rng.random() < HARD_NEGATIVE_RATE:
                positive, negative = cap.hard_negative_pair(data.attrs[j], data.styles[j], rng)
                texts.append(positive)
                negatives.append(negative)
            else:
                texts.append(cap.random_caption(data.attrs[j], data.styles[j], rng))
        x = model_input(data.images[idx], official).to(device)
        img = model.encode_image(x)
        txt = model.encode_text(tokenizer(texts + negatives).to(device))
        loss = contrastive_loss(img, txt, model.logit_scale, texts)
        optimizer_step(loss, model, ema, opt, s, i)
        return {"loss": float(loss.detach())}

    res = run_loop(step, s.steps, "clip", max_minutes=s.max_minutes, log_every=50)
    return model, ema, res


def save_clip(path: Path, model: torch.nn.Module) -> None:
    """fp16 safetensors state dict, written atomically."""
    from safetensors.torch import save

    from benchmark.imageio import atomic_write_bytes

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={"arch": ARCH, "format": "open_clip state dict"}))


@torch.no_grad()
def _encode_texts(model, prompts: list[str]) -> torch.Tensor:
    import open_clip

    register_configs()
    tokens = open_clip.get_tokenizer(ARCH)(prompts, context_length=model.context_length)
    return F.normalize(model.encode_text(tokens).float(), dim=-1)


@torch.no_grad()
def _class_embeddings(model, ensembles: dict) -> torch.Tensor:
    """One unit text embedding per class: the normalised mean of its prompts' embeddings."""
    return F.normalize(torch.stack([_encode_texts(model, list(p)).mean(0) for p in ensembles.values()]), dim=-1)


@torch.no_grad()
def evaluate_clip(model: torch.nn.Module, data: CaptionedImages, preprocess: str = "clip") -> dict[str, Any]:
    """Zero-shot accuracy per attribute (clean images, prompt ensembles :func:`cap.prompt_ensembles`; rare
    attributes separately, with the recall of the present class), style accuracy (all images), and image-to-text
    recall@1 over the distinct full captions."""
    model = model.eval()
    feats = torch.cat([model.encode_image(model_input(data.images[i:i + 256], preprocess)).float()
                       for i in range(0, len(data.attrs), 256)])  # fmt: skip
    feats = F.normalize(feats, dim=-1)
    clean = [i for i, s in enumerate(data.styles) if s is None]
    out: dict[str, Any] = {"n_images": len(data.attrs), "n_clean": len(clean), "preprocess": preprocess}
    zs: dict[str, Any] = {}
    for attribute in cap.ATTRIBUTES:
        ensembles = cap.prompt_ensembles(attribute)
        classes = list(ensembles)
        pred = (feats[clean] @ _class_embeddings(model, ensembles).T).argmax(1).tolist()
        truth = [cap.labels(data.attrs[i])[attribute] for i in clean]
        hits = [classes[p] == t for p, t in zip(pred, truth)]
        entry: dict[str, Any] = {"accuracy": round(float(np.mean(hits)), 4), "classes": len(classes)}
        if attribute in cap.BINARY:
            pos = [h for h, t in zip(hits, truth) if t]
            entry["n_present"] = len(pos)
            entry["recall_present"] = round(float(np.mean(pos)), 4) if pos else None
        zs[attribute] = entry
    out["zero_shot"] = zs
    style_prompts = cap.zero_shot_prompts("style")
    names = [s for s in style_prompts if s in set(data.styles)]
    logits = feats @ _encode_texts(model, [style_prompts[s] for s in names]).T
    pred = logits.argmax(1).tolist()
    per_style = {str(s): round(float(np.mean([names[pred[i]] == s for i, t in enumerate(data.styles) if t == s])), 4)
                 for s in names}  # fmt: skip
    out["style"] = {"accuracy": round(float(np.mean([names[p] == t for p, t in zip(pred, data.styles)])), 4),
                    "per_style": per_style}  # fmt: skip
    full = [cap.full_caption(a, s) for a, s in zip(data.attrs, data.styles)]
    distinct = sorted(set(full))
    text = torch.cat([_encode_texts(model, distinct[i:i + 256]) for i in range(0, len(distinct), 256)])
    best = (feats @ text.T).argmax(1).tolist()
    out["retrieval"] = {"image_to_text_recall_at_1": round(float(np.mean([distinct[b] == t for b, t in
                                                                          zip(best, full)])), 4),
                        "n_captions": len(distinct)}  # fmt: skip
    log(f"clip quality ({preprocess}): " + ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in zs.items())
        + f", style {out['style']['accuracy']:.3f}, i2t R@1 {out['retrieval']['image_to_text_recall_at_1']:.3f}")
    return out
