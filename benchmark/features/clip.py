"""CLIP image encoder (open_clip) with the official CLIP preprocessing.

Preprocessing: the suite's resizer (PIL bicubic, float) to the model's image size (224 for ViT-L/14; the
benchmark images are square, so CLIP's centre crop is the identity), then CLIP mean/std. Weights come from a
local file via the manifest (``clip-vit-l-14-openai``); ``random_weights=True`` builds a seeded random model.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from benchmark import assets, imageio
from benchmark.checkpoints import skipped_init
from benchmark.errors import CheckpointError
from benchmark.features.extractor import FeatureExtractor, weights_id

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_ASSETS = {"ViT-L-14": "clip-vit-l-14-openai", "ViT-T-8-smoke64": "clip-tiny-smoke"}
#: open_clip model configs committed in the repository (the smoke world's tiny CLIP), registered on first use
CONFIG_DIR = Path(__file__).with_name("open_clip_configs")


def register_configs() -> None:
    """Make open_clip know the repository's model configs (idempotent)."""
    import open_clip

    missing = [p for p in sorted(CONFIG_DIR.glob("*.json")) if p.stem not in open_clip.list_models()]
    for path in missing:
        open_clip.add_model_config(path)


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def require_pinned_clip(path: Path) -> None:
    """open_clip reads CLIP files with its own loaders (``torch.jit.load`` for OpenAI's TorchScript releases), not
    the suite's restricted loader, so only a file whose SHA-256 is a manifest pin of a CLIP asset is accepted."""
    pins = {a.sha256 for a in assets.manifest().values() if a.name.startswith("clip") and a.sha256}
    if not any(assets.verify_checksum(path, pin) for pin in pins):
        raise CheckpointError(
            f"CLIP: {path} is not one of the manifest's pinned CLIP releases; CLIP files are loaded by open_clip "
            f"(TorchScript), so only pinned files are accepted. Known pins: {sorted(pins)}"
        )


def build_clip(arch: str, random_weights: bool, path: Path | None, seed: int) -> torch.nn.Module:
    import open_clip

    register_configs()
    if random_weights:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return open_clip.create_model(arch, pretrained=None)
    assert path is not None
    require_pinned_clip(Path(path))
    try:
        if _is_torchscript(path):  # an OpenAI release file (TorchScript archive)
            from open_clip.openai import load_openai_model

            with skipped_init():  # open_clip builds the model, then loads the archive's weights strictly
                return load_openai_model(str(path), precision="fp32", device="cpu")
        return open_clip.create_model(arch, pretrained=str(path))
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"CLIP {arch}: cannot load weights from {path}: {type(exc).__name__}: {exc}") from exc


def image_size(model: torch.nn.Module) -> int:
    size = getattr(model.visual, "image_size", 224)
    return int(size[0] if isinstance(size, (tuple, list)) else size)


class CLIPImage(FeatureExtractor):
    """``encode_image`` embeddings (not normalised) of images in [0, 1]."""

    def __init__(self, arch: str = "ViT-L-14", random_weights: bool = False, path: str | Path | None = None,
                 seed: int = 0, asset: str | None = None) -> None:  # fmt: skip
        super().__init__()
        asset = asset or DEFAULT_ASSETS.get(arch, f"clip-{arch.lower()}")
        file = None if random_weights else assets.resolve(asset, path)
        self.model = build_clip(arch, random_weights, file, seed).eval().requires_grad_(False)
        self.size = image_size(self.model)
        self.name = f"clip-{arch}"
        self.preprocessing = (
            f"{imageio.RESIZER} to {self.size}x{self.size} (square: centre crop = identity), CLIP mean/std"
        )
        self.weights = weights_id(asset, file, random_weights, seed) if file or random_weights else "?"
        self.random_weights = random_weights
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = imageio.resize(images, self.size).to(self.mean.device)
        return self.model.encode_image((x - self.mean) / self.std)
