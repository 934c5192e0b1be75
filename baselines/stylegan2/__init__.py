"""StyleGAN2 generator and discriminator in plain PyTorch (rosinality checkpoint layout)."""

from baselines.stylegan2.checkpoint import (
    infer_config,
    load_discriminator,
    load_generator,
    official_state,
    save_official,
)
from baselines.stylegan2.model import Discriminator, Generator, StyleGAN2Config

__all__ = [
    "Discriminator",
    "Generator",
    "StyleGAN2Config",
    "infer_config",
    "load_discriminator",
    "load_generator",
    "official_state",
    "save_official",
]
