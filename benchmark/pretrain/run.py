"""Command line: train the smoke models from scratch and write them (official layouts) plus ``record.json``.

    python -m benchmark.pretrain --all --out data/smoke/models [--device cuda] [--steps-scale 1.0]

Models: ``diffae`` (autoencoder), ``latent`` (latent DPM + z_sem stats; needs the diffae file), ``p2`` (ADM DDPM),
``stylegan2`` (G/D). ``--quality`` (on by default with ``--all``) measures them and draws the sample grids.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from hashlib import md5
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from benchmark.assets import sha256_file
from benchmark.pretrain import configs as C
from benchmark.pretrain.common import TrainSettings, count_params, log
from benchmark.pretrain.data import face_tensor
from osasis.configs import config_to_dict

MODELS = ("diffae", "latent", "p2", "stylegan2", "hfgi", "inst", "clip", "judge")
CAPTIONED = ("clip", "judge")  # models that render their own captioned/labelled data
FILES = {
    "diffae": ["diffae_smoke64_autoenc.ckpt"],
    "latent": ["diffae_smoke64_autoenc_latent.ckpt", "diffae_smoke64_latent.pkl"],
    "p2": ["p2_smoke64.pt"],
    "stylegan2": ["stylegan2_smoke64.pt"],
    "hfgi": ["hfgi_smoke64.pt"],
    "inst": ["inst_ldm_smoke64.pt"],
    "clip": ["clip_smoke64.safetensors"],
    "judge": ["attribute_judge_smoke64.safetensors"],
}
#: The committed models' recipes (about 2 h in all on an idle 2-core CPU; see docs/SMOKE_MODELS.md).
RECIPES: dict[str, TrainSettings] = {
    "diffae": TrainSettings(steps=2400, batch_size=8, lr=4e-4, ema_decay=0.995, warmup=100),
    "latent": TrainSettings(steps=4000, batch_size=128, lr=5e-4, ema_decay=0.999, warmup=200),
    "p2": TrainSettings(steps=1400, batch_size=8, lr=4e-4, ema_decay=0.995, warmup=100,
                        extra={"p2_gamma": 0.0, "p2_k": 1.0}),
    "stylegan2": TrainSettings(steps=10000, batch_size=16, lr=2.5e-3, ema_decay=0.995, grad_clip=None,
                               extra={"r1_gamma": 0.1, "continue_steps": 8000}),
    # HFGI's residue + grid_align over the tiny StyleGAN2 (benchmark/pretrain/hfgi.py; official losses and Ranger)
    "hfgi": TrainSettings(steps=300, batch_size=8, lr=1e-3, ema_decay=0.0, grad_clip=None,
                          extra={"n_faces": 24, "n_eval": 6, "projector_steps": 20, "input_size": 64,
                                 "zero_init_heads": True,
                                 "condition_size": 64, "distortion_scale": 0.15, "aug_rate": 0.9, "l2_lambda": 1.0,
                                 "lpips_lambda": 0.8, "res_lambda": 0.1, "id_lambda": 0.0}),
    # InST's latent diffusion model: VAE phase (steps/batch/lr here), then the UNet phase (extra); n = 200 faces
    "inst": TrainSettings(steps=200, batch_size=4, lr=1e-3, grad_clip=1.0,
                          extra={"unet_steps": 400, "unet_batch_size": 8, "unet_lr": 1e-3, "n_images": 200}),
    "clip": TrainSettings(steps=2000, batch_size=64, lr=1e-3, ema_decay=0.995, warmup=50,
                          extra={"n_train": 1500, "n_heldout": 300}),
    "judge": TrainSettings(steps=600, batch_size=64, lr=2e-3, ema_decay=0.99, warmup=30,
                           extra={"n_train": 1000, "n_heldout": 300}),
}  # fmt: skip
DATA = {"split": "train", "n": 2000, "seed": 0, "size": C.RESOLUTION}


def settings_for(name: str, scale: float, seed: int, max_minutes: float | None) -> TrainSettings:
    base = RECIPES[name]
    return replace(base, steps=max(1, round(base.steps * scale)), seed=seed,
                   max_minutes=max_minutes or base.max_minutes, extra=dict(base.extra))  # fmt: skip


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("torch", "numpy", "pillow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def update_record(out: Path, key: str, value: Any) -> dict:
    """Merge ``value`` into ``record.json[key]`` under a lock (parallel trainings share one record)."""
    lock = Path(tempfile.gettempdir()) / f"pretrain-{md5(str(out.resolve()).encode()).hexdigest()[:8]}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        path = out / "record.json"
        record = json.loads(path.read_text()) if path.is_file() else {}
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **value}
        else:
            record[key] = value
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
        return record


def file_info(out: Path, names: list[str]) -> dict[str, dict]:
    return {n: {"sha256": sha256_file(out / n), "size": (out / n).stat().st_size} for n in names}


def train_one(name: str, out: Path, args: argparse.Namespace, data: torch.Tensor | None) -> None:
    """Train ``name``, save its files and its record entry."""
    from benchmark.pretrain import ddpm, diffae, inst_ldm, latent, stylegan2
    from osasis.weights import load_diffae

    s = settings_for(name, args.steps_scale, args.seed, args.max_minutes)
    if getattr(args, "steps", None):
        s = replace(s, steps=int(args.steps))
    dev = args.device
    start = time.time()
    info: dict[str, Any] = {
        "settings": s.to_dict(),
        "device": dev,
        "threads": torch.get_num_threads(),
        "command": args.command,
    }
    if name == "clip":
        info.update(train_clip_model(out / FILES[name][0], s, dev))
    elif name == "judge":
        info.update(train_judge_model(out / FILES[name][0], s, dev))
    elif name == "diffae":
        model, ema, res = diffae.train_diffae(C.DIFFAE_SMOKE, data, s, dev)
        diffae.save_autoenc(out / FILES[name][0], model, ema, res.steps_done)
        info.update(config=config_to_dict(C.DIFFAE_SMOKE), params=count_params(ema))
    elif name == "latent":
        autoenc = load_diffae(out / FILES["diffae"][0], C.DIFFAE_SMOKE, device=dev)
        conds = latent.encode_all(autoenc, data, device=dev)
        net, ema, res = latent.train_latent(C.LATENT_SMOKE, conds, s, dev)
        latent.save_latent_files(out / FILES[name][0], out / FILES[name][1], C.DIFFAE_LATENT_SMOKE, autoenc, ema,
                                 conds, res.steps_done)  # fmt: skip
        info.update(config=config_to_dict(C.LATENT_SMOKE), params=count_params(ema),
                    autoenc_latent_config=config_to_dict(C.DIFFAE_LATENT_SMOKE))  # fmt: skip
    elif name == "p2":
        model, ema, res = ddpm.train_p2(C.P2_SMOKE, data, s, dev)
        ddpm.save(out / FILES[name][0], ema)
        info.update(config=config_to_dict(C.P2_SMOKE), params=count_params(ema),
                    loss={"mse_weight": "1/(p2_k + SNR)^p2_gamma (settings.extra)",
                          "vlb_weight": "T/1000 (= 0.001 L_vlb)"})  # fmt: skip
    elif name == "hfgi":
        info.update(train_hfgi(out, s, dev, data))
        res = info.pop("loop")
    elif name == "inst":
        from baselines.inst.weights import save_smoke_ldm

        n = int(s.extra["n_images"])
        ldm = inst_ldm.build_untrained(s.seed)
        vae_res = inst_ldm.train_vae(ldm, data[:n], s, dev)
        unet_s = replace(s, steps=max(1, round(int(s.extra["unet_steps"]) * args.steps_scale)),
                         batch_size=int(s.extra["unet_batch_size"]), lr=float(s.extra["unet_lr"]))
        res, latent_info = inst_ldm.train_unet(ldm, data[:n], unet_s, dev)
        save_smoke_ldm(out / FILES[name][0], ldm.to("cpu"), inst_ldm.TOKEN_SEED, inst_ldm.TOKEN_STD)
        info.update(config={"architecture": "smoke-ldm64 (baselines/inst/configs.py)", **latent_info,
                            "conditioning": inst_ldm.__doc__.split("2. ")[1].split("The text encoder")[0].strip()},
                    params={"unet": count_params(ldm.unet), "vae": count_params(ldm.vae),
                            "text_encoder": count_params(ldm.text_encoder)},
                    vae_result=vae_res.to_dict())  # fmt: skip
    else:
        init = getattr(args, "init_from", None)
        init_sha = sha256_file(init) if init is not None else None
        path = out / FILES[name][0]
        g, g_ema, d, res = stylegan2.train_stylegan2(C.STYLEGAN2_SMOKE, data, s, dev, init_from=init)
        stylegan2.save(path, g, g_ema, d, stylegan2.latent_average(g_ema, seed=s.seed))
        continue_steps = round(float(s.extra.get("continue_steps", 0)) * args.steps_scale)
        if init is None and continue_steps:
            # the recipe's second phase: continue from the file just written (fp16 storage, fresh Adam moments)
            first = {"steps": res.steps_done, "seed": s.seed, "result": res.to_dict(), "sha256": sha256_file(path)}
            s = replace(s, steps=continue_steps, seed=s.seed + 1)
            init, init_sha = path, first["sha256"]
            g, g_ema, d, res = stylegan2.train_stylegan2(C.STYLEGAN2_SMOKE, data, s, dev, init_from=init)
            stylegan2.save(path, g, g_ema, d, stylegan2.latent_average(g_ema, seed=s.seed))
            info["first_phase"] = first
        if init is not None:
            info["init_from"] = {"file": Path(init).name, "sha256": init_sha, "steps": s.steps, "seed": s.seed,
                                 "note": "g, g_ema and d continued; Adam moments restarted at zero"}  # fmt: skip
        cfg = C.STYLEGAN2_SMOKE
        info.update(config={"size": cfg.size, "style_dim": cfg.style_dim, "n_mlp": cfg.n_mlp,
                            "channel_base": cfg.channel_base, "max_channels": cfg.max_channels,
                            "widths": {r: cfg.width(r) for r in (4, 8, 16, 32, 64)}},
                    params={"g": count_params(g_ema), "d": count_params(d)})  # fmt: skip
    if name not in CAPTIONED:
        info["result"] = res.to_dict()  # the captioned models put theirs in info themselves
    info.update(wall_s=round(time.time() - start, 1), storage="float16",
                files=file_info(out, FILES[name]))  # fmt: skip
    update_record(out, "models", {name: info})
    log(f"{name}: done in {(time.time() - start) / 60:.1f} min, {info['result']['steps_done']} steps")


def train_clip_model(path: Path, s: TrainSettings, device: str) -> dict[str, Any]:
    """The tiny CLIP: its own captioned data (train split, clean + stylized), training, held-out quality."""
    import json as _json

    from benchmark.features.clip import CONFIG_DIR
    from benchmark.pretrain import clip

    data = clip.captioned_images("train", int(s.extra["n_train"]), s.seed)
    model, ema, res = clip.train_clip(data, s, device)
    clip.save_clip(path, ema)
    heldout = clip.captioned_images("heldout", int(s.extra["n_heldout"]), s.seed)
    config = _json.loads((CONFIG_DIR / f"{clip.ARCH}.json").read_text())
    return {"arch": clip.ARCH, "config": config, "params": count_params(ema), "result": res.to_dict(),
            "data": {"rare_rates": clip.RARE_RATES, "styles": [s or "none" for s in clip.styles_available()],
                     "magenta_per_style": clip.MAGENTA_PER_STYLE, "images": len(data.attrs)},
            "quality": {"heldout": {p: clip.evaluate_clip(ema, heldout, p) for p in ("clip", "official")}}}


def train_judge_model(path: Path, s: TrainSettings, device: str) -> dict[str, Any]:
    """The attribute judge: the tiny CLIP's images with their labels, held-out accuracy (clean and stylized)."""
    from benchmark.pretrain import clip, judge

    data = clip.captioned_images("train", int(s.extra["n_train"]), s.seed)
    model, ema, res = judge.train_judge(data.images, data.attrs, s, device)
    judge.save_judge(path, ema)
    held = clip.captioned_images("heldout", int(s.extra["n_heldout"]), s.seed)
    return {"params": count_params(ema), "widths": list(judge.WIDTHS), "result": res.to_dict(),
            "data": {"rare_rates": clip.RARE_RATES, "images": len(data.attrs), "same_as": "clip"},
            "quality": {"heldout": judge.evaluate_judge(ema, held.images, held.attrs, held.styles)}}


def train_hfgi(out: Path, s: TrainSettings, dev: str, data: torch.Tensor) -> dict[str, Any]:
    """Project ``n_faces`` training faces, train HFGI's branch on them, measure LPIPS on held-out faces."""
    from baselines.jojogan.inverters import ProjectorSettings
    from baselines.stylegan2.checkpoint import load_generator
    from benchmark.metrics.lpips import get_lpips
    from benchmark.pretrain import hfgi

    g, latent_avg = load_generator(out / FILES["stylegan2"][0], key="g_ema")
    g = g.float().to(dev)
    assert latent_avg is not None
    nets = {"alex": get_lpips("alex", torch.device(dev)), "vgg": get_lpips("vgg", torch.device(dev))}
    proj = ProjectorSettings(steps=int(s.extra["projector_steps"]), lpips="vgg")
    start = time.time()
    faces = face_tensor(DATA["split"], int(s.extra["n_faces"]), DATA["seed"], DATA["size"])  # = data[:n_faces]
    codes = hfgi.project_faces(g, faces, latent_avg, proj, nets["vgg"])
    project_s = time.time() - start
    residue, grid_align, res = hfgi.train_branch(g, faces, codes, s, nets["alex"], dev)
    hfgi.save(out / FILES["hfgi"][0], residue, grid_align, s)
    heldout = face_tensor("heldout", int(s.extra["n_eval"]), DATA["seed"], DATA["size"])
    start = time.time()
    held_codes = hfgi.project_faces(g, heldout, latent_avg, proj, nets["vgg"])
    per_face = (time.time() - start) / len(heldout)
    cost = hfgi.branch_cost(g, residue, grid_align, heldout[:1], held_codes[:1])
    return {
        "loop": res,
        "base_codes": {"inverter": "projector", "steps": proj.steps, "lpips": proj.lpips, "faces": len(faces),
                       "wall_s": round(project_s, 1)},
        "config": {"cond_channels": residue.cond_channels, "cond_size": residue.cond_size,
                   "input_size": int(s.extra["input_size"])},
        "params": {"residue": count_params(residue), "grid_align": count_params(grid_align)},
        "quality": {
            "reconstruction_lpips_train": hfgi.reconstruction_lpips(g, residue, grid_align, faces[:8], codes[:8],
                                                                    nets),
            "reconstruction_lpips_heldout": hfgi.reconstruction_lpips(g, residue, grid_align, heldout, held_codes,
                                                                      nets),
            "n_heldout": len(heldout),
            "cost_s_per_image": {"projector": round(per_face, 2), "hfgi_branch": cost},
        },
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.pretrain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--all", action="store_true", help="train every model (then measure quality)")
    parser.add_argument("--models", nargs="*", default=[], choices=MODELS)
    parser.add_argument("--out", type=Path, default=Path("data/smoke/models"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiply every recipe's step count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--max-minutes", type=float, default=None, help="per-model wall-clock cap (recorded)")
    parser.add_argument("--n-train", type=int, default=DATA["n"], help="training faces (train split)")
    parser.add_argument("--quality", action=argparse.BooleanOptionalAction, default=None,
                        help="measure quality and draw grids (default: with --all)")  # fmt: skip
    parser.add_argument(
        "--manifest",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rewrite data/assets/smoke.yaml with the new checksums (--out must be in the repository)",
    )
    parser.add_argument("--images", type=Path, default=Path("docs/images"), help="where the sample grids go")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="stylegan2 only: continue from this official-layout file (recorded with its sha256)")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's step count (one model)")
    args = parser.parse_args(argv)
    args.command = "python -m benchmark.pretrain " + " ".join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    names = list(MODELS) if args.all else [m for m in MODELS if m in args.models]
    args.out.mkdir(parents=True, exist_ok=True)
    if names:
        data_info = {**DATA, "n": args.n_train}
        data = torch.empty(0)
        # hfgi renders (and projects) only its own few faces; clip and judge render captioned data
        if any(name not in CAPTIONED and name != "hfgi" for name in names):
            data = face_tensor(data_info["split"], data_info["n"], data_info["seed"], data_info["size"])
            update_record(args.out, "data", {**data_info, "source": "benchmark.smoke (build_smoke_world train split)"})
        update_record(args.out, "environment", {"versions": versions(), "cpus": os.cpu_count()})
        for name in names:
            train_one(name, args.out, args, data)
        if args.manifest:
            from benchmark.pretrain.manifest import write_manifest

            try:
                log(f"manifest: {write_manifest(args.out)}")
            except ValueError as err:
                log(f"manifest not written: {err}")
    if args.quality if args.quality is not None else args.all:
        from benchmark.pretrain.quality import measure_all

        update_record(args.out, "quality", measure_all(args.out, args.images, args.device, args.seed))
    return 0
