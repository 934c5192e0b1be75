"""DiffuseIT baseline: training-free image-guided DDPM translation with ViT structure/style guidance.

Modules: :mod:`~baselines.diffuseit.guides` (the feature networks the losses read: DINO ViT-B/8, ArcFace IR-SE50,
and the smoke stand-in VGG16), :mod:`~baselines.diffuseit.losses` (the loss terms),
:mod:`~baselines.diffuseit.sampler` (the guided sampler with repeats and range restarts),
:mod:`~baselines.diffuseit.color_match` (the ``mkl`` colour transfer), :mod:`~baselines.diffuseit.method`
(the ``diffuseit`` benchmark method).
"""
