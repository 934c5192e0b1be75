"""InST (Zhang et al., CVPR 2023): inversion-based style transfer on Stable Diffusion v1.4."""

import benchmark  # noqa: F401  (its torchvision shim must run before diffusers/open_clip import torchvision)
