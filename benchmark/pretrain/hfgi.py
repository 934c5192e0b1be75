"""HFGI's distortion branch (``residue`` + ``grid_align``) trained on the smoke domain over the tiny StyleGAN2.

Official recipe (``training/coach.py``, ``models/psp.py``, ``train.sh``), per batch of faces ``x`` with frozen
W+ codes ``w`` and a frozen generator ``G``, both generator passes with fresh random noise:
``rec = bilinear(clamp(G(w)))``, ``res_gt = x - rec``, ``res_aligned = ADA(cat[RandomPerspective(res_gt), rec])``
(distortion 0.15, p 0.9, one draw per batch as torchvision does for a batch tensor), ``y = G(w, Ec(res_aligned))``
and the loss ``1.0 MSE(y, x) + 0.8 LPIPS-Alex(y, x) + 0.1 L1(res_aligned - res_gt)``, optimised by Ranger
(RAdam betas (0.95, 0.999), eps 1e-5, gradient centralisation, Lookahead k=6 alpha=0.5).  The modules train
in train mode (batch-norm batch statistics), as upstream.

Smoke deviations (recorded): the W+ codes come from the W+ projector (the smoke JoJoGAN's inverter; the
smoke world has no e4e), computed once per training face, so there is no horizontal-flip augmentation (the
codes would no longer match); no ID loss (no ArcFace weights offline; upstream weight 0.1); the inputs are
the 64 px faces (upstream 256 px), the condition maps are 16 channels at 64 px (the smoke generator's width
there; upstream 512 at 64 px of a 1024 px generator); a larger learning rate and a few hundred steps; the last conv
of both condition heads starts at zero (``zero_init_heads``), so training starts from the W+ rendering (with
upstream's random start, 240 steps left the branch worse than W+ alone: held-out LPIPS-VGG 0.55 vs 0.24).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torchvision.transforms import RandomPerspective

from baselines.hfgi.checkpoint import save_hfgi
from baselines.hfgi.inverter import resize_bilinear
from baselines.hfgi.networks import ResidualAligner, ResidualEncoder
from baselines.jojogan.inverters import Projector, ProjectorSettings
from baselines.stylegan2.model import Generator
from benchmark.pretrain.common import LoopResult, TrainSettings, log, run_loop
from benchmark.pretrain.data import batch_indices


class Ranger:
    """Ranger as HFGI uses it: gradient centralisation, then ``torch.optim.RAdam``, then Lookahead."""

    def __init__(self, params: list[torch.nn.Parameter], lr: float, k: int = 6, alpha: float = 0.5) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.inner = torch.optim.RAdam(self.params, lr=lr, betas=(0.95, 0.999), eps=1e-5)
        self.slow = [p.detach().clone() for p in self.params]
        self.k, self.alpha, self.steps = k, alpha, 0

    def zero_grad(self) -> None:
        self.inner.zero_grad(set_to_none=True)

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None and p.grad.dim() > 1:
                p.grad.sub_(p.grad.mean(dim=tuple(range(1, p.grad.dim())), keepdim=True))
        self.inner.step()
        self.steps += 1
        if self.steps % self.k == 0:
            for p, slow in zip(self.params, self.slow):
                slow.add_(p - slow, alpha=self.alpha)
                p.copy_(slow)


def project_faces(g: Generator, faces: torch.Tensor, latent_avg: torch.Tensor, settings: ProjectorSettings,
                  lpips_net: torch.nn.Module) -> torch.Tensor:  # fmt: skip
    """W+ codes of ``faces`` ([-1, 1]) by the projector the smoke JoJoGAN uses (one image at a time)."""
    projector = Projector(g, settings, w_avg=latent_avg.reshape(1, -1), lpips_net=lpips_net)
    codes = []
    start = time.time()
    for i, face in enumerate(faces):
        codes.append(projector((face[None] + 1) / 2, [str(i)]))
        if (i + 1) % 8 == 0:
            log(f"hfgi: projected {i + 1}/{len(faces)} faces ({(time.time() - start) / (i + 1):.1f} s/face)")
    return torch.cat(codes)


def branch_losses(g: Generator, residue: ResidualEncoder, grid_align: ResidualAligner, x: torch.Tensor,
                  w: torch.Tensor, lpips_net: torch.nn.Module, extra: dict[str, Any], gen: torch.Generator,
                  perspective: RandomPerspective) -> dict[str, torch.Tensor]:  # fmt: skip
    """The official forward and loss terms for one batch (``x`` in [-1, 1] at the branch's input size)."""
    size = x.shape[-1]
    with torch.no_grad():
        rec = resize_bilinear(g(w, noise="random", rng=gen).clamp(-1.0, 1.0), size)
    res_gt = x - rec
    res_aligned = grid_align(torch.cat((perspective(res_gt), rec), 1))
    y = g(w, noise="random", rng=gen, conditions=residue(res_aligned))
    y = F.adaptive_avg_pool2d(y, size)
    terms = {
        "l2": F.mse_loss(y, x),
        "lpips": lpips_net(y, x).mean(),
        "res": F.l1_loss(res_aligned - res_gt, torch.zeros_like(res_gt)),
    }
    terms["loss"] = (float(extra["l2_lambda"]) * terms["l2"] + float(extra["lpips_lambda"]) * terms["lpips"]
                     + float(extra["res_lambda"]) * terms["res"])  # fmt: skip
    return terms


def train_branch(g: Generator, faces: torch.Tensor, codes: torch.Tensor, settings: TrainSettings,
                 lpips_net: torch.nn.Module, device: str = "cpu"
                 ) -> tuple[ResidualEncoder, ResidualAligner, LoopResult]:  # fmt: skip
    """Train ``residue`` and ``grid_align`` (seeded) against the frozen ``g``; returns them in eval mode."""
    extra = settings.extra
    torch.manual_seed(settings.seed)  # module init and torchvision's RandomPerspective draws
    cond_size = int(extra["condition_size"])
    width = g.convs[2 * g.condition_layer(cond_size)].conv.cout
    residue = ResidualEncoder(width, cond_size).to(device).train()
    if extra.get("zero_init_heads", False):  # start from the W+ rendering: scale = shift = 0 (upstream: random)
        with torch.no_grad():
            for head in (residue.condition_scale3, residue.condition_shift3):
                head[2].weight.zero_()
    grid_align = ResidualAligner().to(device).train()
    g = g.to(device).eval().requires_grad_(False)
    opt = Ranger([*residue.parameters(), *grid_align.parameters()], lr=settings.lr)
    perspective = RandomPerspective(distortion_scale=float(extra["distortion_scale"]), p=float(extra["aug_rate"]))
    gen = torch.Generator().manual_seed(settings.seed + 1)

    def step(_: int) -> dict[str, float]:
        idx = batch_indices(len(faces), settings.batch_size, gen)
        terms = branch_losses(g, residue, grid_align, faces[idx].to(device), codes[idx].to(device), lpips_net,
                              extra, gen, perspective)  # fmt: skip
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        return {k: v.item() for k, v in terms.items()}

    result = run_loop(step, settings.steps, "hfgi", max_minutes=settings.max_minutes)
    return residue.eval(), grid_align.eval(), result


@torch.no_grad()
def reconstruction_lpips(
    g: Generator, residue: ResidualEncoder, grid_align: ResidualAligner, faces: torch.Tensor, codes: torch.Tensor,
    nets: dict[str, torch.nn.Module],
) -> dict[str, dict[str, float]]:
    """LPIPS of ``G(w)`` (W+ only) and of the HFGI output (constant noise, as at inference) to the faces."""
    size = faces.shape[-1]
    rec = g(codes, noise="const")
    res = faces - resize_bilinear(rec.clamp(-1.0, 1.0), size)
    aligned = grid_align(torch.cat((res, resize_bilinear(rec.clamp(-1.0, 1.0), size)), 1))
    full = g(codes, noise="const", conditions=residue(aligned))
    out: dict[str, dict[str, float]] = {}
    for name, net in nets.items():
        out[name] = {
            "wplus": round(net(rec.clamp(-1, 1), faces).mean().item(), 4),
            "hfgi": round(net(full.clamp(-1, 1), faces).mean().item(), 4),
        }
    return out


def save(path: str | Path, residue: ResidualEncoder, grid_align: ResidualAligner, settings: TrainSettings,
         half: bool = True) -> Path:  # fmt: skip
    """The official ``ckpt.pt`` layout without ``encoder``/``decoder`` (see ``baselines.hfgi.checkpoint``);
    fp16 tensors when ``half`` (the loader casts to the modules' fp32)."""
    if half:
        residue, grid_align = copy.deepcopy(residue).cpu().half(), copy.deepcopy(grid_align).cpu().half()
    opts = {"base_inverter": "projector", "decoder_asset": "smoke_stylegan2", "learning_rate": settings.lr,
            "optim_name": "ranger", "batch_size": settings.batch_size, "max_steps": settings.steps,
            **{k: v for k, v in settings.extra.items() if k.endswith("_lambda") or k in ("distortion_scale",
                                                                                          "aug_rate")}}  # fmt: skip
    return save_hfgi(path, residue, grid_align, opts=opts, input_size=int(settings.extra["input_size"]))


@torch.no_grad()
def branch_cost(g: Generator, residue: ResidualEncoder, grid_align: ResidualAligner, face: torch.Tensor,
                code: torch.Tensor, repeats: int = 5) -> float:  # fmt: skip
    """Seconds per image the branch adds to a W+ render: one more generator pass, ADA and Ec (the source and style
    generators are the same here, so this is the cost of ``reconstruction_lpips`` without the metrics)."""
    start = time.time()
    for _ in range(repeats):
        reconstruction_lpips(g, residue, grid_align, face, code, {})
    return round((time.time() - start) / repeats, 4)
