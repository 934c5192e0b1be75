"""GAN inversion for the StyleGAN2 baselines (JoJoGAN, MTG): images in [0, 1] -> W+ codes, and rendering.

The one entry point: :func:`build_inverter` (name + :class:`InverterOptions`, weights resolved through the
asset manifest) and :func:`synthesize` (invert, optionally edit the codes, render with a generator).
Named choices (the ``inverter`` parameter): ``"e4e"`` (the released JoJoGAN code), ``"projector"``
(optimisation in W+ with LPIPS + L2; needs no encoder weights) and ``"hfgi"`` (the OSASIS paper's
protocol: :class:`~baselines.hfgi.inverter.HFGIInverter`; mode ``full`` adds HFGI's distortion branch
to the rendering generator, mode ``wplus`` uses its W+ code only, which equals e4e's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from baselines.e4e.encoder import Encoder4Editing
from baselines.hfgi.inverter import HFGIInverter
from baselines.inversion_cache import (
    CachedInverter,
    Inversion,
    InversionCache,
    module_identity,
    source_digest,
    tensor_digest,
)
from baselines.stylegan2.model import Generator, NoiseArg
from benchmark import assets, imageio
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

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def cache_identity(self) -> dict[str, Any]:
        return {
            "name": "e4e",
            "input_size": self.encoder.cfg.input_size,
            "encoder": module_identity(self.encoder),
            "latent_avg": tensor_digest(self.latent_avg),
            "code": source_digest([self, imageio]),
        }

    def entry_shapes(self) -> dict[str, tuple[int, ...] | None]:
        return {"codes": (1, self.encoder.cfg.n_latent, self.encoder.cfg.style_dim), "residual": None}

    def invert_one(self, image: torch.Tensor, name: str) -> Inversion:
        return Inversion(self(image, [name]))


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
        size = min(self.s.lpips_size, g.size)
        b = F.interpolate(target, size=size, mode="area") if target.shape[-1] != size else target
        # the target's LPIPS features are the same at every step: computed once (LPIPSNet evaluates the two
        # inputs in separate passes, so this is bit-identical to calling lpips(a, b) each step)
        split = self.lpips is not None and hasattr(self.lpips, "features") and hasattr(
            self.lpips, "distance_from_features"
        )
        if split:
            with torch.no_grad():
                target_features = self.lpips.features(b)  # type: ignore[union-attr, operator]
        for _ in range(self.s.steps):
            img = g(w)
            loss = self.s.l2_weight * F.mse_loss(img, target)
            if self.lpips is not None:
                a = F.interpolate(img, size=size, mode="area") if img.shape[-1] != size else img
                if split:
                    distance = self.lpips.distance_from_features(self.lpips.features(a), target_features)  # type: ignore[operator]
                else:
                    distance = self.lpips(a, b)
                loss = loss + distance.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return w.detach()

    @property
    def device(self) -> torch.device:
        return self.w_avg.device

    def cache_identity(self) -> dict[str, Any]:
        return {
            "name": "projector",
            "settings": asdict(self.s),
            "w_avg": tensor_digest(self.w_avg),
            "g": module_identity(self.g),
            "lpips": module_identity(self.lpips),
            "code": source_digest([self, imageio, torch.optim.Adam]),
        }

    def entry_shapes(self) -> dict[str, tuple[int, ...] | None]:
        return {"codes": (1, self.g.n_latent, self.g.style_dim), "residual": None}

    def invert_one(self, image: torch.Tensor, name: str) -> Inversion:
        return Inversion(self(image, [name]))

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


# name -> builder(**kwargs) -> Inverter; build_inverter passes what each needs.
INVERTERS: dict[str, Callable[..., Inverter]] = {
    "e4e": lambda encoder, latent_avg, **_: E4EInverter(encoder, latent_avg),
    "projector": lambda g, settings, lpips_net=None, w_avg=None, **_: Projector(g, settings, w_avg, lpips_net),
    "hfgi": lambda weights, g, mode="full", base=None, input_resize="pil-bilinear", **_: HFGIInverter(
        weights, g, mode=mode, base=base, input_resize=input_resize
    ),
}
HFGI_BASES = ("encoder", "projector")


@dataclass
class InverterOptions:
    """What :func:`build_inverter` needs besides the generator; the defaults are the paper-profile choices.

    ``hfgi_base``: where HFGI's W+ code comes from: ``"encoder"`` (the e4e inside the official HFGI file)
    or ``"projector"`` (the smoke profile, which has no e4e; uses the ``projector_*`` settings).
    """

    encoder: str = "e4e-ffhq-encode"
    encoder_path: str | None = None
    hfgi: str = "hfgi-ffhq"
    hfgi_path: str | None = None
    hfgi_mode: str = "full"
    hfgi_base: str = "encoder"
    hfgi_input_resize: str = "pil-bilinear"
    projector_steps: int = 200
    projector_lr: float = 0.05
    projector_lpips: str = "vgg"
    projector_l2: float = 1.0

    @classmethod
    def from_config(cls, cfg: Any) -> InverterOptions:
        """The fields of ``cfg`` (any method Config dataclass) that carry these names."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls) if hasattr(cfg, f.name)})

    def __post_init__(self) -> None:
        if self.hfgi_base not in HFGI_BASES:
            raise ConfigError(f"hfgi_base must be one of {list(HFGI_BASES)}, got {self.hfgi_base!r}")
        if self.projector_lpips not in ("vgg", "alex", "none"):
            raise ConfigError(f"projector_lpips must be 'vgg', 'alex' or 'none', got {self.projector_lpips!r}")


def build_inverter(
    name: str,
    g: Generator,
    latent_avg: torch.Tensor | None,
    options: InverterOptions,
    device: str | torch.device = "cpu",
    seed: int = 0,
    cache: InversionCache | None = None,
) -> CachedInverter:
    """The inverter ``name`` for the *source* generator ``g`` (its ``latent_avg`` as stored in its file).

    It is wrapped in a :class:`~baselines.inversion_cache.CachedInverter` (``cache``: default the on-disk
    inversion cache of the environment, ``OSASIS_BENCH_INVERSION_CACHE=off`` disables it); the inner
    inverter is ``.inner``.
    """
    return CachedInverter(_build_uncached(name, g, latent_avg, options, device, seed), cache)


def _build_uncached(
    name: str,
    g: Generator,
    latent_avg: torch.Tensor | None,
    options: InverterOptions,
    device: str | torch.device,
    seed: int,
) -> Any:
    if name not in INVERTERS:
        raise ConfigError(f"inverter must be one of {sorted(INVERTERS)}, got {name!r}")
    o = options
    if name == "e4e":
        from baselines.e4e.checkpoint import load_e4e

        encoder, enc_avg, _ = load_e4e(assets.resolve(o.encoder, o.encoder_path))
        if encoder.cfg.n_latent != g.n_latent or encoder.cfg.style_dim != g.style_dim:
            raise ConfigError(
                f"inverter e4e predicts {encoder.cfg.n_latent}x{encoder.cfg.style_dim} codes, "
                f"the generator takes {g.n_latent}x{g.style_dim}"
            )
        return INVERTERS["e4e"](encoder=encoder.to(device), latent_avg=enc_avg.to(device))
    if name == "projector" or (name == "hfgi" and o.hfgi_base == "projector"):
        settings = ProjectorSettings(
            steps=o.projector_steps, lr=o.projector_lr, lpips=o.projector_lpips, l2_weight=o.projector_l2, seed=seed
        )
        lpips_net = None
        if o.projector_lpips != "none":
            from benchmark.metrics.lpips import get_lpips

            lpips_net = get_lpips(o.projector_lpips, torch.device(device))
        w_avg = latent_avg.reshape(-1, g.style_dim)[:1].to(device) if latent_avg is not None else None
        projector = INVERTERS["projector"](g=g, settings=settings, lpips_net=lpips_net, w_avg=w_avg)
        if name == "projector":
            return projector
    from baselines.hfgi.checkpoint import load_hfgi

    parts = ("residue", "grid_align") if o.hfgi_base == "projector" else ("encoder", "residue", "grid_align")
    weights = load_hfgi(assets.resolve(o.hfgi, o.hfgi_path), parts=parts).to(device)
    base = projector if o.hfgi_base == "projector" else None
    return INVERTERS["hfgi"](weights=weights, g=g, mode=o.hfgi_mode, base=base, input_resize=o.hfgi_input_resize)


def synthesize(
    inverter: Inverter,
    g: Generator,
    images: torch.Tensor,
    names: Sequence[str],
    edit: Callable[[torch.Tensor], torch.Tensor] | None = None,
    noise: NoiseArg = "const",
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """Invert ``images`` ([0, 1]), apply ``edit`` to the W+ codes, render with ``g``: [-1, 1] at ``g.size``.

    With an HFGI inverter in mode ``full`` the rendering includes the distortion branch (residual from the
    inverter's source generator, condition injected into ``g``); otherwise it is ``g(codes)``.
    """
    hfgi = inverter.inner if isinstance(inverter, CachedInverter) else inverter
    if isinstance(hfgi, HFGIInverter):
        inversion = inverter.invert(images, names)  # type: ignore[union-attr]
        codes = inversion.codes if edit is None else edit(inversion.codes)
        return hfgi.render(g, inversion, codes, noise=noise, rng=rng)
    with torch.no_grad():
        codes = inverter(images, names)
        codes = codes if edit is None else edit(codes)
        return g(codes.to(g.input.input.device), noise=noise, rng=rng)
