"""Mind the Gap (Zhu et al., ICLR 2022) as a benchmark method (``mtg``).

``prepare``: unless ``pretrained_styles`` names a released per-style file for this reference, embed the
reference with II2S (:mod:`baselines.mtg.ii2s`), fine-tune a trainable copy of the pretrained generator against a
frozen copy with the five released losses (:mod:`baselines.mtg.finetune`), and save the released layout
``{'g_ema', 'g_optim', 'latent_avg', 'style_latent'}`` under ``workdir``.
``stylize``: invert each input with the configured inverter (JoJoGAN's inverter factory, by name), replace the
codes from layer 7 on (``with_color``; the index is scaled for generators with fewer than 18 codes) by the style
code, render with the fine-tuned generator at its own size, map to [0, 1] and resize once with the suite's resizer.

Deviations, all options: every random draw is seeded (upstream's II2S and inference noise are unseeded; its
training seed 2 is set only after the embedding); inference noise is drawn per image from (seed, image name), so
outputs do not depend on batching (``inference_noise: const`` uses the generator's stored noise instead).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from baselines.inversion_cache import cache_notes
from baselines.jojogan.finetune import scale_indices
from baselines.jojogan.inverters import HFGI_BASES, INVERTERS, Inverter, InverterOptions, build_inverter, synthesize
from baselines.mtg.checkpoint import load_mtg, save_mtg
from baselines.mtg.finetune import PHASES, FinetuneSettings, LossWeights, MTGLoss, finetune
from baselines.mtg.ii2s import II2SSettings, PCAPrior, embed, estimate_pca, load_pca
from baselines.mtg.losses import Embedder, MTGCLIPEmbedder
from baselines.stylegan2.checkpoint import load_generator
from baselines.stylegan2.model import Generator
from benchmark import assets, imageio
from benchmark.errors import ConfigError
from benchmark.methods.base import StylizationMethod
from benchmark.seeding import generator as seeded_generator

MODEL_FILE = "mtg_style.pt"
INFO_FILE = "mtg_finetune.json"
RELEASED_MIX_INDEX = 7
EMBEDDERS = ("clip", "vgg16-imagenet")
#: open_clip architecture -> weight asset; ViT-T-8-smoke64 is the smoke world's tiny CLIP (same loading code)
CLIP_ASSETS = {"ViT-B-32": "clip-vit-b32-openai", "ViT-B-16": "clip-vit-b16-openai",
               "ViT-T-8-smoke64": "clip-tiny-smoke"}


@dataclass
class MTGConfig:
    """Parameters; defaults are the released recipe (``MTGOptions``, ``style_embed_options``, ``inference.py``)."""

    generator: str = "stylegan2-ffhq-config-f"  # MTG's ffhq.pt: rosinality config-F with g_ema + latent_avg
    generator_path: str | None = None
    image_size: int = 1024
    # --- inversion of the inputs (JoJoGAN's factory): e4e | projector | hfgi (when registered)
    inverter: str = "e4e"  # released inference.py offers II2S (per-image optimisation) or e4e
    encoder: str = "e4e-ffhq-encode"
    encoder_path: str | None = None
    hfgi: str = "hfgi-ffhq"  # inverter: hfgi (field names shared with JoJoGAN's InverterOptions)
    hfgi_path: str | None = None
    hfgi_mode: str = "full"  # full: HFGI's distortion branch on the fine-tuned G | wplus: W+ code only
    hfgi_base: str = "encoder"  # where HFGI's W+ code comes from: encoder (its e4e) | projector (smoke)
    hfgi_input_resize: str = "pil-bilinear"
    projector_steps: int = 200
    projector_lr: float = 0.05
    projector_lpips: str = "vgg"
    projector_l2: float = 1.0
    # --- inference
    with_color: bool = True  # released inference.py: w[:, 7:] = style_latent[:, 7:]
    mix_index: int | None = None  # None = 7, scaled to the generator's code count
    inference_noise: str = "random"  # random (released; here seeded per image) | const
    # --- released per-style models: reference stem or SHA-256 of its bytes -> asset name
    pretrained_styles: dict[str, str] = field(default_factory=dict)
    pretrained_paths: dict[str, str] = field(default_factory=dict)  # asset name -> explicit file
    # --- II2S embedding of the reference
    ii2s_steps: int = 1000
    ii2s_lr: float = 0.01
    ii2s_l2: float = 1.0
    ii2s_lpips: float = 1.0
    ii2s_p_norm: float = 1e-2
    ii2s_noise: str = "random"
    ii2s_final_update: bool = False  # released: returns the code before the last Adam update
    pca: str | None = "mtg-ffhq-pca"  # asset with X_mean/X_comp/X_stdev; None = estimate from the generator
    pca_path: str | None = None
    pca_samples: int = 1_000_000  # only when pca is None (upstream's build_PCA_model)
    downsample_factor: int = 4  # the bicubic ↓ of II2S (size // 256) and of the l2/LPIPS terms
    # --- fine-tuning
    iterations: int = 600
    batch: int = 4
    lr: float = 0.002
    g_reg_every: int = 4  # lr and betas scaled by 4/5 as released
    phase: str = "default"  # released phase=None: const input, conv1, all convs
    train_noise: str = "random"
    embedder: str = "clip"  # clip (released) | vgg16-imagenet (offline smoke stand-in, not CLIP)
    clip_models: list[str] = field(default_factory=lambda: ["ViT-B-32", "ViT-B-16"])
    clip_model_weights: list[float] = field(default_factory=lambda: [1.0, 1.0])
    clip_paths: dict[str, str] = field(default_factory=dict)  # arch -> explicit weight file
    clip_half_on_cuda: bool = True  # clip.load gives fp16 weights on CUDA (here: fp16 autocast; fp32 on CPU)
    clip_across_lambda: float = 1.0
    clip_within_lambda: float = 0.5
    ref_clip_lambda: float = 30.0
    l2_lambda: float = 10.0
    lpips_lambda: float = 10.0

    def __post_init__(self) -> None:
        if self.inverter not in INVERTERS:
            raise ValueError(f"inverter must be one of {sorted(INVERTERS)}, got {self.inverter!r}")
        if self.embedder not in EMBEDDERS:
            raise ValueError(f"embedder must be one of {EMBEDDERS}, got {self.embedder!r}")
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        for name in ("inference_noise", "ii2s_noise", "train_noise"):
            if getattr(self, name) not in ("random", "const"):
                raise ValueError(f"{name} must be 'random' or 'const', got {getattr(self, name)!r}")
        if len(self.clip_models) != len(self.clip_model_weights):
            raise ValueError("clip_models and clip_model_weights must have the same length")
        unknown = [m for m in self.clip_models if m not in CLIP_ASSETS]
        if unknown:
            raise ValueError(f"clip_models {unknown} unknown; choose from {sorted(CLIP_ASSETS)}")
        for name in ("iterations", "ii2s_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.batch < 1 or self.downsample_factor < 1 or self.pca_samples < 2:
            raise ValueError("batch and downsample_factor must be >= 1, pca_samples >= 2")
        if self.hfgi_mode not in ("full", "wplus"):
            raise ValueError(f"hfgi_mode must be 'full' or 'wplus', got {self.hfgi_mode!r}")
        if self.hfgi_base not in HFGI_BASES:
            raise ValueError(f"hfgi_base must be one of {list(HFGI_BASES)}, got {self.hfgi_base!r}")
        if self.projector_lpips not in ("vgg", "alex", "none"):
            raise ValueError(f"projector_lpips must be 'vgg', 'alex' or 'none', got {self.projector_lpips!r}")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class MTG(StylizationMethod):
    """One-shot domain adaptation: II2S style code + CLIP-guided fine-tuning of a StyleGAN2 copy."""

    name = "mtg"
    Config = MTGConfig
    device_requirement = "any"
    needs_aligned_faces = True
    description = "Mind the Gap: StyleGAN2 fine-tuned with CLIP cross/within-domain losses (II2S style code)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._g: Generator | None = None
        self._style: torch.Tensor | None = None
        self._inverter: Inverter | None = None

    # ----- weights
    def _generator_file(self) -> Path:
        return assets.resolve(self.config.generator, self.config.generator_path)

    def _base_generator(self) -> tuple[Generator, torch.Tensor | None]:
        g, latent_avg = load_generator(self._generator_file(), key="g_ema")
        if g.size != self.config.image_size:
            raise ConfigError(f"mtg: generator outputs {g.size}px but image_size={self.config.image_size}")
        return g.to(self.device), latent_avg

    def _pca(self, g: Generator) -> PCAPrior:
        cfg = self.config
        if cfg.pca is None and cfg.pca_path is None:
            return estimate_pca(g, cfg.pca_samples, seeded_generator(self.seed, "mtg-pca"))
        return load_pca(assets.resolve(cfg.pca or "mtg-ffhq-pca", cfg.pca_path), g.style_dim)

    def _embedders(self) -> list[tuple[Embedder, float]]:
        cfg = self.config
        if cfg.embedder == "vgg16-imagenet":
            from osasis.method.embedders import get_embedder

            return [(get_embedder("vgg16-imagenet", device=self.device), 1.0)]
        from benchmark.features.clip import build_clip

        half = cfg.clip_half_on_cuda and self.device.type == "cuda"
        out: list[tuple[Embedder, float]] = []
        for arch, weight in zip(cfg.clip_models, cfg.clip_model_weights, strict=True):
            file = assets.resolve(CLIP_ASSETS[arch], cfg.clip_paths.get(arch))
            model = build_clip(arch, False, file, self.seed)
            out.append((MTGCLIPEmbedder(model, half=half).to(self.device).eval(), float(weight)))
        return out

    def _make_inverter(self, g: Generator, latent_avg: torch.Tensor | None) -> Inverter:
        """The configured inverter of the *pretrained* generator, from JoJoGAN's inverter factory."""
        options = InverterOptions.from_config(self.config)
        return build_inverter(self.config.inverter, g, latent_avg, options, device=self.device, seed=self.seed)

    def _pretrained_asset(self, reference: Path) -> str | None:
        styles = self.config.pretrained_styles
        if not styles:
            return None
        if reference.stem in styles:
            return styles[reference.stem]
        return styles.get(file_sha256(reference))

    def _reference_targets(self, reference: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``I`` at the generator size and ``I_low`` (PIL LANCZOS of the 8-bit image) in [-1, 1]."""
        img = imageio.load_pil(reference)
        if img.size != (size, size):
            img = imageio.tensor_to_pil(imageio.pil_to_tensor(imageio.resize_pil(img, size)))
        low_size = size // self.config.downsample_factor
        if low_size < 1:
            raise ConfigError(f"mtg: downsample_factor {self.config.downsample_factor} too large for {size}px")
        low = img.resize((low_size, low_size), Image.LANCZOS)
        return (imageio.pil_to_tensor(img)[None] * 2 - 1, imageio.pil_to_tensor(low)[None] * 2 - 1)

    # ----- interface
    def prepare(self, reference: Path, workdir: Path) -> None:
        """Fine-tune (or load the released model for) ``reference``; save the released layout in ``workdir``."""
        cfg, reference, workdir = self.config, Path(reference), Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        asset = self._pretrained_asset(reference)
        if asset is not None:
            explicit = cfg.pretrained_paths.get(asset)
            file = Path(explicit) if explicit else assets.resolve(asset)
            model = load_mtg(file)  # validates the official layout before it is used
            if model.generator.size != cfg.image_size:
                raise ConfigError(f"mtg: {asset} outputs {model.generator.size}px but image_size={cfg.image_size}")
            tmp = workdir / (MODEL_FILE + ".tmp")
            shutil.copyfile(file, tmp)
            tmp.replace(workdir / MODEL_FILE)
            info = {"reference": reference.name, "source": f"released model {asset}", "iterations": 0}
            imageio.atomic_write_text(workdir / INFO_FILE, json.dumps(info, indent=2) + "\n")
            return
        from benchmark.metrics.lpips import get_lpips

        g_frozen, latent_avg = self._base_generator()
        if latent_avg is None:
            raise ConfigError(f"mtg: {self._generator_file()} stores no latent_avg (II2S starts from it)")
        g_train, _ = self._base_generator()
        embedders = self._embedders()  # before any optimisation: a missing CLIP file fails fast
        style, style_low = (t.to(self.device) for t in self._reference_targets(reference, g_frozen.size))
        lpips = get_lpips("vgg", self.device)
        ii2s = II2SSettings(steps=cfg.ii2s_steps, lr=cfg.ii2s_lr, l2_weight=cfg.ii2s_l2, lpips_weight=cfg.ii2s_lpips,
                            p_norm_weight=cfg.ii2s_p_norm, downsample_factor=cfg.downsample_factor,
                            noise=cfg.ii2s_noise, final_update=cfg.ii2s_final_update)  # fmt: skip
        ii2s_rng = seeded_generator(self.seed, "mtg-ii2s", reference.stem)
        w_style, ii2s_losses = embed(g_frozen, style, style_low, latent_avg.to(self.device), lpips,
                                     self._pca(g_frozen), ii2s, ii2s_rng)  # fmt: skip
        weights = LossWeights(clip_across=cfg.clip_across_lambda, clip_within=cfg.clip_within_lambda,
                              ref_clip=cfg.ref_clip_lambda, l2=cfg.l2_lambda, lpips=cfg.lpips_lambda)  # fmt: skip
        loss_fn = MTGLoss(embedders, lpips, style, style_low, weights, cfg.downsample_factor)
        settings = FinetuneSettings(iterations=cfg.iterations, batch=cfg.batch, lr=cfg.lr,
                                    g_reg_every=cfg.g_reg_every, phase=cfg.phase, noise=cfg.train_noise)  # fmt: skip
        opt, losses = finetune(g_frozen, g_train, w_style, loss_fn, settings,
                               seeded_generator(self.seed, "mtg-finetune", reference.stem))  # fmt: skip
        save_mtg(workdir / MODEL_FILE, g_train, opt, latent_avg, w_style)
        info = {
            "reference": reference.name,
            "source": "fine-tuned",
            "embedder": cfg.embedder if cfg.embedder == "clip" else f"{cfg.embedder} (stand-in for CLIP)",
            "clip_models": list(cfg.clip_models) if cfg.embedder == "clip" else [],
            "ii2s_loss_first_last": [ii2s_losses[0], ii2s_losses[-1]] if ii2s_losses else [],
            "losses_first_last": [losses[0], losses[-1]] if losses else [],
            "iterations": len(losses),
        }
        imageio.atomic_write_text(workdir / INFO_FILE, json.dumps(info, indent=2) + "\n")

    def load(self, reference: Path, workdir: Path) -> None:
        """Load the fine-tuned generator and style code; build the inverter on the pretrained generator."""
        model = load_mtg(Path(workdir) / MODEL_FILE)
        self._g = model.generator.to(self.device).eval().requires_grad_(False)
        self._style = model.style_latent.to(self.device)
        base, latent_avg = self._base_generator()
        if (base.n_latent, base.style_dim) != (self._g.n_latent, self._g.style_dim):
            raise ConfigError("mtg: the style model and the pretrained generator have different W+ shapes")
        self._inverter = self._make_inverter(base, latent_avg)

    def mix_index(self) -> int:
        assert self._g is not None
        if self.config.mix_index is not None:
            return self.config.mix_index
        return scale_indices([RELEASED_MIX_INDEX], self._g.n_latent)[0]

    def style_codes(self, w: torch.Tensor) -> torch.Tensor:
        """The released ``with colour`` replacement: codes from the mix index on come from the style code."""
        assert self._style is not None
        if not self.config.with_color:
            return w
        out = w.clone()
        k = self.mix_index()
        out[:, k:] = self._style[:, k:].to(out)
        return out

    def _noise(self, names: Sequence[str]) -> str | list[torch.Tensor]:
        """Inference noise: the stored buffers, or maps drawn per image from (seed, image name)."""
        assert self._g is not None
        if self.config.inference_noise == "const":
            return "const"
        per_image = [self._g.random_noises(1, seeded_generator(self.seed, "mtg-noise", n)) for n in names]
        return [torch.cat(layer) for layer in zip(*per_image, strict=True)]

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self._g is None or self._inverter is None:
            raise RuntimeError("call load() before stylize()")
        # with HFGI in mode full, synthesize also applies the distortion branch to the fine-tuned generator
        out = synthesize(self._inverter, self._g, images, names, edit=self.style_codes, noise=self._noise(names))
        out = (out * 0.5 + 0.5).clamp(0, 1).float().cpu()
        return imageio.resize(out, self.resolution).to(images.device)

    def cost_notes(self) -> dict[str, object]:
        """Inversion-cache use of the stylize run (hits cost ~0 s; see ``baselines.inversion_cache``)."""
        return cache_notes(self._inverter)
