"""OSASIS core: DiffAE / ADM / SPN networks in the official parameter layouts, DDIM/DDPM samplers, loaders.

Stable public names (see :mod:`osasis.api` for the workflow functions)::

    configs:   get_config, config_names, DiffAEConfig, ADMConfig, SPNConfig, LatentNetConfig
    networks:  DiffAEAutoencoder, MixSpec, SPN, ADMUNet, MLPSkipNet
    build:     build_diffae, build_spn, build_p2, build_latent_net
    load/save: load_diffae, load_latent_stats, load_latent_net, load_osasis, load_p2, LatentStats,
               save_diffae_lightning, save_latent_stats, save_osasis, save_p2
    diffusion: Schedule, structural_schedule, StructuralSchedule, ddim_step, ddpm_step, q_sample,
               sample_loop, spn_ddim_step, StepOutput
    workflow:  encode, invert, reverse, reverse_step, stylize, sample_latent, sample_images, sdedit
"""

from osasis.api import (
    DEFAULT_SPN_WEIGHT,
    DEFAULT_T0,
    build_diffae,
    build_latent_net,
    build_p2,
    build_spn,
    diffae_cond,
    encode,
    invert,
    reverse,
    reverse_step,
    sample_images,
    sample_latent,
    sdedit,
    stylize,
)
from osasis.configs import ADMConfig, DiffAEConfig, LatentNetConfig, SPNConfig, config_names, get_config
from osasis.diffusion.loops import sample_loop, spn_ddim_step
from osasis.diffusion.schedule import Schedule, ddim_timesteps, space_timesteps
from osasis.diffusion.steps import StepOutput, ddim_step, ddpm_step, q_sample
from osasis.diffusion.structural import StructuralSchedule, structural_schedule
from osasis.networks.adm_unet import ADMUNet
from osasis.networks.diffae_unet import DiffAEAutoencoder, MixSpec
from osasis.networks.latentnet import MLPSkipNet
from osasis.networks.spn import SPN
from osasis.weights import (
    LatentStats,
    load_diffae,
    load_latent_net,
    load_latent_stats,
    load_osasis,
    load_p2,
    save_diffae_lightning,
    save_latent_stats,
    save_osasis,
    save_p2,
)

__all__ = [
    "ADMConfig", "ADMUNet", "DEFAULT_SPN_WEIGHT", "DEFAULT_T0", "DiffAEAutoencoder", "DiffAEConfig", "LatentNetConfig",
    "LatentStats", "MLPSkipNet", "MixSpec", "SPN", "SPNConfig", "Schedule", "StepOutput", "StructuralSchedule",
    "build_diffae", "build_latent_net", "build_p2", "build_spn", "config_names", "ddim_step", "ddim_timesteps",
    "ddpm_step", "diffae_cond", "encode", "get_config", "invert", "load_diffae", "load_latent_net",
    "load_latent_stats", "load_osasis", "load_p2", "q_sample", "reverse", "reverse_step", "sample_images",
    "sample_latent", "sample_loop", "save_diffae_lightning", "save_latent_stats", "save_osasis", "save_p2", "sdedit",
    "space_timesteps", "spn_ddim_step", "structural_schedule", "stylize",
]  # fmt: skip
