"""Write ``data/assets/smoke.yaml``: one bundled asset entry per committed smoke model file (sha256, size)."""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmark.assets import MANIFEST_DIR, REPO_ROOT, sha256_file

RETRAIN = "python -m benchmark.pretrain --all --out data/smoke/models (see docs/SMOKE_MODELS.md)"
LICENSE = "MIT (trained by the project on procedural data)"

#: asset name -> (file name, users, description)
ENTRIES: dict[str, tuple[str, list[str], str]] = {
    "smoke_diffae_autoenc": (
        "diffae_smoke64_autoenc.ckpt",
        ["osasis/weights.py", "benchmark/pretrain/quality.py"],
        "Tiny DiffAE autoencoder (64 px, benchmark.pretrain.configs.DIFFAE_SMOKE) in the official "
        "ffhq256_autoenc/last.ckpt layout: state_dict with model.* (raw) and ema_model.* (EMA, used) UNet + "
        "semantic encoder, x_T; fp16 storage. Load with osasis.load_diffae(path, DIFFAE_SMOKE).",
    ),
    "smoke_diffae_latent_stats": (
        "diffae_smoke64_latent.pkl",
        ["osasis/weights.py"],
        "z_sem statistics of the smoke training faces in the official latent.pkl layout {conds, conds_mean, "
        "conds_std} (128-d). Load with osasis.load_latent_stats(path).",
    ),
    "smoke_diffae_autoenc_latent": (
        "diffae_smoke64_autoenc_latent.ckpt",
        ["osasis/weights.py", "benchmark/pretrain/quality.py"],
        "Tiny DiffAE with latent DPM (DIFFAE_LATENT_SMOKE) in the official ffhq256_autoenc_latent/last.ckpt layout: "
        "autoencoder + latent_net.* (MLP skip-net) + conds_mean/conds_std; model.* and ema_model.* hold the same "
        "EMA weights (one shared storage); fp16 storage. Load with osasis.load_diffae / load_latent_net.",
    ),
    "smoke_p2": (
        "p2_smoke64.pt",
        ["osasis/weights.py", "benchmark/pretrain/quality.py", "baselines/diffuseit/method.py"],
        "Tiny P2-style ADM DDPM with learned variance (P2_SMOKE) in the ffhq_p2.pt layout (plain EMA state dict); "
        "fp16 storage. Load with osasis.load_p2(path, P2_SMOKE).",
    ),
    "smoke_stylegan2": (
        "stylegan2_smoke64.pt",
        ["baselines/jojogan/method.py", "baselines/stylegan2/checkpoint.py"],
        "Tiny StyleGAN2 (64 px, STYLEGAN2_SMOKE) in the rosinality layout {g, g_ema, d, latent_avg}; fp16 storage "
        "(latent_avg fp32). load_generator/load_discriminator infer the architecture from the shapes.",
    ),
    "smoke_hfgi": (
        "hfgi_smoke64.pt",
        ["baselines/jojogan/inverters.py", "baselines/hfgi/checkpoint.py"],
        "HFGI distortion branch for the smoke StyleGAN2 in the official ckpt.pt layout without encoder/decoder: "
        "state_dict with residue.* (16-channel conditions at 64 px) and grid_align.*, opts (input_size 64, "
        "condition_size 64, base_inverter projector). Load with baselines.hfgi.load_hfgi(path, parts=('residue', "
        "'grid_align')); trained by benchmark/pretrain/hfgi.py on projector W+ codes.",
    ),
    "smoke_inst_ldm": (
        "inst_ldm_smoke64.pt",
        ["baselines/inst/method.py", "baselines/inst/weights.py"],
        "Tiny latent diffusion model of InST (baselines.inst.configs.SMOKE: AutoencoderKL 64 px -> 16x16x4, "
        "UNet2DConditionModel with context 768, one-layer 768-wide CLIPTextModel frozen at its seeded init) "
        "{arch, unet, vae, text, token_embedding: {seed, std, sha256}}; fp16 storage. Load with "
        "baselines.inst.weights.load_smoke_ldm(path).",
    ),
    "clip-tiny-smoke": (
        "clip_smoke64.safetensors",
        ["benchmark/features/clip.py", "osasis/method/embedders.py"],
        "Tiny CLIP of the smoke world (open_clip CLIP, config benchmark/features/open_clip_configs/"
        "ViT-T-8-smoke64.json: 64 px ViT, patch 8, + text transformer, context 32, open_clip's CLIP BPE "
        "vocabulary), trained on smoke faces with ground-truth captions; safetensors state dict, fp16 storage. "
        "Load with open_clip.create_model('ViT-T-8-smoke64', pretrained=path) after "
        "benchmark.features.clip.register_configs().",
    ),
    "smoke_attribute_judge": (
        "attribute_judge_smoke64.safetensors",
        ["benchmark/pretrain/judge.py", "benchmark/stages/text_edit.py"],
        "Attribute judge of the smoke world (benchmark.pretrain.judge.AttributeJudge: small CNN, 64 px, clean or "
        "stylized faces -> hair colour/style, skin, hat, glasses, beard, hand, face paint); scores text edits "
        "independently of the CLIP that drives them. safetensors state dict. Load with judge.load_judge(path).",
    ),
}


def write_manifest(models_dir: str | Path = "data/smoke/models", path: str | Path | None = None) -> Path:
    """Write the smoke manifest for the files present in ``models_dir`` (a repository path)."""
    models_dir = Path(models_dir)
    rel = (models_dir.resolve().relative_to(REPO_ROOT)) if models_dir.resolve().is_relative_to(REPO_ROOT) else None
    if rel is None:
        raise ValueError(f"{models_dir} is not inside the repository; bundled assets must be repository files")
    entries = []
    for name, (file, used_by, description) in ENTRIES.items():
        full = models_dir / file
        if not full.is_file():
            continue
        entries.append({"name": name, "file": f"{rel.as_posix()}/{file}", "bundled": True, "url": "",
                        "sha256": sha256_file(full), "size": full.stat().st_size, "license": LICENSE,
                        "profiles": ["smoke"], "used_by": used_by, "description": description,
                        "how_to_get": RETRAIN})  # fmt: skip
    path = Path(path) if path else MANIFEST_DIR / "smoke.yaml"
    header = ("# Tiny pretrained models of the smoke profile, trained by benchmark.pretrain on the procedural face\n"
              "# domain and committed to the repository. Written by benchmark/pretrain/manifest.py; see\n"
              "# docs/SMOKE_MODELS.md for the recipes and measured quality.\n")  # fmt: skip
    path.write_text(header + yaml.safe_dump({"assets": entries}, sort_keys=False, width=110))
    return path
