"""Per-reference fine-tuning of ε^B and the SPN (official recipe, spec §3.3), resumable bit-exactly.

Each iteration draws a fresh batch of synthetic faces (latent DPM DDIM → DiffAE DDIM with the frozen ε^A), encodes
them, inverts them with ε^A to t0 on the training grid, then runs the reverse steps with ε^B + SPN for the content
batch and for the style pair (I_A^style → target I_B^style). The losses (:mod:`osasis.method.losses`) use the
predicted x̂0 of each step and **both Adam optimizers step once per reverse step**; states are detached between
steps, so gradients pass through one UNet call only.

Randomness: one ``torch.Generator`` (latent noise, x_T) and the global torch RNG (dropout) inside a forked RNG
scope, both seeded from the run seed; their states are saved with the training state so a resumed run continues
exactly where the interrupted one stopped.
"""

from __future__ import annotations

import copy
import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmark import imageio
from benchmark.progress import progress
from benchmark.seeding import derive_seed
from osasis.api import build_spn, encode, invert, reverse_step, sample_images, sample_latent
from osasis.diffusion.structural import structural_schedule
from osasis.method.checkpoint import STATE_FILE, load_train_state, save_train_state
from osasis.method.losses import TERMS, LossWeights, StyleTargets, osasis_losses
from osasis.networks.common import attention_backend
from osasis.networks.diffae_unet import DiffAEAutoencoder
from osasis.networks.spn import SPN
from osasis.weights import LatentStats

log = logging.getLogger(__name__)
LOSS_FILE = "losses.csv"
RECIPES = ("official", "fast")
SAMPLES_DIR = "samples"


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of one fine-tuning run (official defaults)."""

    iterations: int = 200
    batch_size: int = 8
    latent_steps: int = 200
    sample_steps: int = 20
    t0: int = 500
    grids: tuple[int, int] = (50, 20)
    schedule: str = "official"
    lr_unet: float = 5e-6
    lr_spn: float = 1e-4
    weights: LossWeights = field(default_factory=LossWeights)
    spn_weight: float = 0.1
    style_spn_weight: float = 1.0
    use_spn: bool = True
    style_code: str = "photoreal"
    dropout: bool = True
    precision: str = "fp32"
    checkpoint_every: int = 10
    sample_every: int = 50
    seed: int = 0
    spn_config: Any = "spn_default"  # a name or an SPNConfig
    # ---- recipe: "official" (one synthetic batch per iteration) or "fast" (see docs/OSASIS.md, "Fast recipe")
    recipe: str = "official"
    gen_batch: int = 64  # fast: synthetic images generated (and inverted) per batched call
    attention: str = "einsum"  # einsum (official formula) | sdpa (same function, fused kernel)
    compile: bool = False  # torch.compile ε^B's forward (fast recipe option; CUDA)
    grad_checkpoint: bool = False  # recompute UNet blocks in backward (lower peak memory, same gradients)


@dataclass
class TrainModels:
    """Frozen inputs: ε^A (+ encoder), the latent DPM and stats, E(·), LPIPS-VGG, and the style pair in [-1, 1]."""

    model_a: DiffAEAutoencoder
    latent_net: nn.Module
    stats: LatentStats | None
    embed: Callable[[torch.Tensor], torch.Tensor]
    lpips: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    style_a: torch.Tensor
    style_b: torch.Tensor


@dataclass
class FinetuneResult:
    model_b: DiffAEAutoencoder
    spn: SPN | None
    history: list[dict[str, float]]
    optimizer_steps: int
    resumed_from: int


class _Run:
    """Mutable training state (models, optimizers, RNGs, history)."""

    def __init__(self, models: TrainModels, s: TrainSettings, device: torch.device) -> None:
        self.model_b = copy.deepcopy(models.model_a).to(device)
        self.model_b.requires_grad_(False)
        self.unet_params = [p for n, p in self.model_b.named_parameters()
                            if not n.startswith(("encoder.", "latent_net."))]  # fmt: skip
        for p in self.unet_params:
            p.requires_grad_(True)
        self.model_b.train(s.dropout)
        self.spn: SPN | None = None
        self.opt_spn: torch.optim.Adam | None = None
        if s.use_spn:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(s.seed, "osasis-spn-init"))
                self.spn = build_spn(s.spn_config).to(device).train()
            self.opt_spn = torch.optim.Adam(self.spn.parameters(), lr=s.lr_spn)
        self.opt_unet = torch.optim.Adam(self.unet_params, lr=s.lr_unet)
        self.gen = torch.Generator().manual_seed(derive_seed(s.seed, "osasis-finetune-data"))
        self.iteration = 0
        self.history: list[dict[str, float]] = []

    def state(self, run_key: str) -> dict[str, Any]:
        state = {"run_key": run_key, "iteration": self.iteration, "history": self.history,
                 "model_b": self.model_b.state_dict(), "opt_unet": self.opt_unet.state_dict(),
                 "rng_data": self.gen.get_state(), "rng_torch": torch.get_rng_state()}  # fmt: skip
        if torch.cuda.is_available():
            state["rng_cuda"] = torch.cuda.get_rng_state_all()
        if self.spn is not None and self.opt_spn is not None:
            state["spn"] = self.spn.state_dict()
            state["opt_spn"] = self.opt_spn.state_dict()
        return state

    def restore(self, state: dict[str, Any]) -> None:
        self.model_b.load_state_dict(state["model_b"])
        self.opt_unet.load_state_dict(state["opt_unet"])
        if self.spn is not None and self.opt_spn is not None:
            self.spn.load_state_dict(state["spn"])
            self.opt_spn.load_state_dict(state["opt_spn"])
        self.gen.set_state(state["rng_data"])
        torch.set_rng_state(state["rng_torch"])
        if "rng_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.iteration = int(state["iteration"])
        self.history = [dict(row) for row in state["history"]]


def write_losses(path: Path, history: list[dict[str, float]]) -> None:
    """The per-iteration loss CSV (terms averaged over the reverse steps of the iteration)."""
    header = ["iteration", "total", *TERMS]
    lines = [",".join(header)] + [",".join(f"{row[h]:.8g}" if h != "iteration" else str(int(row[h]))
                                          for h in header) for row in history]  # fmt: skip
    imageio.atomic_write_text(path, "\n".join(lines) + "\n")


def read_losses(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def save_grid(path: Path, rows: list[torch.Tensor]) -> None:
    """A PNG grid: one row per tensor (N,3,R,R in [-1,1]), padded to the widest row."""
    width = max(r.shape[0] for r in rows)
    out = []
    for r in rows:
        r = ((r.detach().float().cpu().clamp(-1, 1) + 1) / 2)
        pad = torch.ones(width - r.shape[0], *r.shape[1:])
        out.append(torch.cat(list(torch.cat([r, pad])), dim=2))
    imageio.save_png(torch.cat(out, dim=1), path)


@dataclass
class SyntheticBatch:
    """One iteration's content inputs: images (B,3,R,R in [-1,1]), z_in, their x_t0 and E(images)."""

    images: torch.Tensor
    z_in: torch.Tensor
    x_in: torch.Tensor
    emb_in: torch.Tensor


@torch.no_grad()
def synthesize(models: TrainModels, s: TrainSettings, sched: Any, gen: torch.Generator, device: torch.device,
               n_iterations: int) -> list[SyntheticBatch]:  # fmt: skip
    """The content inputs of the next ``n_iterations`` iterations.

    Official recipe: one call per iteration (latent noise, then x_T, drawn from ``gen``). Fast recipe: the same
    draws in the same order, then ``gen_batch``-sized batched calls of the frozen ε^A — the same numbers up to
    floating-point batch effects (tested within 1e-5 in fp32), the random stream unchanged.
    """
    a = models.model_a
    c = models.latent_net.config.num_channels
    size = (a.config.in_channels, a.config.image_size, a.config.image_size)
    if s.recipe == "official":
        out = []
        for _ in range(n_iterations):
            z = sample_latent(models.latent_net, models.stats, s.batch_size, steps=s.latent_steps, generator=gen,
                              device=device)  # fmt: skip
            images = sample_images(a, z, steps=s.sample_steps, generator=gen, precision=s.precision)
            z_in = encode(a, images)
            x_in = invert(a, images, z_in, schedule=sched, precision=s.precision)
            out.append(SyntheticBatch(images, z_in, x_in, models.embed(images)))
        return out
    noise, x_T = [], []
    for _ in range(n_iterations):  # the official draw order: latent noise, then x_T, per iteration
        noise.append(torch.randn(s.batch_size, c, generator=gen, device=gen.device))
        x_T.append(torch.randn(s.batch_size, *size, generator=gen, device=gen.device))
    noise_all, x_T_all = torch.cat(noise), torch.cat(x_T)
    parts: dict[str, list[torch.Tensor]] = {"images": [], "z_in": [], "x_in": [], "emb_in": []}
    for lo in range(0, noise_all.shape[0], max(1, s.gen_batch)):
        hi = lo + max(1, s.gen_batch)
        z = sample_latent(models.latent_net, models.stats, 0, steps=s.latent_steps, device=device,
                          noise=noise_all[lo:hi])  # fmt: skip
        images = sample_images(a, z, steps=s.sample_steps, x_T=x_T_all[lo:hi], precision=s.precision)
        z_in = encode(a, images)
        parts["images"].append(images)
        parts["z_in"].append(z_in)
        parts["x_in"].append(invert(a, images, z_in, schedule=sched, precision=s.precision))
        parts["emb_in"].append(models.embed(images))
    full = {k: torch.cat(v) for k, v in parts.items()}
    b = s.batch_size
    return [SyntheticBatch(**{k: v[i * b:(i + 1) * b] for k, v in full.items()}) for i in range(n_iterations)]


def finetune(models: TrainModels, s: TrainSettings, state_dir: Path, *, device: torch.device, run_key: str = "",
             on_iteration: Callable[[int], None] | None = None) -> FinetuneResult:  # fmt: skip
    """Train ε^B + SPN; resumes from ``state_dir/train_state.pt`` when it holds the same ``run_key``."""
    if s.recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {s.recipe!r}")
    with attention_backend(s.attention):
        return _finetune(models, s, state_dir, device=device, run_key=run_key, on_iteration=on_iteration)


def _finetune(models: TrainModels, s: TrainSettings, state_dir: Path, *, device: torch.device, run_key: str,
              on_iteration: Callable[[int], None] | None) -> FinetuneResult:  # fmt: skip
    state_dir = Path(state_dir)
    sched = structural_schedule("training", s.t0, s.schedule, grids=tuple(s.grids))
    rev = sched.reverse_schedule()
    a = models.model_a
    with torch.no_grad():
        style_img = models.style_a if s.style_code == "photoreal" else models.style_b
        style_code = encode(a, style_img)
        emb_a, emb_b = models.embed(models.style_a), models.embed(models.style_b)
        targets = StyleTargets(models.style_a, models.style_b, emb_a, emb_b)
        x_st0 = invert(a, models.style_a, style_code, schedule=sched, precision=s.precision)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(derive_seed(s.seed, "osasis-finetune-dropout"))
        run = _Run(models, s, device)
        saved = load_train_state(state_dir / STATE_FILE)
        if saved is not None and saved.get("run_key") == run_key:
            run.restore(saved)
            log.info("osasis: resuming fine-tuning at iteration %d from %s", run.iteration, state_dir)
        resumed_from = run.iteration
        run.model_b.gradient_checkpointing = s.grad_checkpoint
        model_b = torch.compile(run.model_b) if s.compile else run.model_b
        queue: list[SyntheticBatch] = []
        for i in progress(range(run.iteration, s.iterations), desc="osasis finetune", total=s.iterations,
                          initial=run.iteration):  # fmt: skip
            if not queue:  # chunks end on checkpoint iterations, so a saved generator state is the official one
                ahead = 1 if s.recipe == "official" else max(1, s.gen_batch // s.batch_size)
                to_checkpoint = s.checkpoint_every - i % s.checkpoint_every
                queue = synthesize(models, s, sched, run.gen, device, min(ahead, to_checkpoint, s.iterations - i))
            batch = queue.pop(0)
            images, z_in, x_in, emb_in = batch.images, batch.z_in, batch.x_in, batch.emb_in
            x_st = x_st0
            sums = dict.fromkeys(("total", *TERMS), 0.0)
            for k in sched.reverse_indices:
                x_st_next, x0_st = reverse_step(model_b, x_st, k, rev, style_code, spn=run.spn,
                                                spn_image=models.style_a, spn_weight=s.style_spn_weight,
                                                precision=s.precision)  # fmt: skip
                x_in_next, x0_in = reverse_step(model_b, x_in, k, rev, z_in, spn=run.spn, spn_image=images,
                                                spn_weight=s.spn_weight, precision=s.precision)  # fmt: skip
                total, terms = osasis_losses(models.embed, models.lpips, targets, emb_in, x0_in, x0_st, s.weights)
                run.opt_unet.zero_grad(set_to_none=True)
                if run.opt_spn is not None:
                    run.opt_spn.zero_grad(set_to_none=True)
                total.backward()
                run.opt_unet.step()
                if run.opt_spn is not None:
                    run.opt_spn.step()
                x_st, x_in = x_st_next.detach(), x_in_next.detach()
                for key, value in {"total": float(total.detach()), **terms}.items():
                    sums[key] += value
            n = len(sched.reverse_indices)
            run.iteration = i + 1
            run.history.append({"iteration": run.iteration, **{k: v / n for k, v in sums.items()}})
            if s.sample_every and (run.iteration % s.sample_every == 0 or run.iteration == s.iterations):
                save_grid(state_dir / SAMPLES_DIR / f"iter_{run.iteration:04d}.png",
                          [images[:4], x0_in[:4], torch.cat([models.style_a, models.style_b, x0_st])])  # fmt: skip
            if run.iteration % s.checkpoint_every == 0 or run.iteration == s.iterations:
                save_train_state(state_dir / STATE_FILE, run.state(run_key))
                write_losses(state_dir / LOSS_FILE, run.history)
            if on_iteration is not None:
                on_iteration(run.iteration)
    if not run.history or run.iteration < s.iterations:
        write_losses(state_dir / LOSS_FILE, run.history)
    steps = int(next(iter(run.opt_unet.state.values()), {}).get("step", 0)) if run.opt_unet.state else 0
    run.model_b.gradient_checkpointing = False
    run.model_b.eval().requires_grad_(False)
    if run.spn is not None:
        run.spn.eval().requires_grad_(False)
    return FinetuneResult(run.model_b, run.spn, run.history, steps, resumed_from)
