"""The smoke world's attribute judge: a small CNN that reads a face's attributes (hair colour, hair style, skin
tone, hat, glasses, beard, raised hand, face paint) from a 64 px image, clean or stylized.

It scores text edits independently of the CLIP that drives them: trained by ``benchmark.pretrain`` on the
world's ground-truth labels (the same faces and stylizers as the tiny CLIP, no text), saved as a safetensors
state dict, with its held-out accuracy recorded in ``record.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.pretrain.common import TrainSettings, log, optimizer_step, run_loop, training_setup, warmup_lr
from benchmark.smoke import captions as cap
from benchmark.smoke.faces import HAIR, HAIR_STYLES

#: attribute -> its classes (binary attributes: [False, True])
CLASSES: dict[str, list] = {"hair_colour": list(HAIR), "hair_style": list(HAIR_STYLES), "skin": list(cap.SKIN_NAMES),
                            **{name: [False, True] for name in cap.BINARY}}  # fmt: skip
WIDTHS = (16, 32, 48, 64)


class AttributeJudge(nn.Module):
    """Stride-2 conv blocks (a second 3x3 conv from the second block on), global average pooling, one linear
    head (all attributes' logits)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate(widths):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(8, c), nn.SiLU()]
            if i:
                layers += [nn.Conv2d(c, c, 3, padding=1), nn.SiLU()]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, sum(len(v) for v in CLASSES.values()))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per attribute for images in [0, 1] (any size; resized to 64 px)."""
        if images.shape[-1] != 64:
            images = F.interpolate(images, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
        logits = self.head(self.features(images * 2 - 1).mean(dim=(2, 3)))
        return dict(zip(CLASSES, logits.split([len(v) for v in CLASSES.values()], dim=1)))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> list[dict[str, Any]]:
        """Predicted label of every attribute, per image."""
        logits = self.eval()(images)
        idx = {k: v.argmax(1).tolist() for k, v in logits.items()}
        return [{k: CLASSES[k][idx[k][i]] for k in CLASSES} for i in range(images.shape[0])]


def targets(attrs: list) -> dict[str, torch.Tensor]:
    """Class indices per attribute for a list of :class:`FaceAttributes`."""
    labs = [cap.labels(a) for a in attrs]
    return {k: torch.tensor([CLASSES[k].index(lab[k]) for lab in labs]) for k in CLASSES}


def train_judge(images_u8: torch.Tensor, attrs: list, s: TrainSettings, device: str = "cpu"):
    model, ema, opt, gen = training_setup(AttributeJudge, s, device)
    y = targets(attrs)
    n = len(attrs)

    def step(i: int) -> dict[str, float]:
        warmup_lr(opt, s.lr, i, s.warmup)
        idx = torch.randint(0, n, (s.batch_size,), generator=gen)
        x = images_u8[idx].float().div(255).to(device)
        if torch.rand((), generator=gen) < 0.5:  # the faces are symmetric up to pose: horizontal flips
            x = x.flip(-1)
        logits = model(x)
        loss = sum(F.cross_entropy(logits[k], y[k][idx].to(device)) for k in CLASSES) / len(CLASSES)
        optimizer_step(loss, model, ema, opt, s, i)
        return {"loss": float(loss.detach())}

    res = run_loop(step, s.steps, "judge", max_minutes=s.max_minutes, log_every=50)
    return model, ema, res


@torch.no_grad()
def evaluate_judge(model: AttributeJudge, images_u8: torch.Tensor, attrs: list, styles: list) -> dict[str, Any]:
    """Accuracy per attribute on clean and on stylized images (binary: also the recall of the present class)."""
    preds = []
    for i in range(0, len(attrs), 256):
        preds += model.predict(images_u8[i:i + 256].float().div(255))
    out: dict[str, Any] = {}
    for group, keep in (("clean", lambda s: s is None), ("stylized", lambda s: s is not None)):
        rows = [i for i, s in enumerate(styles) if keep(s)]
        entry: dict[str, Any] = {"n": len(rows)}
        for k in CLASSES:
            truth = [cap.labels(attrs[i])[k] for i in rows]
            hits = [preds[i][k] == t for i, t in zip(rows, truth)]
            entry[k] = {"accuracy": round(float(np.mean(hits)), 4)}
            if k in cap.BINARY:
                pos = [h for h, t in zip(hits, truth) if t]
                entry[k]["recall_present"] = round(float(np.mean(pos)), 4) if pos else None
        out[group] = entry
    log("judge accuracy (clean): " + ", ".join(f"{k} {out['clean'][k]['accuracy']:.3f}" for k in CLASSES))
    return out


def save_judge(path: Path, model: AttributeJudge) -> None:
    from safetensors.torch import save

    from benchmark.imageio import atomic_write_bytes

    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={"model": "benchmark.pretrain.judge.AttributeJudge"}))


def load_judge(path: str | Path, device: str = "cpu") -> AttributeJudge:
    """The committed judge (safetensors: no pickle involved)."""
    from safetensors.torch import load_file

    from benchmark.errors import CheckpointError

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"attribute judge: {path} not found; train it with "
                              "`python -m benchmark.pretrain --models judge` (manifest asset smoke_attribute_judge)")
    model = AttributeJudge()
    try:
        model.load_state_dict(load_file(str(path), device=device))
    except (RuntimeError, OSError) as exc:
        raise CheckpointError(f"attribute judge: {path} is not an AttributeJudge state dict: {exc}") from exc
    return model.to(device).eval().requires_grad_(False)
