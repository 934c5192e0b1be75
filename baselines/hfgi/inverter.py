"""HFGI inversion (official ``scripts/inference.py``, step for step) and its use with a fine-tuned generator.

Official inference of one image ``x`` (PIL ``Resize((256, 256))``, bilinear, to [-1, 1]):

1. ``w = E(x) + latent_avg`` (e4e; the W+ code, identical to e4e's);
2. ``x_rec = G(w)`` with the stored noise (``randomize_noise=False``);
3. ``res = x - bilinear_256(clamp(x_rec, -1, 1))`` (``F.interpolate``, no antialiasing);
4. ``img_edit = bilinear_256(clamp(G(w_edit), -1, 1))`` (``= x_rec`` for plain inversion);
5. ``cond = Ec(ADA(cat[res, img_edit]))``; ``out = G(w_edit, cond)``, again with stored noise.

Here ``G`` of steps 4-5 may be another generator with the same architecture (``render(g, ...)``): the
fine-tuned style generator of JoJoGAN or MTG, while the residual of step 3 always comes from the source
generator ``g_src`` (mode ``"full"``).  Mode ``"wplus"`` renders ``g(w)`` only (HFGI's W+ code = e4e's).
The base W+ code comes from the file's e4e encoder, or from another inverter (``base``; the smoke profile
uses the W+ projector because it has no e4e).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from baselines.hfgi.checkpoint import HFGIWeights
from baselines.inversion_cache import Inversion, module_identity, source_digest, tensor_digest
from baselines.stylegan2.model import Generator, NoiseArg
from benchmark import imageio
from benchmark.errors import ConfigError

MODES = ("full", "wplus")
RESIZES = ("pil-bilinear", "suite")
CodeInverter = Callable[[torch.Tensor, Sequence[str]], torch.Tensor]


@dataclass
class HFGIInversion:
    """W+ codes [B, n, D], and (mode ``full``) the residual ``x - bilinear(clamp(G_src(w)))`` [B, 3, S, S]."""

    codes: torch.Tensor
    residual: torch.Tensor | None = None


def resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """``F.interpolate(..., mode="bilinear")`` (no antialias), a no-op at the same size (as upstream)."""
    return F.interpolate(x, size=(size, size), mode="bilinear")


def pil_bilinear(images: torch.Tensor, size: int) -> torch.Tensor:
    """torchvision ``Resize((size, size))`` on the 8-bit PIL image (bilinear), as the official dataset does."""
    if tuple(images.shape[-2:]) == (size, size):
        return images
    out = []
    for img in images:
        pil = imageio.tensor_to_pil(img).resize((size, size), Image.BILINEAR)
        out.append(torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0).permute(2, 0, 1))
    return torch.stack(out).to(images.device)


class HFGIInverter:
    """Images in [0, 1] -> W+ codes (``__call__``), or codes + residual (``invert``) for :meth:`render`."""

    def __init__(
        self,
        weights: HFGIWeights,
        g_src: Generator,
        mode: str = "full",
        base: CodeInverter | None = None,
        input_resize: str = "pil-bilinear",
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"hfgi mode must be one of {list(MODES)}, got {mode!r}")
        if input_resize not in RESIZES:
            raise ConfigError(f"hfgi input_resize must be one of {list(RESIZES)}, got {input_resize!r}")
        if base is None and (weights.encoder is None or weights.latent_avg is None):
            raise ConfigError(
                "hfgi: the checkpoint has no e4e encoder (encoder.* and latent_avg); give a base inverter "
                "(hfgi_base: projector) or use the official HFGI ckpt.pt"
            )
        cfg = weights.config
        try:
            width = g_src.convs[2 * g_src.condition_layer(cfg.cond_size)].conv.cout
        except ValueError:
            width = -1
        if width != cfg.cond_channels:
            raise ConfigError(
                f"hfgi: {cfg.cond_channels}-channel conditions at {cfg.cond_size}px do not fit the "
                f"{g_src.size}px generator"
            )
        if weights.encoder is not None and base is None and weights.encoder.cfg.n_latent != g_src.n_latent:
            raise ConfigError(f"hfgi: e4e predicts {weights.encoder.cfg.n_latent} codes, G takes {g_src.n_latent}")
        self.w = weights
        self.w.residue.eval().requires_grad_(False)
        self.w.grid_align.eval().requires_grad_(False)
        if self.w.encoder is not None:
            self.w.encoder.eval().requires_grad_(False)
        self.g_src = g_src
        self.mode = mode
        self.base = base
        self.input_resize = input_resize
        self.size = cfg.input_size

    @property
    def device(self) -> torch.device:
        return next(self.w.residue.parameters()).device

    # ----- the inversion cache (baselines.inversion_cache): what the result depends on, one image at a time
    def cache_identity(self) -> dict[str, Any]:
        base = self.base
        if base is not None and not hasattr(base, "cache_identity"):
            raise TypeError(f"hfgi: the base inverter {type(base).__name__} cannot describe itself for the cache")
        return {
            "name": "hfgi",
            "mode": self.mode,
            "input_resize": self.input_resize,
            "size": self.size,
            "g_src": module_identity(self.g_src),
            "residue": module_identity(self.w.residue),
            "grid_align": module_identity(self.w.grid_align),
            "encoder": module_identity(self.w.encoder) if base is None else None,
            "latent_avg": tensor_digest(self.w.latent_avg) if base is None and self.w.latent_avg is not None else None,
            "base": base.cache_identity() if base is not None else None,  # type: ignore[attr-defined]
            "code": source_digest([self, imageio]),
        }

    def entry_shapes(self) -> dict[str, tuple[int, ...] | None]:
        residual = (1, 3, self.size, self.size) if self.mode == "full" else None
        return {"codes": (1, self.g_src.n_latent, self.g_src.style_dim), "residual": residual}

    def invert_one(self, image: torch.Tensor, name: str) -> Inversion:
        inversion = self.invert(image, [name])
        return Inversion(inversion.codes, inversion.residual)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] images -> the network input ``x`` in [-1, 1] at ``input_size``."""
        if self.input_resize == "pil-bilinear":
            x = pil_bilinear(images.float(), self.size)
        else:
            x = imageio.resize(images.float(), self.size)
        return x.to(self.device) * 2 - 1

    @torch.no_grad()
    def _codes(self, images: torch.Tensor, x: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        if self.base is not None:
            return self.base(images, names).to(self.device)
        assert self.w.encoder is not None and self.w.latent_avg is not None
        return self.w.encoder(x) + self.w.latent_avg.to(self.device)

    def __call__(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        """HFGI's W+ codes (the base inverter's / e4e's)."""
        return self._codes(images, self.prepare(images), names)

    @torch.no_grad()
    def invert(self, images: torch.Tensor, names: Sequence[str]) -> HFGIInversion:
        """Codes and (mode ``full``) the residual against the source generator's reconstruction."""
        x = self.prepare(images)
        codes = self._codes(images, x, names)
        if self.mode == "wplus":
            return HFGIInversion(codes)
        rec = self.g_src(codes.to(self.g_src.input.input.device), noise="const").to(self.device)
        return HFGIInversion(codes, x - resize_bilinear(rec.clamp(-1.0, 1.0), self.size))

    @torch.no_grad()
    def render(
        self,
        g: Generator,
        inversion: HFGIInversion | Inversion,
        codes: torch.Tensor | None = None,
        noise: NoiseArg = "const",
        rng: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Images in [-1, 1] at ``g.size`` from ``codes`` (default: the inverted ones), with the branch if ``full``.

        ``noise="random"`` draws one set of maps from ``rng`` and uses it for both generator passes.
        """
        dev = g.input.input.device
        codes = (inversion.codes if codes is None else codes).to(dev)
        if noise == "random":
            noise = g.random_noises(codes.shape[0], rng)
        if self.mode == "wplus" or inversion.residual is None:
            return g(codes, noise=noise)
        img_edit = resize_bilinear(g(codes, noise=noise).clamp(-1.0, 1.0), self.size).to(self.device)
        aligned = self.w.grid_align(torch.cat((inversion.residual.to(self.device), img_edit), 1))
        conditions = [c.to(dev) for c in self.w.residue(aligned)]
        return g(codes, noise=noise, conditions=conditions)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor, names: Sequence[str], output_size: int | None = None) -> torch.Tensor:
        """The official inversion output: ``render(g_src)``, bilinear to ``output_size`` (default the input
        size), then ``tensor2im``'s clamp to [0, 1] (kept as floats: the benchmark writes PNG, not JPEG)."""
        out = self.render(self.g_src, self.invert(images, names))
        out = resize_bilinear(out, output_size or self.size)
        return ((out + 1) / 2).clamp(0.0, 1.0)
