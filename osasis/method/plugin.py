"""OSASIS (Cho et al., CVPR 2024) as a benchmark method: ``prepare`` fine-tunes ε^B + SPN per reference,
``load``/``stylize`` run the official mixed inference, ``edit`` adds text-driven editing (our documented recipe).

Workdir after ``prepare``: ``osasis_model.pt`` (official ``iter_N.pt`` layout, no optimizer), ``style_photoreal.png``
(I_A^style), ``losses.csv``, ``samples/iter_*.png`` and ``osasis_finetune.json``; with ``pretrained_style`` only
``osasis_pretrained.json`` (the released file is loaded from the manifest at ``load``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from benchmark import assets, imageio
from benchmark.checkpoints import sha256_of
from benchmark.errors import CheckpointError
from benchmark.methods.base import StylizationMethod
from benchmark.metrics.lpips import get_lpips
from osasis.method import models
from osasis.method.checkpoint import MODEL_FILE, STATE_FILE, STATE_RECORD, load_style_model, save_style_model
from osasis.method.config import OSASISConfig
from osasis.method.edit import EditSettings, edit_codes, render_photo
from osasis.method.embedders import get_embedder
from osasis.method.finetune import LOSS_FILE, SAMPLES_DIR, TrainModels, TrainSettings, finetune
from osasis.method.losses import LossWeights
from osasis.method.style_pair import StylePairSettings, file_hash, photoreal_counterpart
from osasis.method.stylize import InferSettings, mix_spec, style_code, stylize_batch

PHOTOREAL_FILE = "style_photoreal.png"
INFO_FILE = "osasis_finetune.json"
PRETRAINED_FILE = "osasis_pretrained.json"
#: Config fields that do not change the fine-tuned weights (left out of the resume key).
INFERENCE_ONLY = ("pretrained_style", "pretrained_style_path", "infer_grids", "mix", "mix_levels", "save_half",
                  "checkpoint_every", "sample_every", "state_dir", "keep_train_state", "edit_embedder", "edit_steps",
                  "edit_lr", "edit_reg", "edit_decode_steps", "edit_t0", "edit_render")  # fmt: skip



def remove_train_state(state_dir: Path) -> None:
    """Remove what fine-tuning wrote under ``state_dir`` (state, losses, sample grids), then the folder if empty;
    anything else found there (``state_dir`` is a user setting) is left alone."""
    for name in (STATE_FILE, STATE_RECORD, LOSS_FILE):
        (state_dir / name).unlink(missing_ok=True)
    samples = state_dir / SAMPLES_DIR
    if samples.is_dir() and not samples.is_symlink():
        for grid in samples.glob("iter_*.png"):
            grid.unlink()
    for folder in (samples, state_dir):
        with contextlib.suppress(OSError):  # not empty: something of the user's is there
            folder.rmdir()

class OSASIS(StylizationMethod):
    """One-shot structure-aware stylisation: DiffAE ε^B fine-tuned per reference + SPN, content/style code mixing."""

    name = "osasis"
    Config = OSASISConfig
    device_requirement = "any"
    needs_aligned_faces = True
    description = "OSASIS: DiffAE fine-tuned per reference with CLIP direction losses, SPN, semantic-code mixing"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.config: OSASISConfig
        self.iteration_hook: Callable[[int], None] | None = None  # tests: called after every iteration
        self._model_b = None
        self._spn = None
        self._z_style: torch.Tensor | None = None
        self._style_b: torch.Tensor | None = None

    # ------------------------------------------------------------------ helpers
    @property
    def model_size(self) -> int:
        return models.model_resolution(self.config)

    @property
    def precision(self) -> str:
        return models.precision_for(self.config, self.device)

    def _to_model(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] benchmark images -> [-1, 1] at the model resolution (suite resizer)."""
        return imageio.resize(images.float(), self.model_size).to(self.device) * 2 - 1

    def _from_model(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        out = ((x.float() + 1) / 2).clamp(0, 1).cpu()
        return imageio.resize(out, self.resolution).clamp(0, 1).to(like.device)

    def _reference(self, reference: Path) -> torch.Tensor:
        return imageio.load_image(reference, self.model_size)[None].to(self.device) * 2 - 1

    def _embedder(self, name: str | None = None):
        cfg = self.config
        return get_embedder(name or cfg.embedder, device=self.device, preprocess=cfg.clip_preprocess,
                            clip_asset=cfg.clip, clip_path=cfg.clip_path, seed=self.seed)  # fmt: skip

    def train_settings(self) -> TrainSettings:
        cfg = self.config
        return TrainSettings(
            iterations=cfg.iterations, batch_size=cfg.train_batch_size, latent_steps=cfg.latent_steps,
            sample_steps=cfg.sample_steps, t0=cfg.t0, grids=tuple(cfg.train_grids), schedule=cfg.schedule,
            lr_unet=cfg.lr_unet, lr_spn=cfg.lr_spn,
            weights=LossWeights(cfg.w_cross, cfg.w_in, cfg.w_recon_clip, cfg.w_recon_l1, cfg.w_recon_lpips),
            spn_weight=cfg.effective_spn_weight, style_spn_weight=cfg.effective_style_spn_weight,
            use_spn=cfg.use_spn, style_code=cfg.style_branch_code, dropout=cfg.dropout_during_finetune,
            precision=self.precision, checkpoint_every=cfg.checkpoint_every, sample_every=cfg.sample_every,
            seed=self.seed, spn_config=models.named_config(cfg.spn_config), recipe=cfg.recipe,
            gen_batch=cfg.gen_batch, attention=cfg.effective_attention, compile=cfg.compile,
            grad_checkpoint=cfg.grad_checkpoint,
        )  # fmt: skip

    def infer_settings(self) -> InferSettings:
        cfg = self.config
        return InferSettings(t0=cfg.t0, grids=tuple(cfg.infer_grids), schedule=cfg.schedule,
                             spn_weight=cfg.effective_spn_weight,
                             mix=mix_spec(models.named_config(cfg.diffae_config), cfg.mix, cfg.mix_levels),
                             precision=self.precision)  # fmt: skip

    def photoreal(self, reference: Path) -> tuple[torch.Tensor, Path]:
        """I_A^style at the model resolution ([-1, 1]) and its cache file (computed once per reference/model)."""
        cfg = self.config
        p2_cfg = models.named_config(cfg.p2_config)
        settings = StylePairSettings(cfg.style_pair_respacing, cfg.style_pair_t_start_ratio, cfg.style_pair_n,
                                     self.seed, p2_cfg.image_size)  # fmt: skip
        score = get_lpips("vgg", self.device) if cfg.style_pair_n > 1 else None
        image, path = photoreal_counterpart(
            Path(reference), models.resolve(cfg.p2, cfg.p2_path), cfg.p2_config, settings,
            lambda: models.p2_model(cfg, self.device), device=self.device,
            cache_dir=Path(cfg.style_pair_cache) if cfg.style_pair_cache else None, score=score,
        )  # fmt: skip
        if p2_cfg.image_size != self.model_size:
            image = imageio.resize((image + 1) / 2, self.model_size) * 2 - 1
        return image, path

    def run_key(self, reference: Path, photoreal_file: Path) -> str:
        """Identifies a training run: inputs' contents, model files, training parameters, seed, device type."""
        cfg = self.config
        params = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in INFERENCE_ONLY}
        files = {"reference": file_hash(reference), "photoreal": file_hash(photoreal_file),
                 "diffae": file_hash(models.resolve(cfg.diffae, cfg.diffae_path)),
                 "latent": file_hash(models.resolve(cfg.latent, cfg.latent_path)),
                 "stats": file_hash(models.resolve(cfg.latent_stats, cfg.latent_stats_path))}  # fmt: skip
        payload = json.dumps({"params": params, "files": files, "seed": self.seed, "device": self.device.type},
                             sort_keys=True, default=str)  # fmt: skip
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def state_dir(self, run_key: str) -> Path:
        if self.config.state_dir:
            return Path(self.config.state_dir) / run_key
        return assets.cache_dir() / "osasis" / "train" / run_key

    # ---------------------------------------------------------------- interface
    def prepare(self, reference: Path, workdir: Path) -> None:
        """Fine-tune ε^B + SPN for ``reference`` (or record the released model with ``pretrained_style``)."""
        cfg, workdir = self.config, Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        if cfg.pretrained_style or cfg.pretrained_style_path:
            path = assets.resolve(cfg.pretrained_style or "osasis_img1_iter200", cfg.pretrained_style_path)
            record = {"pretrained_style": cfg.pretrained_style, "path": str(path), "sha256": file_hash(path)}
            imageio.atomic_write_text(workdir / PRETRAINED_FILE, json.dumps(record, indent=2) + "\n")
            return
        style_a, photo_file = self.photoreal(reference)
        shutil.copyfile(photo_file, workdir / PHOTOREAL_FILE)
        key = self.run_key(Path(reference), photo_file)
        state_dir = self.state_dir(key)
        train = TrainModels(
            model_a=models.model_a(cfg, self.device), latent_net=models.latent_net(cfg, self.device),
            stats=models.latent_stats(cfg), embed=self._embedder(), lpips=get_lpips("vgg", self.device),
            style_a=style_a, style_b=self._reference(Path(reference)),
        )  # fmt: skip
        result = finetune(train, self.train_settings(), state_dir, device=self.device, run_key=key,
                          on_iteration=self.iteration_hook)  # fmt: skip
        model_file = save_style_model(workdir / MODEL_FILE, result.model_b, result.spn, iteration=cfg.iterations,
                                      latent_net=train.latent_net, half=cfg.save_half)  # fmt: skip
        shutil.copyfile(state_dir / LOSS_FILE, workdir / LOSS_FILE)
        if (state_dir / SAMPLES_DIR).is_dir():
            shutil.copytree(state_dir / SAMPLES_DIR, workdir / SAMPLES_DIR, dirs_exist_ok=True)
        info = {"reference": Path(reference).name, "run_key": key, "iterations": cfg.iterations,
                "optimizer_steps": result.optimizer_steps, "resumed_from_iteration": result.resumed_from,
                "model_file": MODEL_FILE, "model_sha256": sha256_of(model_file),
                "photoreal_cache": photo_file.name, "embedder": cfg.embedder, "precision": self.precision,
                "loss_first": result.history[0] if result.history else None,
                "loss_last": result.history[-1] if result.history else None}  # fmt: skip
        imageio.atomic_write_text(workdir / INFO_FILE, json.dumps(info, indent=2) + "\n")
        if not cfg.keep_train_state:
            remove_train_state(state_dir)

    def load(self, reference: Path, workdir: Path) -> None:
        """Load ε^B + SPN and compute z_style = Enc_A(I_B^style)."""
        cfg, workdir = self.config, Path(workdir)
        path, sha256 = self._recorded_model(workdir)
        self._model_b, spn = load_style_model(path, models.named_config(cfg.diffae_config),
                                              models.named_config(cfg.spn_config), self.device, sha256=sha256,
                                              require_spn=cfg.use_spn)  # fmt: skip
        self._spn = spn if cfg.use_spn else None
        model_a = models.model_a(cfg, self.device)
        self._style_b = self._reference(Path(reference))
        self._z_style = style_code(model_a, self._style_b)

    @staticmethod
    def _recorded_model(workdir: Path) -> tuple[Path, str | None]:
        """The model file ``prepare`` wrote (or recorded) and the SHA-256 recorded for it then."""
        for name, key in ((PRETRAINED_FILE, "path"), (INFO_FILE, "model_file")):
            record_file = workdir / name
            if not record_file.is_file():
                continue
            try:
                record = json.loads(record_file.read_text())
                path = Path(record[key]) if name == PRETRAINED_FILE else workdir / Path(record[key]).name
                return path, record.get("sha256" if name == PRETRAINED_FILE else "model_sha256")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CheckpointError(f"osasis: {record_file} is unreadable ({exc}); run finetune again") from None
        raise CheckpointError(f"osasis: {workdir} holds no {INFO_FILE} or {PRETRAINED_FILE}; run finetune for this "
                              "reference first (osasis-bench finetune --method osasis ...)")  # fmt: skip

    def _require_loaded(self) -> None:
        if self._model_b is None or self._z_style is None:
            raise RuntimeError("call load() before stylize()/edit()")

    def stylize(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        self._require_loaded()
        x = self._to_model(images)
        out = stylize_batch(models.model_a(self.config, self.device), self._model_b, self._spn, x, self._z_style,
                            self.infer_settings())  # fmt: skip
        return self._from_model(out, images)

    def edit(self, images: torch.Tensor, names: Sequence[str], source: str, target: str) -> torch.Tensor:
        """Text-driven edit + stylization of ``images`` ([0, 1]); needs a CLIP embedder with a text tower."""
        cfg = self.config
        name = cfg.edit_embedder or (cfg.embedder if cfg.embedder.startswith("clip") else "clip-vit-b32")
        embedder = self._embedder(name)  # fails fast (AssetError) without CLIP weights
        self._require_loaded()
        model_a = models.model_a(cfg, self.device)
        x = self._to_model(images)
        settings = EditSettings(cfg.edit_steps, cfg.edit_lr, cfg.edit_reg, cfg.edit_decode_steps,
                                cfg.edit_t0 or cfg.t0, int(cfg.infer_grids[0]), self.precision, cfg.edit_render,
                                int(cfg.infer_grids[1]), cfg.schedule)  # fmt: skip
        with torch.enable_grad():
            z_edit, self.last_edit_losses = edit_codes(model_a, embedder, x, source, target, settings)
        self.last_edit_codes = z_edit
        self.last_edit_photos = None
        if settings.render == "photo":
            x = render_photo(model_a, x, z_edit, settings)
            self.last_edit_photos = self._from_model(x, images)
        out = stylize_batch(model_a, self._model_b, self._spn, x, self._z_style, self.infer_settings(), z_input=z_edit)
        return self._from_model(out, images)
