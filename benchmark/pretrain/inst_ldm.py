"""The smoke-profile latent diffusion model of InST: AutoencoderKL + UNet2DConditionModel + CLIPTextModel.

Architecture ``baselines.inst.configs.SMOKE`` (64 px, 16x16x4 latents, context 768). Two phases:

1. VAE: L1 + MSE reconstruction + 1e-6 KL (ldm's KL weight), AdamW, batch 8.
2. UNet on the VAE's posterior samples x 0.18215 (fixed as SD's scale; recorded with the latents' std), ε-MSE,
   t ~ U{0..999} on SD's schedule. Conditioning imitates what InST feeds SD: half the batch gets the text encoder's
   output for "" (the unconditional branch of guidance), half gets it for "*" with the placeholder's token embedding
   replaced by the image's own offline image-tower embedding (VGG16 substitute, properly scaled uint8), rescaled to
   the token table's norm. The UNet thus learns to read an image-derived vector at the placeholder, which is what
   InST's embedding manager writes there.

The text encoder (one layer, 768 wide) stays at its random initialisation, frozen (SD's is frozen CLIP); its token
table is a seeded Gaussian regenerated at load time (see ``baselines.inst.weights``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from baselines.inst import configs as IC
from baselines.inst.diffusion import LatentDiffusion, training_loss
from baselines.inst.embedding import PLACEHOLDER, PromptEncoder, VGGSubstituteTower, uint8_cast
from baselines.inst.tokenizer import token_id
from baselines.inst.weights import TOKEN_KEY, token_table
from benchmark.pretrain.common import LoopResult, TrainSettings, run_loop
from benchmark.pretrain.data import batch_indices

TOKEN_SEED, TOKEN_STD = 49408, 0.02
KL_WEIGHT = 1e-6


def build_untrained(seed: int) -> LatentDiffusion:
    """The smoke model at initialisation (text encoder weights rounded to fp16, the storage precision)."""
    torch.manual_seed(seed)
    unet, vae, text = IC.build_unet(IC.SMOKE.unet), IC.build_vae(IC.SMOKE.vae), IC.build_text_encoder(IC.SMOKE.text)
    with torch.no_grad():
        for p in text.parameters():
            p.copy_(p.half().float())
        text.state_dict()[TOKEN_KEY].copy_(token_table(TOKEN_SEED, IC.SMOKE.text["vocab_size"],
                                                       IC.SMOKE.text["hidden_size"], TOKEN_STD))  # fmt: skip
    return LatentDiffusion(IC.SMOKE, unet, vae, text)


def train_vae(ldm: LatentDiffusion, data: torch.Tensor, s: TrainSettings, device: str) -> LoopResult:
    vae = ldm.vae.to(device).train().requires_grad_(True)
    opt = torch.optim.AdamW(vae.parameters(), lr=s.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(s.seed + 1)

    def step(i: int) -> dict[str, float]:
        x = data[batch_indices(len(data), s.batch_size, gen)].to(device)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen).to(device)
        rec = vae.decode(z).sample
        kl = post.kl().mean()
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + KL_WEIGHT * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        return {"loss": loss.item(), "kl": kl.item()}

    result = run_loop(step, s.steps, "inst-vae", max_minutes=s.max_minutes, log_every=100)
    vae.eval().requires_grad_(False)
    return result


@torch.no_grad()
def conditioning_bank(ldm: LatentDiffusion, data: torch.Tensor, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(uncond context (1, 77, 768), per-image placeholder vectors (N, 768)) of the training faces."""
    from osasis.method.embedders import get_embedder

    tower = VGGSubstituteTower(get_embedder("vgg16-imagenet", device=torch.device(device))).to(device)
    embeds = torch.cat([tower(uint8_cast(data[i : i + 100], fix=True)) for i in range(0, len(data), 100)])
    table = ldm.text_encoder.get_input_embeddings().weight
    vectors = embeds * table.norm(dim=1).mean()
    return PromptEncoder(ldm.text_encoder, token_id(PLACEHOLDER))([""]), vectors


def train_unet(ldm: LatentDiffusion, data: torch.Tensor, s: TrainSettings, device: str) -> tuple[LoopResult, dict]:
    ldm.to(device)
    with torch.no_grad():
        posts = [ldm.vae.encode(data[i : i + 100].to(device)).latent_dist for i in range(0, len(data), 100)]
        mean, std = torch.cat([p.mean for p in posts]), torch.cat([p.std for p in posts])
    uncond, vectors = conditioning_bank(ldm, data, device)
    encoder = PromptEncoder(ldm.text_encoder, token_id(PLACEHOLDER))
    with torch.no_grad():  # the text encoder is frozen: every image's "*" context once
        contexts = torch.cat([encoder([PLACEHOLDER], v) for v in vectors])
    unet = ldm.unet.train().requires_grad_(True)
    opt = torch.optim.AdamW(unet.parameters(), lr=s.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(s.seed + 2)
    half = s.batch_size // 2

    def step(i: int) -> dict[str, float]:
        idx = batch_indices(len(data), s.batch_size, gen)
        z = ldm.scale * (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen).to(device))
        context = torch.cat([uncond.expand(half, -1, -1), contexts[idx[half:]]])
        t = torch.randint(0, len(ldm.alphas_cumprod), (s.batch_size,), generator=gen).to(device)
        noise = torch.randn(z.shape, generator=gen).to(device)
        loss = training_loss(ldm, z, context, t, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        return {"loss": loss.item()}

    result = run_loop(step, s.steps, "inst-unet", max_minutes=s.max_minutes, log_every=100)
    unet.eval().requires_grad_(False)
    latent_std = float((ldm.scale * mean).std())
    return result, {"scaled_latent_std": round(latent_std, 4), "latent_scale": ldm.scale}
