"""Quality of the smoke models, measured against untrained copies of the same architectures, plus sample grids.

* DiffAE: LPIPS-alex between held-out faces and (a) their deterministic DDIM-inversion reconstruction (20 + 20
  steps, x_T from the inversion) and (b) their stochastic reconstruction (same z_sem, fresh x_T).
* Sample realism (DiffAE via the latent DPM, P2, StyleGAN2): mean nearest-neighbour LPIPS-VGG from each sample to
  the held-out faces. Floor: the same distance for real faces of the pool split; ceiling: the untrained model.
* "Recognisably faces": the share of samples in which dlib's HOG frontal face detector (real offline weights, one
  upsampling, 8-bit RGB at 64 px) finds a face, against the same share for real faces and untrained models.
* P2 SDEdit (noise to t≈510, ancestral learned-variance denoising): LPIPS-alex of the round trip on held-out faces,
  and for stylized faces the distance of the SDEdit output to the unstylized face vs. the stylized input's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from benchmark.imageio import pil_to_tensor, save_png, tensor_to_pil
from benchmark.metrics.lpips import get_lpips
from benchmark.pretrain import configs as C
from benchmark.pretrain.common import log
from benchmark.pretrain.data import face_tensor

N_RECON = 16
N_SAMPLES = 32
N_HELDOUT = 64
STEPS = 20
STYLES = ("posterize-ink", "pencil-sketch", "watercolor", "palette-swap")


# ------------------------------------------------------------------------------------------------ measures
@torch.no_grad()
def lpips_pairs(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """LPIPS between matching images (N,), inputs in [-1, 1] (clamped)."""
    x, y = x.clamp(-1, 1), y.clamp(-1, 1)
    return torch.cat([net(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def nearest_lpips(net: Any, samples: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
    """For each sample, the LPIPS distance to its nearest reference image (N,)."""
    f_ref = net.features(refs.clamp(-1, 1))
    out = []
    for s in samples.clamp(-1, 1):
        f_s = [f.expand(len(refs), -1, -1, -1) for f in net.features(s[None])]
        out.append(net.distance_from_features(f_s, f_ref).min())
    return torch.stack(out)


def face_detection_rate(images: torch.Tensor, upsample: int = 1) -> float:
    """Share of images ([-1, 1]) in which dlib's HOG frontal face detector finds at least one face."""
    import dlib

    detector = dlib.get_frontal_face_detector()
    arr = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
    return round(sum(len(detector(a, upsample)) > 0 for a in arr) / len(arr), 4)


def summary(values: torch.Tensor) -> dict[str, float]:
    return {"mean": round(values.mean().item(), 4), "std": round(values.std().item(), 4)}


# -------------------------------------------------------------------------------------------------- grids
def save_grid(rows: list[torch.Tensor], path: Path, pad: int = 2) -> Path:
    """Rows of images in [-1, 1] (same count per row) as one PNG with a white gutter."""
    n, (c, h, w) = rows[0].shape[0], rows[0].shape[1:]
    canvas = torch.ones(c, len(rows) * (h + pad) + pad, n * (w + pad) + pad)
    for r, row in enumerate(rows):
        for i, img in enumerate(row):
            y, x = pad + r * (h + pad), pad + i * (w + pad)
            canvas[:, y : y + h, x : x + w] = (img.clamp(-1, 1) + 1) / 2
    return save_png(canvas, path)


def rows_of(x: torch.Tensor, per_row: int = 8) -> list[torch.Tensor]:
    return [x[i : i + per_row] for i in range(0, len(x) - per_row + 1, per_row)]


# ----------------------------------------------------------------------------------------------- DiffAE
@torch.no_grad()
def diffae_reconstructions(model: Any, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(DDIM-inversion reconstruction, stochastic reconstruction) of ``x`` with ``STEPS``-step DDIM."""
    from osasis.api import diffae_cond, encode, sample_images
    from osasis.diffusion.loops import sample_loop
    from osasis.diffusion.schedule import Schedule

    sched = Schedule.ddim(STEPS)
    z = encode(model, x)
    x_t = sample_loop(model, x, sched, range(STEPS), diffae_cond(z), method="ddim_inverse")
    inv = sample_loop(model, x_t, sched, range(STEPS - 1, -1, -1), diffae_cond(z))
    return inv, sample_images(model, z, steps=STEPS, generator=gen)


def measure_diffae(out: Path, images: Path, heldout: torch.Tensor, alex: Any, vgg: Any, seed: int) -> dict:
    from osasis.api import sample_images, sample_latent
    from osasis.networks.diffae_unet import DiffAEAutoencoder
    from osasis.networks.latentnet import MLPSkipNet
    from osasis.weights import load_diffae, load_latent_net, load_latent_stats

    torch.manual_seed(seed)
    untrained = DiffAEAutoencoder(C.DIFFAE_SMOKE).eval()
    trained = load_diffae(out / "diffae_smoke64_autoenc.ckpt", C.DIFFAE_SMOKE)
    x = heldout[:N_RECON]
    res: dict[str, Any] = {}
    for name, model in (("trained", trained), ("untrained", untrained)):
        inv, sto = diffae_reconstructions(model, x, torch.Generator().manual_seed(seed))
        res[name] = {"recon_inversion_lpips_alex": summary(lpips_pairs(alex, inv, x)),
                     "recon_stochastic_lpips_alex": summary(lpips_pairs(alex, sto, x))}  # fmt: skip
        if name == "trained":
            save_grid([r[i : i + 8] for i in range(0, len(x), 8) for r in (x, inv, sto)], images / "diffae_recon.png")
    latent_file = out / "diffae_smoke64_autoenc_latent.ckpt"
    if latent_file.is_file():
        stats = load_latent_stats(out / "diffae_smoke64_latent.pkl")
        nets = {"trained": (trained, load_latent_net(latent_file, C.DIFFAE_LATENT_SMOKE), stats),
                "untrained": (untrained, MLPSkipNet(C.LATENT_SMOKE).eval(), None)}  # fmt: skip
        for name, (model, net, st) in nets.items():
            gen = torch.Generator().manual_seed(seed + 7)
            z = sample_latent(net, st, N_SAMPLES, steps=50, generator=gen)
            samples = sample_images(model, z, steps=STEPS, generator=gen)
            res[name]["samples_nn_lpips_vgg"] = summary(nearest_lpips(vgg, samples, heldout))
            res[name]["samples_face_detection_rate"] = face_detection_rate(samples)
            if name == "trained":
                save_grid(rows_of(samples), images / "diffae_samples.png")
                res["latent_z_stats"] = {"sampled_z_norm_mean": round(stats.normalize(z).norm(dim=1).mean().item(), 3),
                                         "expected_norm": round(z.shape[1] ** 0.5, 3)}  # fmt: skip
    return res


# --------------------------------------------------------------------------------------------------- P2
def stylized(x: torch.Tensor) -> torch.Tensor:
    """The in-domain smoke stylizers applied to faces (cycled), in [-1, 1]."""
    from benchmark.smoke.stylizers import apply_style

    out = [pil_to_tensor(apply_style(STYLES[i % len(STYLES)], tensor_to_pil((img + 1) / 2))) for i, img in enumerate(x)]
    return torch.stack(out) * 2 - 1


@torch.no_grad()
def ddpm_samples(model: Any, n: int, gen: torch.Generator, respacing: int = 50) -> torch.Tensor:
    from osasis.diffusion.loops import sample_loop
    from osasis.diffusion.schedule import Schedule

    sched = Schedule.respaced(respacing)
    noise = torch.randn(n, 3, C.RESOLUTION, C.RESOLUTION, generator=gen)
    return sample_loop(model, noise, sched, range(len(sched) - 1, -1, -1), method="ddpm", generator=gen)


def measure_p2(out: Path, images: Path, heldout: torch.Tensor, alex: Any, vgg: Any, seed: int) -> dict:
    from osasis.api import sdedit
    from osasis.networks.adm_unet import ADMUNet
    from osasis.weights import load_p2

    torch.manual_seed(seed)
    models = {"trained": load_p2(out / "p2_smoke64.pt", C.P2_SMOKE), "untrained": ADMUNet(C.P2_SMOKE).eval()}
    x = heldout[:N_RECON]
    sx = stylized(x)
    res: dict[str, Any] = {"stylized_input_to_face_lpips_alex": summary(lpips_pairs(alex, sx, x))}
    for name, model in models.items():
        rt = sdedit(model, x, generator=torch.Generator().manual_seed(seed))
        st = sdedit(model, sx, generator=torch.Generator().manual_seed(seed + 1))
        samples = ddpm_samples(model, N_SAMPLES // 2, torch.Generator().manual_seed(seed + 2))
        res[name] = {"sdedit_roundtrip_lpips_alex": summary(lpips_pairs(alex, rt, x)),
                     "sdedit_stylized_to_face_lpips_alex": summary(lpips_pairs(alex, st, x)),
                     "sdedit_nn_lpips_vgg": summary(nearest_lpips(vgg, torch.cat([rt, st]), heldout)),
                     "samples_nn_lpips_vgg": summary(nearest_lpips(vgg, samples, heldout)),
                     "samples_face_detection_rate": face_detection_rate(samples)}  # fmt: skip
        if name == "trained":
            save_grid([x[:8], rt[:8], sx[:8], st[:8], samples[:8]], images / "p2_sdedit.png")
    return res


# ---------------------------------------------------------------------------------------------- StyleGAN2
def measure_stylegan2(out: Path, images: Path, heldout: torch.Tensor, vgg: Any, seed: int) -> dict:
    from baselines.stylegan2 import Generator, load_generator

    torch.manual_seed(seed)
    trained, _ = load_generator(out / "stylegan2_smoke64.pt")
    res: dict[str, Any] = {}
    for name, g in (("trained", trained), ("untrained", Generator(C.STYLEGAN2_SMOKE).eval())):
        with torch.no_grad():
            z = torch.randn(N_SAMPLES, g.style_dim, generator=torch.Generator().manual_seed(seed))
            samples = g.sample(z)
        res[name] = {"samples_nn_lpips_vgg": summary(nearest_lpips(vgg, samples, heldout)),
                     "samples_face_detection_rate": face_detection_rate(samples)}  # fmt: skip
        if name == "trained":
            save_grid(rows_of(samples), images / "stylegan2_samples.png")
    return res


def measure_inst(out: Path, images: Path, heldout: torch.Tensor, alex: Any, vgg: Any, seed: int) -> dict:
    """InST's tiny LDM: VAE reconstruction (posterior mean), unconditional ("") DDIM samples, and the img2img round
    trip InST runs (inversion from t=700 with the predicted ε, 0.7 x STEPS guided DDIM steps, prompt "")."""
    from baselines.inst.diffusion import InferenceSettings, ddim_scheduler, guided_ddim_step, stylize_latent
    from baselines.inst.embedding import PromptEncoder
    from baselines.inst.weights import load_smoke_ldm
    from benchmark.pretrain.inst_ldm import build_untrained

    x = heldout[:N_RECON]
    res: dict[str, Any] = {}
    for name, ldm in (("trained", load_smoke_ldm(out / "inst_ldm_smoke64.pt")), ("untrained", build_untrained(seed))):
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            post = ldm.vae.encode(x).latent_dist
            recon = ldm.vae.decode(post.mean).sample
            uncond = PromptEncoder(ldm.text_encoder, 0)([""])
            sched = ddim_scheduler(STEPS)
            z = torch.randn(N_SAMPLES, 4, 16, 16, generator=gen)
            for t in sched.timesteps:
                z = guided_ddim_step(ldm, sched, z, int(t), uncond.expand(N_SAMPLES, -1, -1), uncond, 1.0)
            samples = ldm.decode(z)
            z0 = ldm.scale * post.mean
            noise = torch.randn(z0.shape, generator=gen)
            ctx = uncond.expand(len(z0), -1, -1)
            trip = ldm.decode(stylize_latent(ldm, z0, ctx, ctx, noise, InferenceSettings(steps=STEPS)))
        res[name] = {"vae_recon_lpips_alex": summary(lpips_pairs(alex, recon, x)),
                     "samples_nn_lpips_vgg": summary(nearest_lpips(vgg, samples, heldout)),
                     "samples_face_detection_rate": face_detection_rate(samples),
                     "img2img_roundtrip_lpips_alex": summary(lpips_pairs(alex, trip, x))}  # fmt: skip
        if name == "trained":
            save_grid([x[:8], recon[:8], trip[:8], *rows_of(samples[:16])], images / "inst_ldm_samples.png")
    return res


def measure_all(out: str | Path, images: str | Path, device: str = "cpu", seed: int = 0) -> dict:
    """Every measurement whose model files exist in ``out``; grids go to ``images`` (CPU evaluation)."""
    out, images = Path(out), Path(images)
    images.mkdir(parents=True, exist_ok=True)
    dev = torch.device("cpu")
    alex, vgg = get_lpips("alex", dev), get_lpips("vgg", dev)
    heldout = face_tensor("heldout", N_HELDOUT, seed)
    pool = face_tensor("pool", N_SAMPLES, seed)
    res: dict[str, Any] = {
        "protocol": {"heldout_faces": N_HELDOUT, "recon_faces": N_RECON, "samples": N_SAMPLES, "ddim_steps": STEPS,
                     "sdedit": "respacing 50, start index 25 (t=510)", "device": "cpu", "seed": seed},
        "real_pool_faces_nn_lpips_vgg": summary(nearest_lpips(vgg, pool, heldout)),
        "real_pool_faces_face_detection_rate": face_detection_rate(pool),
    }  # fmt: skip
    if (out / "diffae_smoke64_autoenc.ckpt").is_file():
        log("quality: diffae")
        res["diffae"] = measure_diffae(out, images, heldout, alex, vgg, seed)
    if (out / "p2_smoke64.pt").is_file():
        log("quality: p2")
        res["p2"] = measure_p2(out, images, heldout, alex, vgg, seed)
    if (out / "stylegan2_smoke64.pt").is_file():
        log("quality: stylegan2")
        res["stylegan2"] = measure_stylegan2(out, images, heldout, vgg, seed)
    if (out / "inst_ldm_smoke64.pt").is_file():
        log("quality: inst")
        res["inst"] = measure_inst(out, images, heldout, alex, vgg, seed)
    return res
