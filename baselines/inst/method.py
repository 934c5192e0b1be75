"""InST (Zhang et al., CVPR 2023) as a benchmark method.

``prepare``: embed the reference with the image tower (through the official uint8 cast), train the embedding
manager's attention module by textual inversion on the frozen latent diffusion model (:mod:`baselines.inst.train`),
save ``embeddings.pt``-equivalent tensors (``inst_embedding.pt``: attention state dict + placeholder token) under
``workdir``. With ``pretrained_style`` the official per-style ``embeddings.pt`` is converted instead.
``stylize``: per image, VAE posterior sample of the content at ``image_size``, stochastic inversion from t = 700
with the predicted ε and guided DDIM decoding over the first 35 of 50 steps (:mod:`baselines.inst.diffusion`),
seeded by the image name; the decoded image is resized once to the benchmark resolution.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from baselines.inst import configs as C
from baselines.inst.diffusion import InferenceSettings, LatentDiffusion, adain, stylize_latent
from baselines.inst.embedding import PLACEHOLDER, Attentions, ImageTower, PromptEncoder
from baselines.inst.tokenizer import token_id
from baselines.inst.train import STATE_FILE, TrainSettings, image_embedding, train_embedding
from benchmark import assets, imageio
from benchmark.checkpoints import load_state_strict, load_tensors, require_keys
from benchmark.errors import ConfigError
from benchmark.methods.base import StylizationMethod
from benchmark.seeding import derive_seed
from benchmark.seeding import generator as seeded_generator

log = logging.getLogger(__name__)
EMBEDDING_FILE = "inst_embedding.pt"
INFO_FILE = "inst_train.json"
TOWERS = ("clip-vit-l14", "vgg16-imagenet")
#: Fields that do not change the trained embedding (left out of the resume key).
INFERENCE_ONLY = ("pretrained_style", "pretrained_style_path", "inference_dropout", "ddim_steps", "strength",
                  "guidance", "prompt", "adain", "inversion", "autocast_fp16", "checkpoint_every", "state_dir",
                  "keep_train_state")  # fmt: skip


@dataclass
class InSTConfig:
    """Official recipe by default (``v1-finetune.yaml`` training, the 2224ee19 ``InST.ipynb`` inference)."""

    architecture: str = "sd-v1-4"  # "sd-v1-4" (ldm checkpoint) or "smoke-ldm64" (the committed tiny model)
    model: str = "sd-v1-4"  # asset name of the checkpoint
    model_path: str | None = None
    image_tower: str = "clip-vit-l14"  # or "vgg16-imagenet" (labelled offline substitute, smoke)
    clip_asset: str = "clip-vit-large-patch14"
    clip_path: str | None = None
    image_size: int = 512  # training crop and inference size (the notebook's LANCZOS 512 resize)
    steps: int = 6100  # trainer.max_steps (honoured since commit 35bf1615)
    lr: float = 1e-4
    train_seed: int | None = 23  # seed_everything(23); None = derived from the suite seed and the reference name
    flip_p: float = 0.5
    caption: str = PLACEHOLDER
    fix_uint8_cast: bool = False  # quirk: the style image reaches CLIP cast to uint8 while in [-1, 1]
    checkpoint_every: int = 500
    state_dir: str | None = None  # training state (resume); None = <cache>/inst/train/<run key>
    keep_train_state: bool = False  # keep the state file after a finished training
    pretrained_style: str | None = None  # asset name of an official embeddings.pt
    pretrained_style_path: str | None = None
    inference_dropout: bool = False  # True: dropout as the pickled module's training flag leaves it (notebook)
    ddim_steps: int = 50
    strength: float = 0.7
    guidance: float = 10.0
    prompt: str = PLACEHOLDER
    adain: bool = False  # the post-paper notebook's AdaIN of the content latent to the style latent
    inversion: str = "predicted"  # "predicted" (ε̂ at t=700, notebook) or "noise" (fresh noise, stock img2img)
    autocast_fp16: bool = True  # the notebook's fp16 autocast (CUDA only; CPU runs in fp32)

    def __post_init__(self) -> None:
        if self.architecture not in C.ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(C.ARCHITECTURES)}, got {self.architecture!r}")
        if self.image_tower not in TOWERS:
            raise ValueError(f"image_tower must be one of {TOWERS}, got {self.image_tower!r}")
        if self.inversion not in ("predicted", "noise"):
            raise ValueError(f"inversion must be 'predicted' or 'noise', got {self.inversion!r}")
        if not 0.0 < self.strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {self.strength}")
        if self.steps < 0 or self.ddim_steps < 1 or self.checkpoint_every < 1:
            raise ValueError("steps must be >= 0, ddim_steps and checkpoint_every >= 1")
        if self.image_size % C.ARCHITECTURES[self.architecture].downsample:
            raise ValueError(f"image_size must be a multiple of the VAE's downsampling, got {self.image_size}")


def _file(asset: str, path: str | None) -> Path:
    """An explicit path (used as given: it may be a different version than the pinned asset) or the asset's file."""
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"inst: file not found: {path}")
        return Path(path)
    return assets.resolve(asset)


_MODELS: dict[tuple, LatentDiffusion] = {}
_TOWERS: dict[tuple, ImageTower] = {}


class InST(StylizationMethod):
    """Inversion-based style transfer: a per-style token embedding from CLIP image features, SD img2img."""

    name = "inst"
    Config = InSTConfig
    device_requirement = "any"
    needs_aligned_faces = False
    description = "InST: textual inversion of the style image through an attention module; SD v1.4 stochastic img2img"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._attention: Attentions | None = None
        self._token: int | None = None
        self._style: torch.Tensor | None = None
        self._embed: torch.Tensor | None = None
        self._cached: tuple[torch.Tensor, torch.Tensor] | None = None
        self._style_posterior: tuple[torch.Tensor, torch.Tensor] | None = None

    # ----- networks
    def ldm(self) -> LatentDiffusion:
        cfg = self.config
        path = _file(cfg.model, cfg.model_path)
        key = (str(path), path.stat().st_mtime_ns, cfg.architecture, str(self.device))
        if key not in _MODELS:
            from baselines.inst.weights import load_sd14, load_smoke_ldm

            model = load_sd14(path) if cfg.architecture == "sd-v1-4" else load_smoke_ldm(path)
            if model.arch.name != cfg.architecture:
                raise ConfigError(f"inst: {path} holds a {model.arch.name} model, architecture={cfg.architecture}")
            _MODELS.clear()
            _MODELS[key] = model.to(self.device)
        return _MODELS[key]

    def tower(self) -> ImageTower:
        cfg = self.config
        key = (cfg.image_tower, cfg.clip_asset, cfg.clip_path, str(self.device))
        if key not in _TOWERS:
            from baselines.inst.embedding import CLIPImageTower, VGGSubstituteTower

            if cfg.image_tower == "clip-vit-l14":
                from baselines.inst.weights import load_clip_vision

                tower: ImageTower = CLIPImageTower(load_clip_vision(_file(cfg.clip_asset, cfg.clip_path)))
            else:
                from osasis.method.embedders import get_embedder

                tower = VGGSubstituteTower(get_embedder("vgg16-imagenet", device=self.device))
            _TOWERS[key] = tower.to(self.device).eval()
        return _TOWERS[key]

    # ----- helpers
    def _to_model(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] images at any size -> [-1, 1] at ``image_size`` (the suite's resizer)."""
        return imageio.resize(images.float().cpu(), self.config.image_size) * 2 - 1

    def _train_seed(self, reference: Path) -> int:
        cfg = self.config
        return cfg.train_seed if cfg.train_seed is not None else derive_seed(self.seed, "inst-train", reference.stem)

    def run_key(self, reference: Path) -> str:
        cfg = {k: v for k, v in asdict(self.config).items() if k not in INFERENCE_ONLY}
        blob = json.dumps(
            {
                "config": cfg,
                "seed": self._train_seed(reference),
                "reference": hashlib.sha256(Path(reference).read_bytes()).hexdigest(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    # ----- interface
    def prepare(self, reference: Path, workdir: Path) -> None:
        cfg = self.config
        reference, workdir = Path(reference), Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        if cfg.pretrained_style or cfg.pretrained_style_path:
            self._save_pretrained(workdir)
            return
        ldm = self.ldm()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._train_seed(reference))  # ldm builds the embedding manager after seed_everything
            attention = Attentions()
        image = self._to_model(imageio.load_image(reference)[None])
        settings = TrainSettings(steps=cfg.steps, lr=cfg.lr, seed=self._train_seed(reference), caption=cfg.caption,
                                 flip_p=cfg.flip_p, fix_uint8_cast=cfg.fix_uint8_cast,
                                 checkpoint_every=cfg.checkpoint_every)  # fmt: skip
        key = self.run_key(reference)
        state_dir = Path(cfg.state_dir) / key if cfg.state_dir else assets.cache_dir() / "inst" / "train" / key
        losses = train_embedding(ldm, self.tower(), attention, token_id(PLACEHOLDER), image, settings,
                                 state_dir=state_dir, run_key=key)  # fmt: skip
        self._save(workdir, attention.state_dict(), token_id(PLACEHOLDER), pickled_training=None)
        if not cfg.keep_train_state:
            (state_dir / STATE_FILE).unlink(missing_ok=True)  # written by train_embedding above
        info = {"reference": reference.name, "steps": len(losses), "image_tower": self.tower().label,
                "loss_first_last": [losses[0], losses[-1]] if losses else [],
                "loss_mean_last_100": sum(losses[-100:]) / max(1, len(losses[-100:]))}  # fmt: skip
        imageio.atomic_write_text(workdir / INFO_FILE, json.dumps(info, indent=2) + "\n")

    def _save(self, workdir: Path, state: dict, token: int, pickled_training: bool | None) -> None:
        from osasis.method.checkpoint import atomic_save

        atomic_save({"attention": {k: v.detach().cpu() for k, v in state.items()}, "placeholder_token": token,
                     "pickled_training": pickled_training}, workdir / EMBEDDING_FILE)  # fmt: skip

    def _save_pretrained(self, workdir: Path) -> None:
        from baselines.inst.weights import load_official_embedding

        cfg = self.config
        path = _file(cfg.pretrained_style or "", cfg.pretrained_style_path)
        state, tokens, training = load_official_embedding(path)
        if PLACEHOLDER not in tokens:
            raise ConfigError(f"inst: {path} has no '{PLACEHOLDER}' placeholder (found {sorted(tokens)})")
        if training:
            log.warning("inst: %s was pickled in training mode: the official notebook keeps its dropout active at "
                        "inference; inference_dropout=%s", path, cfg.inference_dropout)  # fmt: skip
        self._save(workdir, state, tokens[PLACEHOLDER], pickled_training=training)

    def load(self, reference: Path, workdir: Path) -> None:
        cfg = self.config
        path = Path(workdir) / EMBEDDING_FILE
        what = "InST trained embedding"
        raw = require_keys(load_tensors(path, what), ["attention", "placeholder_token"], path, what)
        attention = Attentions()
        load_state_strict(attention, raw["attention"], path, what)
        self._attention = attention.to(self.device).train(cfg.inference_dropout).requires_grad_(False)
        self._token = int(raw["placeholder_token"])
        self._style = self._to_model(imageio.load_image(reference)[None])
        self._embed = image_embedding(self.tower(), self._style, cfg.fix_uint8_cast).to(self.device)
        self._cached = None
        self._style_posterior = None
        if not cfg.inference_dropout:
            self._cached = self._conditioning(None)

    @torch.no_grad()
    def _conditioning(self, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(cond, uncond): the prompt with the placeholder replaced, and "" (no placeholder, as the notebook)."""
        assert self._attention is not None and self._token is not None and self._embed is not None
        if generator is None and self._cached is not None:
            return self._cached
        ldm = self.ldm()
        embed = self._embed
        if generator is not None and self.config.inference_dropout:  # masks from the image's generator
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
                vector = self._attention.placeholder_embedding(embed)
        else:
            vector = self._attention.placeholder_embedding(embed)
        encoder = PromptEncoder(ldm.text_encoder, self._token)
        return encoder([self.config.prompt], vector), encoder([""], None)

    @torch.no_grad()
    def _stylize_one(self, image: torch.Tensor, name: str) -> torch.Tensor:
        cfg = self.config
        ldm = self.ldm()
        gen = seeded_generator(self.seed, "inst", name)
        cond, uncond = self._conditioning(gen if cfg.inference_dropout else None)
        use_autocast = cfg.autocast_fp16 and self.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.float16, enabled=use_autocast):
            if self._style_posterior is None:  # the style's posterior is the same for every image: encode it once
                self._style_posterior = ldm.posterior(self._style)
            style_z = ldm.sample_posterior(self._style_posterior, generator=gen)  # the notebook samples both
            z = ldm.encode(image[None], generator=gen)
            if cfg.adain:
                z = adain(z, style_z)
            noise = torch.randn(z.shape, generator=gen).to(self.device)
            settings = InferenceSettings(steps=cfg.ddim_steps, strength=cfg.strength, guidance=cfg.guidance)
            if cfg.inversion == "noise":
                settings.inversion_t = None
                out = _img2img_noise(ldm, z, cond, uncond, noise, settings)
            else:
                out = stylize_latent(ldm, z, cond, uncond, noise, settings)
            x = ldm.decode(out.float())
        return ((x.float().cpu()[0] + 1) / 2).clamp(0, 1)

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self._attention is None:
            raise RuntimeError("call load() before stylize()")
        x = self._to_model(images)
        out = torch.stack([self._stylize_one(x[i], n) for i, n in enumerate(names)])
        return imageio.resize(out, self.resolution).to(images.device)


def _img2img_noise(ldm: LatentDiffusion, z: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor,
                   noise: torch.Tensor, settings: InferenceSettings) -> torch.Tensor:  # fmt: skip
    """The stock img2img start (ablation): fresh noise at the first decoding timestep, then the same decoding."""
    from baselines.inst.diffusion import decode_timesteps, guided_ddim_step

    sched, timesteps = decode_timesteps(settings)
    x = ldm.q_sample(z, int(timesteps[0]), noise)
    for t in timesteps:
        x = guided_ddim_step(ldm, sched, x, int(t), cond, uncond, settings.guidance)
    return x
