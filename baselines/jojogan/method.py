"""JoJoGAN (Chong & Forsyth, ECCV 2022) as a benchmark method.

``prepare``: invert the (pre-aligned) reference, fine-tune a copy of the pretrained generator with the
discriminator-feature loss (:mod:`baselines.jojogan.finetune`), save it in the official layout
(``{"g": ..., "latent_avg": ...}``) plus the reference code under ``workdir``.
``stylize``: invert each input, one pass of the fine-tuned generator with its constant noise buffers
(the released notebook re-draws noise at inference; constant noise keeps outputs deterministic and
independent of batching), map [-1, 1] to [0, 1] and resize with the suite's resizer.  With
``inverter: hfgi`` and ``hfgi_mode: full`` (JoJoGAN+HFGI, the paper profile) the pass includes HFGI's
distortion branch: residual against the pretrained generator's reconstruction, condition injected into
the fine-tuned generator (see ``baselines/README.md``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from baselines.inversion_cache import cache_notes
from baselines.jojogan.finetune import RELEASED_D_BLOCKS, FinetuneSettings, finetune, swap_indices
from baselines.jojogan.inverters import HFGI_BASES, INVERTERS, Inverter, InverterOptions, build_inverter, synthesize
from baselines.stylegan2.checkpoint import load_discriminator, load_generator, save_official
from baselines.stylegan2.model import Generator
from benchmark import assets, imageio
from benchmark.checkpoints import sha256_of, verify_recorded
from benchmark.errors import CheckpointError, ConfigError
from benchmark.methods.base import StylizationMethod
from benchmark.seeding import generator as seeded_generator

GENERATOR_FILE = "jojogan_generator.pt"
CODE_FILE = "reference_wplus.pt"
INFO_FILE = "jojogan_finetune.json"


@dataclass
class JoJoGANConfig:
    """Parameters (released defaults).  Paths override the asset names when given."""

    generator: str = "stylegan2-ffhq-config-f"  # asset with g / g_ema / d / latent_avg
    generator_path: str | None = None
    generator_key: str = "g_ema"  # the released notebook fine-tunes a copy of g_ema
    image_size: int = 1024  # the generator's output size (checked against the file)
    inverter: str = "e4e"  # "e4e" | "projector" | "hfgi"
    encoder: str = "e4e-ffhq-encode"
    encoder_path: str | None = None
    hfgi: str = "hfgi-ffhq"  # asset with HFGI's ckpt.pt layout (inverter: hfgi)
    hfgi_path: str | None = None
    hfgi_mode: str = "full"  # "full" (distortion branch on the fine-tuned G) | "wplus" (W+ code only)
    hfgi_base: str = "encoder"  # W+ source: "encoder" (the file's e4e) | "projector" (no e4e: smoke)
    hfgi_input_resize: str = "pil-bilinear"  # official torchvision Resize on PIL | "suite"
    iterations: int = 300
    lr: float = 2e-3
    beta1: float = 0.0
    beta2: float = 0.99
    alpha: float = 1.0  # 1 = fully random codes at the swap indices (strongest style)
    preserve_color: bool = False
    swap_indices: list[int] | None = None  # None = released rule, scaled to the generator
    d_blocks: list[int] | None = None  # None = released (1, 3, 4, 5), truncated to the D
    train_mapping: bool = False  # released code: the mapping net gets no gradient
    train_noise: str = "random"  # "random" (released) or "const"
    projector_steps: int = 200
    projector_lr: float = 0.05
    projector_lpips: str = "vgg"  # "vgg", "alex" or "none"
    projector_l2: float = 1.0

    def __post_init__(self) -> None:
        if self.inverter not in INVERTERS:
            raise ValueError(f"inverter must be one of {sorted(INVERTERS)}, got {self.inverter!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.iterations < 0:
            raise ValueError("iterations must be >= 0")
        if self.train_noise not in ("random", "const"):
            raise ValueError(f"train_noise must be 'random' or 'const', got {self.train_noise!r}")
        if self.hfgi_mode not in ("full", "wplus"):
            raise ValueError(f"hfgi_mode must be 'full' or 'wplus', got {self.hfgi_mode!r}")
        if self.hfgi_base not in HFGI_BASES:
            raise ValueError(f"hfgi_base must be one of {list(HFGI_BASES)}, got {self.hfgi_base!r}")
        if self.projector_lpips not in ("vgg", "alex", "none"):
            raise ValueError(f"projector_lpips must be 'vgg', 'alex' or 'none', got {self.projector_lpips!r}")


def save_official_code(path: Path, w_ref: torch.Tensor) -> Path:
    """The reference's W+ code (``{"latent": [1, n_latent, D]}``), written atomically."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"latent": w_ref.detach().cpu()}, tmp)
    tmp.replace(path)
    return path


class JoJoGAN(StylizationMethod):
    """One-shot face stylisation by fine-tuning StyleGAN2 on mixed-code renders of one reference."""

    name = "jojogan"
    Config = JoJoGANConfig
    device_requirement = "any"
    needs_aligned_faces = True
    description = "JoJoGAN: StyleGAN2 fine-tuned with D-feature loss on W+ mixed codes (e4e, projector or HFGI)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._g: Generator | None = None
        self._inverter: Inverter | None = None

    # ----- weights
    def _generator_file(self) -> Path:
        cfg = self.config
        return assets.resolve(cfg.generator, cfg.generator_path)

    def _base_generator(self) -> tuple[Generator, torch.Tensor | None]:
        g, latent_avg = load_generator(self._generator_file(), key=self.config.generator_key)
        if g.size != self.config.image_size:
            raise ConfigError(f"jojogan: generator outputs {g.size}px but image_size={self.config.image_size}")
        return g.to(self.device), latent_avg

    def _make_inverter(self, g: Generator, latent_avg: torch.Tensor | None) -> Inverter:
        options = InverterOptions.from_config(self.config)
        return build_inverter(self.config.inverter, g, latent_avg, options, device=self.device, seed=self.seed)

    # ----- interface
    def prepare(self, reference: Path, workdir: Path) -> None:
        """Invert the reference, fine-tune the generator, save it and the reference code under ``workdir``."""
        cfg = self.config
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        g, latent_avg = self._base_generator()
        disc = load_discriminator(self._generator_file()).to(self.device)
        ref = imageio.load_image(reference, g.size)[None]
        inverter = self._make_inverter(g, latent_avg)
        w_ref = inverter(ref, [Path(reference).stem]).to(self.device)
        settings = FinetuneSettings(
            iterations=cfg.iterations, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), alpha=cfg.alpha,
            preserve_color=cfg.preserve_color, swap=cfg.swap_indices,
            blocks=tuple(cfg.d_blocks) if cfg.d_blocks is not None else RELEASED_D_BLOCKS,
            train_mapping=cfg.train_mapping, noise=cfg.train_noise,
        )  # fmt: skip
        rng = seeded_generator(self.seed, "jojogan-finetune", Path(reference).stem)
        losses = finetune(g, disc, w_ref, ref.to(self.device) * 2 - 1, settings, rng)
        generator_file = save_official(workdir / GENERATOR_FILE, g=g, latent_avg=latent_avg)
        code_file = save_official_code(workdir / CODE_FILE, w_ref)
        info = {
            "reference": Path(reference).name,
            "swap_indices": cfg.swap_indices or swap_indices(g.n_latent, cfg.preserve_color),
            "losses_first_last": [losses[0], losses[-1]] if losses else [],
            "iterations": len(losses),
            "sha256": {GENERATOR_FILE: sha256_of(generator_file), CODE_FILE: sha256_of(code_file)},
        }
        imageio.atomic_write_text(workdir / INFO_FILE, json.dumps(info, indent=2) + "\n")

    def load(self, reference: Path, workdir: Path) -> None:
        """Load the fine-tuned generator and build the inverter (it uses the *pretrained* G for projection)."""
        path = Path(workdir) / GENERATOR_FILE
        verify_recorded(path, self._recorded_hash(Path(workdir), GENERATOR_FILE), "JoJoGAN fine-tuned generator")
        g_ft, _ = load_generator(path, key="g")
        self._g = g_ft.to(self.device).eval().requires_grad_(False)
        base, latent_avg = self._base_generator()
        self._inverter = self._make_inverter(base, latent_avg)

    @staticmethod
    def _recorded_hash(workdir: Path, name: str) -> str | None:
        """The SHA-256 ``prepare`` recorded for ``name`` in the workdir's info file."""
        info = workdir / INFO_FILE
        if not info.is_file():
            raise CheckpointError(f"jojogan: {workdir} holds no {INFO_FILE}; run finetune for this reference first")
        try:
            return json.loads(info.read_text())["sha256"][name]
        except (OSError, ValueError, KeyError, TypeError):
            raise CheckpointError(f"jojogan: {info} records no SHA-256 for {name}; run finetune again") from None

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self._g is None or self._inverter is None:
            raise RuntimeError("call load() before stylize()")
        out = (synthesize(self._inverter, self._g, images, names) * 0.5 + 0.5).clamp(0, 1).float().cpu()
        return imageio.resize(out, self.resolution).to(images.device)

    def cost_notes(self) -> dict[str, object]:
        """Inversion-cache use of the stylize run (hits cost ~0 s; see ``baselines.inversion_cache``)."""
        return cache_notes(self._inverter)
