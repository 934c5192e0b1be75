"""Loading and saving the official checkpoint layouts (strict: every key must match).

Layouts:

* DiffAE autoencoder ``ffhq256_autoenc/last.ckpt``: a Lightning checkpoint, ``state_dict`` holding ``model.*`` and
  ``ema_model.*`` (UNet + ``encoder``) and the ``x_T`` buffer. The EMA weights are the ones used.
* DiffAE ``ffhq256_autoenc/latent.pkl``: ``torch.save`` of ``{conds, conds_mean, conds_std}`` (z_sem stats, (C,)).
* DiffAE ``ffhq256_autoenc_latent/last.ckpt``: as the autoencoder, plus ``*.latent_net.*`` and the
  ``conds_mean``/``conds_std`` buffers of shape (1, C).
* OSASIS ``iter_200.pt``: ``{iter, diffae_B, model_map, optim_diffae_B, optim_map}``; ``diffae_B`` is a full
  ``BeatGANsAutoencModel`` state dict built from the latent config (UNet + ``encoder`` + ``latent_net``).
* P2-weighting ``ffhq_p2.pt``: a plain ADM UNet state dict.

Loaders take an explicit path or resolve the manifest asset; savers write the same layouts (used by the tests and
by the smoke profile to store tiny trained models in the official format).
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
from benchmark.checkpoints import load_restricted, load_state_strict, load_tensors, require_keys, strip_prefix
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


def _load_any(path: Path, what: str) -> Any:
    """weights_only first; fall back to the restricted unpickler with stubs (Lightning hyper-parameters)."""
    try:
        return load_tensors(path, what)
    except CheckpointError as first:
        if not path.is_file() or path.stat().st_size == 0:
            raise
        try:
            return load_restricted(path, what, stub_modules=STUB_MODULES)
        except CheckpointError:
            raise first from None


def _to(module: nn.Module, device: str | torch.device) -> nn.Module:
    return module.to(device).eval()


# ---------------------------------------------------------------------------------------------------- loaders
def load_lightning_state(path: str | Path, what: str) -> Mapping[str, torch.Tensor]:
    """The ``state_dict`` of a Lightning checkpoint."""
    ckpt = require_keys(_load_any(Path(path), what), ["state_dict"], path, what)
    return ckpt["state_dict"]


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
    model = DiffAEAutoencoder(cfg)
    load_state_strict(model, sub, path, what)
    return _to(model, device)


def load_latent_stats(path: str | Path | None = None) -> LatentStats:
    """z_sem mean/std from ``latent.pkl`` (or from a latent Lightning checkpoint's ``conds_*`` buffers)."""
    path = _path(path, ASSET_LATENT_STATS)
    what = "DiffAE latent statistics"
    obj = _load_any(path, what)
    if isinstance(obj, Mapping) and "state_dict" in obj:
        obj = {k: v for k, v in obj["state_dict"].items() if k in ("conds_mean", "conds_std")}
    obj = require_keys(obj, ["conds_mean", "conds_std"], path, what)
    mean, std = obj["conds_mean"].float().reshape(-1), obj["conds_std"].float().reshape(-1)
    if mean.shape != std.shape:
        raise CheckpointError(f"{what}: {path}: conds_mean {tuple(mean.shape)} vs conds_std {tuple(std.shape)}")
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
                device: str | torch.device = "cpu") -> tuple[DiffAEAutoencoder, SPN | None]:  # fmt: skip
    """Fine-tuned ε^B and SPN from an OSASIS ``iter_N.pt`` (SPN is None when the file has no ``model_map``).

    The official ``diffae_B`` includes ``latent_net``; a config without one also loads such files (the latent net
    weights are then ignored), and vice versa an exact match is required.
    """
    path = _path(path, asset)
    what = "OSASIS fine-tuned model (diffae_B + model_map)"
    ckpt = require_keys(_load_any(path, what), ["diffae_B"], path, what)
    cfg = get_config(config)
    state = dict(ckpt["diffae_B"])
    if cfg.latent_net is None:
        state = {k: v for k, v in state.items() if not k.startswith("latent_net.")}
    model = DiffAEAutoencoder(cfg)
    load_state_strict(model, state, path, what + " [diffae_B]")
    spn = None
    if "model_map" in ckpt:
        spn = SPN(get_config(spn_config))
        load_state_strict(spn, ckpt["model_map"], path, what + " [model_map]")
        spn = _to(spn, device)
    return _to(model, device), spn


def load_adm(path: str | Path | None = None, config: str | ADMConfig = "p2_ffhq256", *, asset: str | None = ASSET_P2,
             what: str = "ADM UNet", device: str | torch.device = "cpu") -> ADMUNet:  # fmt: skip
    """A guided-diffusion ADM UNet from a plain state dict, strictly (P2's ``ffhq_p2.pt``, DiffuseIT's
    ``ffhq_10m.pt``); ``asset`` is resolved through the manifest when ``path`` is None."""
    path = _path(path, asset)
    state = _load_any(path, what)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{what}: {path} holds a {type(state).__name__}, expected a state dict")
    model = ADMUNet(get_config(config))
    load_state_strict(model, state, path, what)
    return _to(model, device)


def load_p2(path: str | Path | None = None, config: str | ADMConfig = "p2_ffhq256", *,
            device: str | torch.device = "cpu") -> ADMUNet:  # fmt: skip
    """P2-weighting FFHQ DDPM (``ffhq_p2.pt``, a plain state dict)."""
    return load_adm(path, config, asset=ASSET_P2, what="P2-weighting FFHQ DDPM (ADM UNet)", device=device)


# ----------------------------------------------------------------------------------------------------- savers
def _prefixed(prefix: str, state: Mapping[str, torch.Tensor]) -> OrderedDict:
    return OrderedDict((prefix + k, v.detach().cpu()) for k, v in state.items())


def save_diffae_lightning(path: str | Path, model: DiffAEAutoencoder, ema_model: DiffAEAutoencoder | None = None, *,
                          x_T: torch.Tensor | None = None, stats: LatentStats | None = None,
                          global_step: int = 0) -> Path:  # fmt: skip
    """Write a DiffAE Lightning-layout checkpoint (``model.*``, ``ema_model.*``, ``x_T``[, ``conds_*``]).

    ``ema_model`` defaults to ``model``. ``stats`` adds the (1, C) ``conds_mean``/``conds_std`` buffers that the
    latent checkpoint carries. ``hyper_parameters`` holds our config as plain data.
    """
    ema_model = ema_model or model
    cfg = model.config
    state = _prefixed("model.", model.state_dict())
    state.update(_prefixed("ema_model.", ema_model.state_dict()))
    state["x_T"] = x_T if x_T is not None else torch.zeros(1, cfg.in_channels, cfg.image_size, cfg.image_size)
    if stats is not None:
        state["conds_mean"] = stats.mean.reshape(1, -1).clone()
        state["conds_std"] = stats.std.reshape(1, -1).clone()
    ckpt = {"epoch": 0, "global_step": global_step, "state_dict": state,
            "hyper_parameters": {"osasis_config": config_to_dict(cfg)}}  # fmt: skip
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
