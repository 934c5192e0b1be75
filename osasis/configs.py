"""Named network configurations (field names follow the official DiffAE / guided-diffusion configs).

Full-size configs reproduce the released checkpoints exactly; the tiny ones share the same code paths and are
used by the unit tests; the ``smoke64`` pair is small enough to train on a CPU in minutes.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, replace
from typing import Any

from benchmark.errors import ConfigError


@dataclass(frozen=True)
class LatentNetConfig:
    """DiffAE latent DPM (``MLPSkipNet``): an MLP that re-injects its input into every hidden layer."""

    num_channels: int = 512
    num_hid_channels: int = 2048
    num_layers: int = 10
    skip_layers: tuple[int, ...] = tuple(range(1, 10))
    num_time_emb_channels: int = 64
    num_time_layers: int = 2
    time_last_act: bool = False
    use_norm: bool = True
    condition_bias: float = 1.0
    dropout: float = 0.0


@dataclass(frozen=True)
class DiffAEConfig:
    """DiffAE autoencoder (``BeatGANsAutoencModel``): conditional UNet + semantic encoder (+ optional latent net)."""

    image_size: int = 256
    in_channels: int = 3
    out_channels: int = 3
    model_channels: int = 128
    channel_mult: tuple[int, ...] = (1, 1, 2, 2, 4, 4)
    num_res_blocks: int = 2
    num_input_res_blocks: int | None = None
    attention_resolutions: tuple[int, ...] = (16,)
    embed_channels: int = 512
    dropout: float = 0.1
    num_heads: int = 1
    num_head_channels: int = -1
    resblock_updown: bool = True
    conv_resample: bool = True
    resnet_use_zero_module: bool = True
    enc_out_channels: int = 512
    enc_channel_mult: tuple[int, ...] | None = (1, 1, 2, 2, 4, 4, 4)
    enc_num_res_block: int = 2
    enc_attn_resolutions: tuple[int, ...] | None = None
    latent_net: LatentNetConfig | None = None
    #: UNet levels (0 = full resolution) that receive z_style in mixing mode (official ``ref_cond_scale``).
    style_levels: tuple[int, ...] = (0, 1, 2, 3)

    @property
    def num_levels(self) -> int:
        return len(self.channel_mult)

    def with_latent_net(self, latent: LatentNetConfig | None) -> DiffAEConfig:
        return replace(self, latent_net=latent)


@dataclass(frozen=True)
class SPNConfig:
    """Structure-Preserving Network (OSASIS ``MappingNetTime``): per-pixel 1x1 convs with timestep FiLM."""

    in_channels: int = 3
    channels: tuple[int, int, int] = (128, 256, 128)
    time_channels: int = 128
    embed_channels: int = 512
    num_groups: int = 32


@dataclass(frozen=True)
class ADMConfig:
    """guided-diffusion ``UNetModel`` (P2-weighting FFHQ model): learned sigma, scale-shift norm."""

    image_size: int = 256
    in_channels: int = 3
    model_channels: int = 128
    learn_sigma: bool = True
    channel_mult: tuple[int, ...] = (1, 1, 2, 2, 4, 4)
    num_res_blocks: int = 1
    attention_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.0
    num_heads: int = 4
    num_head_channels: int = 64
    num_heads_upsample: int = -1
    use_scale_shift_norm: bool = True
    resblock_updown: bool = True
    conv_resample: bool = True

    @property
    def out_channels(self) -> int:
        return self.in_channels * (2 if self.learn_sigma else 1)


FFHQ_LATENT = LatentNetConfig()

_DIFFAE_FFHQ256 = DiffAEConfig()
_CONFIGS: dict[str, Any] = {
    "diffae_ffhq256": _DIFFAE_FFHQ256,
    "diffae_latent_ffhq256": _DIFFAE_FFHQ256.with_latent_net(FFHQ_LATENT),
    "latent_ffhq256": FFHQ_LATENT,
    "p2_ffhq256": ADMConfig(),
    "spn_default": SPNConfig(),
    # --- tiny test configs (32x32, base 16-32 channels) ---
    "diffae_tiny32": DiffAEConfig(
        image_size=32, model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1, attention_resolutions=(16,),
        embed_channels=32, enc_out_channels=32, enc_channel_mult=(1, 2, 2, 2), enc_num_res_block=1, dropout=0.0,
        style_levels=(0, 1),
    ),
    "latent_tiny": LatentNetConfig(num_channels=32, num_hid_channels=64, num_layers=4, skip_layers=(1, 2, 3),
                                   num_time_emb_channels=16),
    "p2_tiny32": ADMConfig(image_size=32, model_channels=32, channel_mult=(1, 2), num_res_blocks=1,
                           attention_resolutions=(16,), num_head_channels=32),
    "spn_tiny": SPNConfig(channels=(32, 64, 32), time_channels=16, embed_channels=32, num_groups=8),
    # --- CPU-trainable smoke models (64x64, a few M parameters) ---
    "diffae_smoke64": DiffAEConfig(
        image_size=64, model_channels=32, channel_mult=(1, 2, 2, 4), num_res_blocks=1, attention_resolutions=(16,),
        embed_channels=128, enc_out_channels=128, enc_channel_mult=(1, 2, 2, 4, 4), enc_num_res_block=1,
        dropout=0.0, style_levels=(0, 1),
    ),
    "p2_smoke64": ADMConfig(image_size=64, model_channels=32, channel_mult=(1, 2, 2, 4), num_res_blocks=1,
                            attention_resolutions=(16,), num_head_channels=32),
}  # fmt: skip
_CONFIGS["diffae_latent_tiny32"] = _CONFIGS["diffae_tiny32"].with_latent_net(_CONFIGS["latent_tiny"])


def config_names() -> list[str]:
    """All named configurations."""
    return sorted(_CONFIGS)


def get_config(name: str | Any) -> Any:
    """A named configuration, or ``module:ATTR`` for a config object defined elsewhere (e.g. the smoke models'
    ``benchmark.pretrain.configs:DIFFAE_SMOKE``); config objects are passed through unchanged."""
    if not isinstance(name, str):
        return name
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot resolve osasis config {name!r}: {exc}") from exc
    if name not in _CONFIGS:
        raise ConfigError(f"unknown osasis config '{name}'; known: {', '.join(config_names())}")
    return _CONFIGS[name]


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain-dict view of a config (for checkpoint metadata)."""
    return {"class": type(config).__name__, **asdict(config)}


__all__ = ["ADMConfig", "DiffAEConfig", "LatentNetConfig", "SPNConfig", "config_names", "config_to_dict",
           "get_config"]
