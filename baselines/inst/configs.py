"""Architectures of Stable Diffusion v1.4 and of the smoke-sized latent diffusion model (committed, no hub).

``SD14`` are the diffusers/transformers configs of ``sd-v1-4.ckpt`` (ldm ``v1-inference.yaml``: UNet 320-640-1280-1280
with cross-attention context 768, KL-f8 VAE with 4 latent channels, OpenAI CLIP ViT-L/14 text tower) and the
ViT-L/14 image tower InST's embedding manager reads. ``SMOKE`` is a tiny model of the same classes: 64-px images,
a 4x-downsampling VAE (16x16x4 latents), a two-level UNet and a one-layer 768-wide text encoder, so the embedding
manager keeps its official size (768, 8 heads of 64).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: ldm ``make_beta_schedule("linear", 1000, 0.00085, 0.012)``: β = linspace(√0.00085, √0.012)²
#: (diffusers calls it "scaled_linear").
BETA_START, BETA_END, NUM_TRAIN_TIMESTEPS = 0.00085, 0.012, 1000
LATENT_SCALE = 0.18215
CONTEXT_DIM = 768
MAX_LENGTH = 77

SD14_UNET: dict[str, Any] = {
    "sample_size": 64, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
    "block_out_channels": [320, 640, 1280, 1280],
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "cross_attention_dim": CONTEXT_DIM, "attention_head_dim": 8, "norm_num_groups": 32, "norm_eps": 1e-5,
    "act_fn": "silu", "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "center_input_sample": False,
    "mid_block_scale_factor": 1,
}  # fmt: skip
SD14_VAE: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2,
    "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4, "norm_num_groups": 32, "act_fn": "silu", "sample_size": 512,
    "scaling_factor": LATENT_SCALE,
}  # fmt: skip
SD14_TEXT: dict[str, Any] = {
    "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
    "num_attention_heads": 12, "max_position_embeddings": MAX_LENGTH, "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5, "projection_dim": 768, "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407,
}  # fmt: skip
CLIP_L14_VISION: dict[str, Any] = {
    "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
    "image_size": 224, "patch_size": 14, "projection_dim": 768, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
}  # fmt: skip

SMOKE_UNET: dict[str, Any] = {
    **SD14_UNET, "sample_size": 16, "layers_per_block": 1, "block_out_channels": [32, 64],
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "attention_head_dim": 4,
}  # fmt: skip
SMOKE_VAE: dict[str, Any] = {
    **SD14_VAE, "layers_per_block": 1, "block_out_channels": [32, 32, 64],
    "down_block_types": ["DownEncoderBlock2D"] * 3,
    "up_block_types": ["UpDecoderBlock2D"] * 3, "sample_size": 64,
}  # fmt: skip
SMOKE_TEXT: dict[str, Any] = {**SD14_TEXT, "intermediate_size": 768, "num_hidden_layers": 1, "num_attention_heads": 12}


@dataclass(frozen=True)
class LDMArchitecture:
    """The three networks of a latent diffusion model plus its image size (pixels) and latent downsampling."""

    name: str
    unet: dict[str, Any] = field(hash=False)
    vae: dict[str, Any] = field(hash=False)
    text: dict[str, Any] = field(hash=False)
    image_size: int

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.vae["block_out_channels"]) - 1)


SD14 = LDMArchitecture("sd-v1-4", SD14_UNET, SD14_VAE, SD14_TEXT, 512)
SMOKE = LDMArchitecture("smoke-ldm64", SMOKE_UNET, SMOKE_VAE, SMOKE_TEXT, 64)
ARCHITECTURES = {a.name: a for a in (SD14, SMOKE)}


def build_unet(config: dict[str, Any]):  # noqa: ANN201 - diffusers types imported lazily
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**config)


def build_vae(config: dict[str, Any]):  # noqa: ANN201
    from diffusers import AutoencoderKL

    return AutoencoderKL(**config)


def build_text_encoder(config: dict[str, Any]):  # noqa: ANN201
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(**config)).eval()


def build_vision_tower(config: dict[str, Any] = CLIP_L14_VISION):  # noqa: ANN201
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    return CLIPVisionModelWithProjection(CLIPVisionConfig(**config)).eval()
