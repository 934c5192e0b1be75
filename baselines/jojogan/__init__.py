"""JoJoGAN baseline: W+ inversion, mixed-code D-feature fine-tuning, one-pass stylisation.

Modules: :mod:`~baselines.jojogan.finetune` (recipe), :mod:`~baselines.jojogan.inverters`
(e4e / projector / hfgi hook), :mod:`~baselines.jojogan.method` (the ``jojogan`` benchmark method).
"""
