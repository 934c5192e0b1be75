"""Per-reference training of the embedding manager (ldm ``main.py --base v1-finetune.yaml -t``), resumable.

AdamW (torch defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01) over the attention parameters only, lr 1e-4
(base lr x batch 1 x 1 GPU), batch 1, the reference resized to the model's size (bicubic; 512 px for SD) with a
horizontal flip p = 0.5, caption "*" (``imagenet_templates_small = ['{}']``). The attention module is in training
mode (dropout 0.05 active) as under Lightning; the image tower is frozen, so the embeddings of the reference and of
its mirror image are computed once.

Randomness: one ``torch.Generator`` for the flips, the posterior noise, t and ε, and the global torch RNG (forked
and seeded) for dropout. The state file holds the attention weights, AdamW state, both RNG states, the step and
the loss history, written atomically every ``checkpoint_every`` steps; a run started again with the same run key
continues bit-exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from baselines.inst.diffusion import LatentDiffusion, training_loss
from baselines.inst.embedding import PLACEHOLDER, Attentions, ImageTower, PromptEncoder, uint8_cast
from benchmark.checkpoints import load_tensors
from benchmark.progress import progress
from osasis.method.checkpoint import atomic_save

log = logging.getLogger(__name__)
STATE_FILE = "inst_train_state.pt"


@dataclass
class TrainSettings:
    steps: int = 6100
    lr: float = 1e-4
    seed: int = 23
    caption: str = PLACEHOLDER
    flip_p: float = 0.5
    fix_uint8_cast: bool = False
    checkpoint_every: int = 500


def image_embedding(tower: ImageTower, image: torch.Tensor, fix_uint8_cast: bool) -> torch.Tensor:
    """(1, 768) embedding of a (1, 3, H, W) image in [-1, 1], through the official uint8 cast unless fixed."""
    return tower(uint8_cast(image[:1], fix=fix_uint8_cast))


class _Run:
    def __init__(self, attention: Attentions, s: TrainSettings) -> None:
        self.attention = attention.train()
        self.opt = torch.optim.AdamW(self.attention.parameters(), lr=s.lr)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.step = 0
        self.history: list[float] = []

    def state(self, run_key: str) -> dict[str, Any]:
        return {"run_key": run_key, "step": self.step, "history": self.history,
                "attention": self.attention.state_dict(), "opt": self.opt.state_dict(),
                "rng_data": self.gen.get_state(), "rng_torch": torch.get_rng_state()}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self.attention.load_state_dict(state["attention"])
        self.opt.load_state_dict(state["opt"])
        self.gen.set_state(state["rng_data"])
        torch.set_rng_state(state["rng_torch"])
        self.step = int(state["step"])
        self.history = [float(v) for v in state["history"]]


def train_embedding(ldm: LatentDiffusion, tower: ImageTower, attention: Attentions, placeholder_token: int,
                    reference: torch.Tensor, s: TrainSettings, state_dir: Path | None = None, run_key: str = "",
                    on_step: Callable[[int], None] | None = None) -> list[float]:  # fmt: skip
    """Train ``attention`` in place on one reference (1, 3, H, W) in [-1, 1]; returns the per-step losses."""
    device = ldm.device
    encoder = PromptEncoder(ldm.text_encoder, placeholder_token)
    views = [reference[:1], reference[:1].flip(-1)]
    embeds = [image_embedding(tower, v, s.fix_uint8_cast).to(device) for v in views]
    state_file = Path(state_dir) / STATE_FILE if state_dir is not None else None
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(s.seed)
        run = _Run(attention.to(device), s)
        if state_file is not None and state_file.is_file():
            saved = dict(load_tensors(state_file, "InST training state"))
            if saved.get("run_key") == run_key:
                run.restore(saved)
                log.info("inst: resuming at step %d from %s", run.step, state_file)
        for _ in progress(range(run.step, s.steps), desc="inst train", total=s.steps, initial=run.step):
            flip = int(torch.rand(1, generator=run.gen).item() < s.flip_p)
            image = views[flip].to(device)
            posterior_noise = torch.randn((1, *_latent_shape(ldm, image)), generator=run.gen)
            t = torch.randint(0, len(ldm.alphas_cumprod), (1,), generator=run.gen)
            z = ldm.encode(image, noise=posterior_noise)
            noise = torch.randn(z.shape, generator=run.gen).to(device)
            vector = run.attention.placeholder_embedding(embeds[flip])
            context = encoder([s.caption], vector)
            loss = training_loss(ldm, z, context, t.to(device), noise)
            run.opt.zero_grad(set_to_none=True)
            loss.backward()
            run.opt.step()
            run.step += 1
            run.history.append(float(loss.detach()))
            if state_file is not None and (run.step % s.checkpoint_every == 0 or run.step == s.steps):
                state_file.parent.mkdir(parents=True, exist_ok=True)
                atomic_save(run.state(run_key), state_file)
            if on_step is not None:
                on_step(run.step)
    attention.eval().requires_grad_(False)
    return run.history


def _latent_shape(ldm: LatentDiffusion, image: torch.Tensor) -> tuple[int, int, int]:
    f = ldm.arch.downsample
    return (int(ldm.vae.config.latent_channels), image.shape[-2] // f, image.shape[-1] // f)
