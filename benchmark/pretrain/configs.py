"""Architectures of the smoke models (passed as config objects to the ``osasis`` / ``baselines`` loaders).

Sized for training on a shared 2-core CPU: 32 channels at 64x64 and 32x32, 64 below, attention only at 8x8
(32 is the minimum width of the official blocks: GroupNorm with 32 groups).
"""

from __future__ import annotations

from baselines.stylegan2.model import StyleGAN2Config
from osasis.configs import ADMConfig, DiffAEConfig, LatentNetConfig

RESOLUTION = 64

#: DiffAE autoencoder: UNet 64-32-16-8 (32/32/64/64 ch) + semantic encoder down to 4x4, z_sem of 128.
DIFFAE_SMOKE = DiffAEConfig(
    image_size=RESOLUTION, model_channels=32, channel_mult=(1, 1, 2, 2), num_res_blocks=1,
    attention_resolutions=(8,), embed_channels=128, enc_out_channels=128, enc_channel_mult=(1, 2, 2, 2, 2),
    enc_num_res_block=1, dropout=0.0, style_levels=(0, 1),
)  # fmt: skip

#: Latent DPM on normalised z_sem (the official one is 10 x 2048 on 512-d codes).
LATENT_SMOKE = LatentNetConfig(num_channels=128, num_hid_channels=256, num_layers=6, skip_layers=(1, 2, 3, 4, 5),
                               num_time_emb_channels=64)  # fmt: skip

DIFFAE_LATENT_SMOKE = DIFFAE_SMOKE.with_latent_net(LATENT_SMOKE)

#: P2-style ADM with learned variance (official: 128 ch, (1, 1, 2, 2, 4, 4), attention at 16).
P2_SMOKE = ADMConfig(image_size=RESOLUTION, model_channels=32, channel_mult=(1, 1, 2, 2), num_res_blocks=1,
                     attention_resolutions=(8,), num_head_channels=32)  # fmt: skip

#: StyleGAN2 G/D: widths 4:128 8:128 16:64 32:32 64:16, 128-d W, 4-layer mapping.
STYLEGAN2_SMOKE = StyleGAN2Config(size=RESOLUTION, style_dim=128, n_mlp=4, channel_base=1024, max_channels=128)
