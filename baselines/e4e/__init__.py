"""e4e encoder (encoder4editing) for StyleGAN2 W+ inversion."""

from baselines.e4e.checkpoint import infer_e4e_config, load_e4e, save_e4e
from baselines.e4e.encoder import E4EConfig, Encoder4Editing

__all__ = ["E4EConfig", "Encoder4Editing", "infer_e4e_config", "load_e4e", "save_e4e"]
