"""HFGI (Wang et al., CVPR 2022): e4e W+ codes plus a distortion-consultation branch.

Modules: :mod:`~baselines.hfgi.networks` (``ResidualEncoder`` = ``residue``, ``ResidualAligner`` =
``grid_align``), :mod:`~baselines.hfgi.checkpoint` (official ``ckpt.pt`` layout), :mod:`~baselines.hfgi.inverter`
(official inference, and the inverter the GAN baselines use through ``baselines.jojogan.inverters``).
"""

from baselines.hfgi.checkpoint import HFGIWeights, load_hfgi, save_hfgi
from baselines.hfgi.inverter import HFGIInversion, HFGIInverter
from baselines.hfgi.networks import HFGIConfig, ResidualAligner, ResidualEncoder

__all__ = [
    "HFGIConfig",
    "HFGIInversion",
    "HFGIInverter",
    "HFGIWeights",
    "ResidualAligner",
    "ResidualEncoder",
    "load_hfgi",
    "save_hfgi",
]
