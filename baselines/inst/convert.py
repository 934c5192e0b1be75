"""``sd-v1-4.ckpt`` (ldm/Lightning pickle) -> diffusers UNet/VAE + transformers CLIP text encoder state dicts.

The file is read with :func:`benchmark.checkpoints.load_restricted` (Lightning/ldm/omegaconf classes become inert
stubs; nothing from the file runs). Key renaming is diffusers' own single-file converters
(``convert_ldm_unet_checkpoint``, ``convert_ldm_vae_checkpoint`` - which also turns the VAE mid-block 1x1 conv
attention into linear weights - and ``convert_ldm_clip_checkpoint``); :func:`convert_ldm_state` bundles them and
checks every produced key and shape against the target models (a named error otherwise). ``model_ema.*`` (a
flattened EMA copy of the UNet) is ignored, as ldm's ``v1-inference.yaml`` (``use_ema: False``) does.

:func:`ldm_state_from_diffusers` is the inverse (our own key table): it writes diffusers/transformers weights back
under the ldm names, which the dry run (:mod:`benchmark.dryrun.weights`) uses to store an ``sd-v1-4.ckpt`` layout.
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
    # 4 GB that the networks take over (load_sd14): mapped, not read
    raw = load_restricted(path, "Stable Diffusion v1 checkpoint (sd-v1-4.ckpt)", stub_modules=STUB_MODULES, mmap=True)
    if isinstance(raw, Mapping) and "state_dict" in raw:
        raw = raw["state_dict"]
    state = require_keys(raw, [], path, "Stable Diffusion v1 checkpoint")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


# ---------------------------------------------------------------------------------------------------- inverse
#: UNet ResNet block: diffusers name -> ldm ``ResBlock`` name.
_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
                "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}  # fmt: skip
#: VAE mid-block attention: diffusers name -> ldm ``AttnBlock`` name (1x1 convolutions in ldm).
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _rename_resnet(rest: str, table: dict[str, str]) -> str:
    head, _, tail = rest.partition(".")
    return f"{table.get(head, head)}.{tail}"


def _unet_key(key: str, layers: int, attention_up: tuple[bool, ...]) -> str:
    """One diffusers UNet key -> its ldm ``model.diffusion_model.*`` name (SD v1 layout)."""
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}  # fmt: skip
    module, _, leaf = key.rpartition(".")
    if module in fixed:
        return f"{fixed[module]}.{leaf}"
    parts = key.split(".")
    if parts[0] == "down_blocks":
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
        if kind == "downsamplers":
            return f"input_blocks.{(layers + 1) * (block + 1)}.0.op.{rest.removeprefix('conv.')}"
        n = (layers + 1) * block + index + 1
        if kind == "resnets":
            return f"input_blocks.{n}.0.{_rename_resnet(rest, _UNET_RESNET)}"
        return f"input_blocks.{n}.1.{rest}"
    if parts[0] == "mid_block":
        kind, index, rest = parts[1], int(parts[2]), ".".join(parts[3:])
        if kind == "resnets":
            return f"middle_block.{2 * index}.{_rename_resnet(rest, _UNET_RESNET)}"
        return f"middle_block.1.{rest}"
    if parts[0] == "up_blocks":
        block, kind, index, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
        per_block = layers + 1
        if kind == "upsamplers":
            slot = 2 if attention_up[block] else 1
            return f"output_blocks.{per_block * block + layers}.{slot}.{rest}"
        n = per_block * block + index
        if kind == "resnets":
            return f"output_blocks.{n}.0.{_rename_resnet(rest, _UNET_RESNET)}"
        return f"output_blocks.{n}.1.{rest}"
    raise CheckpointError(f"inst: no ldm name for the diffusers UNet key {key!r}")


def _vae_key(key: str, levels: int) -> str:
    """One diffusers ``AutoencoderKL`` key -> its ldm ``first_stage_model.*`` name."""
    parts = key.split(".")
    side = parts[0]
    if side in ("quant_conv", "post_quant_conv"):
        return key
    rest = ".".join(parts[1:])
    if rest.startswith("conv_norm_out."):
        return f"{side}.norm_out.{rest.removeprefix('conv_norm_out.')}"
    if rest.startswith(("conv_in.", "conv_out.")):
        return key
    sub = parts[1:]
    if sub[0] in ("down_blocks", "up_blocks"):
        level = int(sub[1]) if sub[0] == "down_blocks" else levels - 1 - int(sub[1])
        stage = "down" if sub[0] == "down_blocks" else "up"
        if sub[2] in ("downsamplers", "upsamplers"):
            sampler = "downsample" if sub[2] == "downsamplers" else "upsample"
            return f"{side}.{stage}.{level}.{sampler}.{'.'.join(sub[4:])}"
        inner = _rename_resnet(".".join(sub[4:]), {"conv_shortcut": "nin_shortcut"})
        return f"{side}.{stage}.{level}.block.{sub[3]}.{inner}"
    if sub[0] == "mid_block":
        tail = ".".join(sub[3:])
        if sub[1] == "resnets":
            return f"{side}.mid.block_{int(sub[2]) + 1}.{tail}"
        module, _, leaf = tail.rpartition(".")
        return f"{side}.mid.attn_1.{_VAE_ATTENTION[module]}.{leaf}"
    raise CheckpointError(f"inst: no ldm name for the diffusers VAE key {key!r}")


def ldm_state_from_diffusers(
    unet: Mapping[str, torch.Tensor],
    vae: Mapping[str, torch.Tensor],
    text: Mapping[str, torch.Tensor],
    unet_config: dict[str, Any],
) -> dict[str, torch.Tensor]:
    """The inverse of :func:`convert_ldm_state`: diffusers UNet/VAE and transformers text-encoder state dicts ->
    one ldm ``state_dict`` (``model.diffusion_model.*``, ``first_stage_model.*``, ``cond_stage_model.transformer.*``).

    The VAE mid-block attention's linear weights become the ldm 1x1 convolutions again, and the text encoder's
    ``position_ids`` buffer (which the ldm file carries and transformers does not persist) is added.
    """
    layers = int(unet_config["layers_per_block"])
    attention_up = tuple(t.startswith("CrossAttn") for t in unet_config["up_block_types"])
    levels = _count_levels(vae, "encoder.down_blocks.")
    out: dict[str, torch.Tensor] = {}
    for key, value in unet.items():
        out[UNET_PREFIX + _unet_key(key, layers, attention_up)] = value
    for key, value in vae.items():
        name = _vae_key(key, levels)
        if ".mid.attn_1." in name and name.endswith(".weight") and value.dim() == 2:
            value = value.reshape(*value.shape, 1, 1)
        out[VAE_PREFIX + name] = value
    for key, value in text.items():
        out[TEXT_PREFIX + TEXT_MODEL_PREFIX + key.removeprefix(TEXT_MODEL_PREFIX)] = value
    positions_key = TEXT_PREFIX + TEXT_MODEL_PREFIX + TEXT_BUFFERS[0]
    if positions_key not in out:
        n_positions = int(text[TEXT_BUFFERS[0].replace("position_ids", "position_embedding.weight")].shape[0])
        out[positions_key] = torch.arange(n_positions, device=next(iter(text.values())).device).unsqueeze(0)
    return out
