"""Mind the Gap (Zhu et al., ICLR 2022): II2S embedding of the reference, CLIP-guided two-generator fine-tuning.

Modules: :mod:`~baselines.mtg.losses` (bicubic ↓, CLIP direction terms, embedders),
:mod:`~baselines.mtg.ii2s` (II2S embedding with the PCA p-norm prior), :mod:`~baselines.mtg.finetune`
(the released training loop), :mod:`~baselines.mtg.checkpoint` (the released per-style file layout),
:mod:`~baselines.mtg.method` (the ``mtg`` benchmark method).
"""
