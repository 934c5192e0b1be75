"""Loading and saving the official checkpoint layouts (strict: every key must match).

Layouts:

* DiffAE autoencoder ``ffhq256_autoenc/last.ckpt``: a Lightning checkpoint, ``state_dict`` holding ``model.*`` and
  ``ema_model.*`` (UNet + ``encoder``) and the ``x_T`` buffer ``[sample_size, 3, H, W]`` (``sample_size`` = 32 in the
  official ffhq256 templates). The EMA weights are the ones used; any other key is refused.
* DiffAE ``ffhq256_autoenc/latent.pkl``: ``torch.save`` of ``{conds, conds_mean, conds_std}`` (z_sem stats, (C,);
  the Lightning buffers hold them as (1, C)). Any other shape is refused.
* DiffAE ``ffhq256_autoenc_latent/last.ckpt``: as the autoencoder, plus ``*.latent_net.*`` and the
  ``conds_mean``/``conds_std`` buffers of shape (1, C).
* OSASIS ``iter_200.pt``: ``{iter, diffae_B, model_map, optim_diffae_B, optim_map}``; ``diffae_B`` is a full
  ``BeatGANsAutoencModel`` state dict built from the latent config (UNet + ``encoder`` + ``latent_net``).
* P2-weighting ``ffhq_p2.pt``: a plain ADM UNet state dict.

Loaders take an explicit path or resolve the manifest asset and read it through the restricted loader of
:mod:`benchmark.checkpoints` (Lightning files with DiffAE/Lightning classes stubbed); savers write the same layouts
(used by the tests and by the smoke profile to store tiny trained models in the official format).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmark import assets
from benchmark.checkpoints import (
    load_restricted,
    load_state_strict,
    load_tensors,
    require_keys,
    require_layout,
    skipped_init,
    strip_prefix,
)
from benchmark.errors import CheckpointError
from osasis.configs import ADMConfig, DiffAEConfig, SPNConfig, config_to_dict, get_config
from osasis.networks.adm_unet import ADMUNet
from osasis.networks.diffae_unet import DiffAEAutoencoder
from osasis.networks.latentnet import MLPSkipNet
from osasis.networks.spn import SPN

#: Foreign modules whose classes may appear in Lightning/pickle files; they become inert stubs, never imported.
STUB_MODULES = ("config", "config_base", "choices", "templates", "templates_latent", "templates_cls", "experiment",
                "model", "diffusion", "dataset", "renderer", "metrics", "pytorch_lightning", "lightning_fabric",
                "lightning", "omegaconf", "utils", "diffae")  # fmt: skip

ASSET_AUTOENC = "diffae_ffhq256_autoenc"
ASSET_LATENT_STATS = "diffae_ffhq256_latent_stats"
ASSET_AUTOENC_LATENT = "diffae_ffhq256_autoenc_latent"
ASSET_P2 = "p2_ffhq256"
ASSET_OSASIS_IMG1 = "osasis_img1_iter200"
ASSET_OSASIS_IMG2 = "osasis_img2_iter200"
#: ``conf.sample_size`` of the official ffhq256 templates: the batch size of the ``x_T`` buffer in ``last.ckpt``.
OFFICIAL_SAMPLE_SIZE = 32
#: What a DiffAE Lightning ``state_dict`` may hold besides ``model.*`` / ``ema_model.*``.
LIGHTNING_BUFFERS = ("x_T", "conds_mean", "conds_std")


@dataclass(frozen=True)
class LatentStats:
    """z_sem normalisation statistics (``latent.pkl``), shapes (C,)."""

    mean: torch.Tensor
    std: torch.Tensor

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean.to(z)) / self.std.to(z)

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std.to(z) + self.mean.to(z)


def _path(path: str | Path | None, asset: str | None) -> Path:
    if path is not None:
        return Path(path)
    if asset is None:
        raise CheckpointError("no checkpoint path given and no manifest asset to resolve")
    return assets.resolve(asset)


def _load_lightning(path: Path, what: str) -> Any:
    """A Lightning checkpoint: DiffAE/Lightning classes in ``hyper_parameters`` & co. become inert stubs."""
    return load_restricted(path, what, stub_modules=STUB_MODULES)


def _to(module: nn.Module, device: str | torch.device) -> nn.Module:
    return module.to(device).eval()


# ---------------------------------------------------------------------------------------------------- loaders
def load_lightning_state(path: str | Path, what: str) -> Mapping[str, torch.Tensor]:
    """The ``state_dict`` of a DiffAE Lightning checkpoint (only ``model.*``, ``ema_model.*`` and its buffers)."""
    ckpt = require_keys(_load_lightning(Path(path), what), ["state_dict"], path, what)
    state = require_keys(ckpt["state_dict"], [], path, what + " [state_dict]")
    require_layout(state, ("model.", "ema_model."), LIGHTNING_BUFFERS, path, what + " [state_dict]")
    return state


def _check_noise_buffer(state: Mapping[str, Any], cfg: DiffAEConfig, path: Path, what: str) -> None:
    x_T = state.get("x_T")
    if x_T is None:
        return
    expected = (cfg.in_channels, cfg.image_size, cfg.image_size)
    if not isinstance(x_T, torch.Tensor) or x_T.dim() != 4 or tuple(x_T.shape[1:]) != expected:
        shape = tuple(x_T.shape) if isinstance(x_T, torch.Tensor) else type(x_T).__name__
        raise CheckpointError(f"{what}: {path}: x_T is {shape}, expected [sample_size, {', '.join(map(str, expected))}]"
                              " (a checkpoint of another resolution?)")  # fmt: skip


def load_diffae(path: str | Path | None = None, config: str | DiffAEConfig = "diffae_ffhq256", *,
                use_ema: bool = True, device: str | torch.device = "cpu") -> DiffAEAutoencoder:  # fmt: skip
    """DiffAE autoencoder from a Lightning ``last.ckpt`` (EMA weights by default).

    With a config that has a latent net (``diffae_latent_ffhq256``) the file must hold ``latent_net`` weights too
    (the ``ffhq256_autoenc_latent`` checkpoint).
    """
    cfg = get_config(config)
    has_latent = cfg.latent_net is not None
    path = _path(path, ASSET_AUTOENC_LATENT if has_latent else ASSET_AUTOENC)
    what = f"DiffAE {'latent ' if has_latent else ''}autoencoder ({'ema_model' if use_ema else 'model'} weights)"
    state = load_lightning_state(path, what)
    prefix = "ema_model." if use_ema else "model."
    sub = strip_prefix(state, prefix)
    if not sub:
        raise CheckpointError(f"{what}: {path} has no '{prefix}*' weights; found e.g. {sorted(state)[:5]}")
    with skipped_init():
        model = DiffAEAutoencoder(cfg)
    load_state_strict(model, sub, path, what)
    _check_noise_buffer(state, cfg, path, what)
    return _to(model, device)


def _stat_vector(value: Any, name: str, channels: int | None, path: Path, what: str) -> torch.Tensor:
    """A (C,) statistic from ``latent.pkl`` or a (1, C) Lightning buffer; any other shape is refused."""
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{what}: {path}: {name} is a {type(value).__name__}, expected a tensor")
    shape = tuple(value.shape)
    ok = value.dim() == 1 or (value.dim() == 2 and shape[0] == 1)
    if not ok or (channels is not None and shape[-1] != channels):
        want = f"({channels},) or (1, {channels})" if channels is not None else "(C,) or (1, C)"
        raise CheckpointError(f"{what}: {path}: {name} has shape {shape}, expected {want}")
    vector = value.float().reshape(-1)
    if not torch.isfinite(vector).all():
        raise CheckpointError(f"{what}: {path}: {name} holds non-finite values")
    return vector


def load_latent_stats(path: str | Path | None = None, channels: int | None = None) -> LatentStats:
    """z_sem mean/std from ``latent.pkl`` (or from a latent Lightning checkpoint's ``conds_*`` buffers).

    ``channels`` (the semantic code size, e.g. 512) is checked when given; std must be positive.
    """
    path = _path(path, ASSET_LATENT_STATS)
    what = "DiffAE latent statistics"
    obj = load_restricted(path, what, stub_modules=STUB_MODULES)
    if isinstance(obj, Mapping) and "state_dict" in obj:
        obj = {k: v for k, v in obj["state_dict"].items() if k in ("conds_mean", "conds_std")}
    obj = require_keys(obj, ["conds_mean", "conds_std"], path, what)
    mean = _stat_vector(obj["conds_mean"], "conds_mean", channels, path, what)
    std = _stat_vector(obj["conds_std"], "conds_std", channels, path, what)
    if mean.shape != std.shape:
        raise CheckpointError(f"{what}: {path}: conds_mean {tuple(mean.shape)} vs conds_std {tuple(std.shape)}")
    if not (std > 0).all():
        raise CheckpointError(f"{what}: {path}: conds_std has entries <= 0")
    return LatentStats(mean, std)


def load_latent_net(path: str | Path | None = None, config: str | DiffAEConfig = "diffae_latent_ffhq256", *,
                    use_ema: bool = True, device: str | torch.device = "cpu") -> MLPSkipNet:  # fmt: skip
    """The latent DPM MLP from ``ffhq256_autoenc_latent/last.ckpt`` (``ema_model.latent_net.*``)."""
    cfg = get_config(config)
    if cfg.latent_net is None:
        raise CheckpointError(f"config {config!r} has no latent net")
    path = _path(path, ASSET_AUTOENC_LATENT)
    what = "DiffAE latent DPM (latent_net)"
    state = load_lightning_state(path, what)
    prefix = ("ema_model." if use_ema else "model.") + "latent_net."
    net = MLPSkipNet(cfg.latent_net)
    load_state_strict(net, strip_prefix(state, prefix), path, what)
    return _to(net, device)


def load_osasis(path: str | Path | None = None, config: str | DiffAEConfig = "diffae_latent_ffhq256",
                spn_config: str | SPNConfig = "spn_default", *, asset: str = ASSET_OSASIS_IMG1,
                device: str | torch.device = "cpu",
                require_spn: bool = False) -> tuple[DiffAEAutoencoder, SPN | None]:  # fmt: skip
    """Fine-tuned ε^B and SPN from an OSASIS ``iter_N.pt`` (SPN is None when the file has no ``model_map``;
    with ``require_spn`` such a file is refused).

    The official ``diffae_B`` includes ``latent_net``; a config without one also loads such files (the latent net
    weights are then ignored), and vice versa an exact match is required.
    """
    path = _path(path, asset)
    what = "OSASIS fine-tuned model (diffae_B + model_map)"
    ckpt = require_keys(load_tensors(path, what), ["diffae_B"], path, what)
    if require_spn and "model_map" not in ckpt:
        raise CheckpointError(f"{what}: {path} has no SPN ('model_map') but use_spn is on; use a file with the SPN "
                              "or set use_spn: false")  # fmt: skip
    cfg = get_config(config)
    state = dict(ckpt["diffae_B"])
    if cfg.latent_net is None:
        state = {k: v for k, v in state.items() if not k.startswith("latent_net.")}
    with skipped_init():
        model = DiffAEAutoencoder(cfg)
    load_state_strict(model, state, path, what + " [diffae_B]")
    spn = None
    if "model_map" in ckpt:
        with skipped_init():
            spn = SPN(get_config(spn_config))
        load_state_strict(spn, ckpt["model_map"], path, what + " [model_map]")
        spn = _to(spn, device)
    return _to(model, device), spn


def load_adm(path: str | Path | None = None, config: str | ADMConfig = "p2_ffhq256", *, asset: str | None = ASSET_P2,
             what: str = "ADM UNet", device: str | torch.device = "cpu") -> ADMUNet:  # fmt: skip
    """A guided-diffusion ADM UNet from a plain state dict, strictly (P2's ``ffhq_p2.pt``, DiffuseIT's
    ``ffhq_10m.pt``); ``asset`` is resolved through the manifest when ``path`` is None."""
    path = _path(path, asset)
    state = load_tensors(path, what)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what}: {path} holds a {type(state).__name__}, expected a state dict")
    with skipped_init():
        model = ADMUNet(get_config(config))
    load_state_strict(model, state, path, what)
    return _to(model, device)


def load_p2(path: str | Path | None = None, config: str | ADMConfig = "p2_ffhq256", *,
            device: str | torch.device = "cpu") -> ADMUNet:  # fmt: skip
    """P2-weighting FFHQ DDPM (``ffhq_p2.pt``, a plain state dict)."""
    return load_adm(path, config, asset=ASSET_P2, what="P2-weighting FFHQ DDPM (ADM UNet)", device=device)


# ----------------------------------------------------------------------------------------------------- savers
def _detached(value: torch.Tensor) -> torch.Tensor:
    value = value.detach()
    return value if value.is_meta else value.cpu()


def _prefixed(prefix: str, state: Mapping[str, torch.Tensor]) -> OrderedDict:
    return OrderedDict((prefix + k, _detached(v)) for k, v in state.items())


def lightning_checkpoint(model: DiffAEAutoencoder, ema_model: DiffAEAutoencoder | None = None, *,
                         x_T: torch.Tensor | None = None, stats: LatentStats | None = None,
                         global_step: int = 0, sample_size: int = OFFICIAL_SAMPLE_SIZE) -> dict[str, Any]:  # fmt: skip
    """The DiffAE Lightning-layout checkpoint dict (``model.*``, ``ema_model.*``, ``x_T``[, ``conds_*``]).

    ``ema_model`` defaults to ``model``. ``x_T`` is the official ``LitModel`` buffer ``[sample_size, 3, H, W]``
    (default: seeded N(0, I) noise, as the official model draws at construction). ``stats`` adds the (1, C)
    ``conds_mean``/``conds_std`` buffers that the latent checkpoint carries. ``hyper_parameters`` holds our config
    as plain data. Meta-device models give the layout without data (used to check it at full size).
    """
    ema_model = ema_model or model
    cfg = model.config
    state = _prefixed("model.", model.state_dict())
    state.update(_prefixed("ema_model.", ema_model.state_dict()))
    if x_T is None:
        shape = (sample_size, cfg.in_channels, cfg.image_size, cfg.image_size)
        if next(iter(state.values())).is_meta:
            x_T = torch.empty(shape, device="meta")
        else:
            x_T = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    expected = (cfg.in_channels, cfg.image_size, cfg.image_size)
    if x_T.dim() != 4 or tuple(x_T.shape[1:]) != expected:
        raise ValueError(f"x_T must be [sample_size, {', '.join(map(str, expected))}], got {tuple(x_T.shape)}")
    state["x_T"] = _detached(x_T)
    if stats is not None:
        state["conds_mean"] = stats.mean.reshape(1, -1).clone()
        state["conds_std"] = stats.std.reshape(1, -1).clone()
    return {"epoch": 0, "global_step": global_step, "state_dict": state,
            "hyper_parameters": {"osasis_config": config_to_dict(cfg)}}  # fmt: skip


def save_diffae_lightning(path: str | Path, model: DiffAEAutoencoder, ema_model: DiffAEAutoencoder | None = None, *,
                          x_T: torch.Tensor | None = None, stats: LatentStats | None = None,
                          global_step: int = 0, sample_size: int = OFFICIAL_SAMPLE_SIZE) -> Path:  # fmt: skip
    """Write :func:`lightning_checkpoint` to ``path`` (loadable by the official ``LitModel``)."""
    ckpt = lightning_checkpoint(model, ema_model, x_T=x_T, stats=stats, global_step=global_step,
                                sample_size=sample_size)  # fmt: skip
    return _save(ckpt, path)


def save_latent_stats(path: str | Path, conds: torch.Tensor) -> Path:
    """Write ``latent.pkl`` from z_sem codes (N, C): ``{conds, conds_mean, conds_std}`` (std over dim 0)."""
    conds = conds.detach().float().cpu()
    return _save({"conds": conds, "conds_mean": conds.mean(dim=0), "conds_std": conds.std(dim=0)}, path)


def save_osasis(path: str | Path, model: DiffAEAutoencoder, spn: SPN | None = None, *, iteration: int = 200,
                optim_model: Mapping[str, Any] | None = None,
                optim_spn: Mapping[str, Any] | None = None) -> Path:  # fmt: skip
    """Write an OSASIS ``iter_N.pt``: ``{iter, diffae_B, model_map, optim_diffae_B, optim_map}``."""
    ckpt: dict[str, Any] = {"iter": iteration, "diffae_B": _prefixed("", model.state_dict()),
                            "optim_diffae_B": dict(optim_model or {})}  # fmt: skip
    if spn is not None:
        ckpt["model_map"] = _prefixed("", spn.state_dict())
        ckpt["optim_map"] = dict(optim_spn or {})
    return _save(ckpt, path)


def save_p2(path: str | Path, model: ADMUNet) -> Path:
    """Write a plain ADM state dict (``ffhq_p2.pt`` layout)."""
    return _save(_prefixed("", model.state_dict()), path)


def _save(obj: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)
    return path
