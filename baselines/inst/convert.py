"""``sd-v1-4.ckpt`` (ldm/Lightning pickle) -> diffusers UNet/VAE + transformers CLIP text encoder state dicts.

The file is read with :func:`benchmark.checkpoints.load_restricted` (Lightning/ldm/omegaconf classes become inert
stubs; nothing from the file runs). Key renaming is diffusers' own single-file converters
(``convert_ldm_unet_checkpoint``, ``convert_ldm_vae_checkpoint`` - which also turns the VAE mid-block 1x1 conv
attention into linear weights - and ``convert_ldm_clip_checkpoint``); :func:`convert_ldm_state` bundles them and
checks every produced key and shape against the target models (a named error otherwise). ``model_ema.*`` (a
flattened EMA copy of the UNet) is ignored, as ldm's ``v1-inference.yaml`` (``use_ema: False``) does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from benchmark.checkpoints import load_restricted, require_keys
from benchmark.errors import CheckpointError

UNET_PREFIX, VAE_PREFIX, TEXT_PREFIX = "model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."
#: Modules whose classes a Lightning ``sd-v1-4.ckpt`` may pickle besides tensors (callbacks, hparams).
STUB_MODULES = ("pytorch_lightning", "lightning", "lightning_fabric", "ldm", "omegaconf", "main", "typing")
#: Buffers that exist in the ldm text encoder but not (persistently) in transformers' CLIPTextModel.
TEXT_BUFFERS = ("embeddings.position_ids",)
#: transformers >= 5 ``CLIPTextModel`` holds the text transformer's modules directly (no ``text_model.`` level).
TEXT_MODEL_PREFIX = "text_model."


def convert_ldm_state(state: Mapping[str, torch.Tensor], unet_config: dict[str, Any]) -> dict[str, dict]:
    """{"unet", "vae", "text"} diffusers/transformers state dicts from an ldm ``state_dict``."""
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
    )

    state = dict(state)
    unet_only = {k: v for k, v in state.items() if k.startswith(UNET_PREFIX)}
    vae_only = {k: v for k, v in state.items() if k.startswith(VAE_PREFIX)}
    text_only = {k: v for k, v in state.items() if k.startswith(TEXT_PREFIX)}
    for what, part in (("UNet", unet_only), ("VAE", vae_only), ("text encoder", text_only)):
        if not part:
            raise CheckpointError(f"inst: the Stable Diffusion state dict has no {what} keys")
    levels = _count_levels(vae_only, VAE_PREFIX + "encoder.down.")
    vae_config = {"down_block_types": ["DownEncoderBlock2D"] * levels, "up_block_types": ["UpDecoderBlock2D"] * levels}
    text = {k.removeprefix(TEXT_MODEL_PREFIX): v for k, v in convert_ldm_clip_checkpoint(text_only).items()}
    for key in TEXT_BUFFERS:
        text.pop(key, None)
    return {
        "unet": convert_ldm_unet_checkpoint(unet_only, unet_config),
        "vae": convert_ldm_vae_checkpoint(vae_only, vae_config),
        "text": text,
    }


def _count_levels(state: Mapping[str, Any], prefix: str) -> int:
    return len({k[len(prefix) :].split(".")[0] for k in state if k.startswith(prefix)})


def read_sd_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of an ldm/Lightning Stable Diffusion checkpoint, loaded without running its code."""
    raw = load_restricted(path, "Stable Diffusion v1 checkpoint (sd-v1-4.ckpt)", stub_modules=STUB_MODULES)
    if isinstance(raw, Mapping) and "state_dict" in raw:
        raw = raw["state_dict"]
    state = require_keys(raw, [], path, "Stable Diffusion v1 checkpoint")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
