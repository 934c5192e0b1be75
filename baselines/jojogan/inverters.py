"""GAN inversion for JoJoGAN: images in [0, 1] -> StyleGAN2 W+ codes.

Named choices (the ``inverter`` parameter): ``"e4e"`` (the released JoJoGAN code), ``"projector"``
(optimisation in W+ with LPIPS + L2; needs no encoder weights).  ``"hfgi"`` (the OSASIS paper's
protocol) is a documented hook: register a builder in :data:`INVERTERS`.  HFGI also feeds
consultation features into the generator, so its builder must return an inverter whose codes the
method can use with a matching generator wrapper; not implemented here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from baselines.e4e.encoder import Encoder4Editing
from baselines.stylegan2.model import Generator
from benchmark import imageio
from benchmark.errors import ConfigError
from benchmark.seeding import generator as seeded_generator


class Inverter(Protocol):
    """Maps images ``B x 3 x H x W`` in [0, 1] (with their names) to W+ codes ``B x n_latent x D``."""

    def __call__(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor: ...


class E4EInverter:
    """e4e: resize to the encoder input with the suite's resizer, scale to [-1, 1], encode, add ``latent_avg``.

    (JoJoGAN resizes/centre-crops with torchvision's bilinear ``Resize(256)``; the suite uses one resizer.)
    """

    def __init__(self, encoder: Encoder4Editing, latent_avg: torch.Tensor) -> None:
        self.encoder = encoder.eval().requires_grad_(False)
        self.latent_avg = latent_avg

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        dev = next(self.encoder.parameters()).device
        x = imageio.resize(images, self.encoder.cfg.input_size).to(dev) * 2 - 1
        return self.encoder(x) + self.latent_avg.to(dev)


@dataclass
class ProjectorSettings:
    """Optimisation settings of :class:`Projector`."""

    steps: int = 200
    lr: float = 0.05
    lpips: str = "vgg"  # "vgg", "alex" or "none"
    l2_weight: float = 1.0
    lpips_size: int = 256
    seed: int = 0


class Projector:
    """W+ projection: start at the mean latent, Adam on LPIPS + ``l2_weight`` * MSE with constant noise.

    Each image is optimised alone (results do not depend on batch composition); the only randomness,
    the mean-latent estimate, is drawn from a seeded generator.  Gradients are enabled internally, so
    it also works when the caller runs under ``torch.no_grad()`` (not under ``inference_mode``).
    """

    def __init__(
        self,
        g: Generator,
        settings: ProjectorSettings,
        w_avg: torch.Tensor | None = None,
        lpips_net: torch.nn.Module | None = None,
    ) -> None:
        self.g = g
        self.s = settings
        if w_avg is None:
            w_avg = g.mean_latent(4096, seeded_generator(settings.seed, "projector-mean-latent"))
        self.w_avg = w_avg.reshape(1, -1)
        self.lpips = lpips_net

    @torch.enable_grad()
    def _project_one(self, target: torch.Tensor) -> torch.Tensor:
        g, dev = self.g, self.w_avg.device
        w = self.w_avg.reshape(1, 1, -1).repeat(1, g.n_latent, 1).detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=self.s.lr)
        target = target.to(dev)
        for _ in range(self.s.steps):
            img = g(w)
            loss = self.s.l2_weight * F.mse_loss(img, target)
            if self.lpips is not None:
                size = min(self.s.lpips_size, img.shape[-1])
                a = F.interpolate(img, size=size, mode="area") if img.shape[-1] != size else img
                b = F.interpolate(target, size=size, mode="area") if target.shape[-1] != size else target
                loss = loss + self.lpips(a, b).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return w.detach()

    def __call__(self, images: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        was_training = self.g.training
        params = [p.requires_grad for p in self.g.parameters()]
        self.g.eval().requires_grad_(False)
        try:
            targets = imageio.resize(images, self.g.size) * 2 - 1
            return torch.cat([self._project_one(t[None]) for t in targets])
        finally:
            for p, flag in zip(self.g.parameters(), params):
                p.requires_grad_(flag)
            self.g.train(was_training)


def _hfgi_unavailable(**_: object) -> Inverter:
    raise ConfigError(
        "inverter 'hfgi' is a documented hook without an implementation: HFGI adds consultation "
        "features inside the generator; register a builder in baselines.jojogan.inverters.INVERTERS"
    )


# name -> builder(**kwargs) -> Inverter; the method passes what each needs.
INVERTERS: dict[str, Callable[..., Inverter]] = {
    "e4e": lambda encoder, latent_avg, **_: E4EInverter(encoder, latent_avg),
    "projector": lambda g, settings, lpips_net=None, w_avg=None, **_: Projector(g, settings, w_avg, lpips_net),
    "hfgi": _hfgi_unavailable,
}
