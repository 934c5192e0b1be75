"""The OSASIS method's parameters (its ``method_cfg.osasis`` section). Defaults = the official recipe."""

from __future__ import annotations

from dataclasses import dataclass, field

EMBEDDERS = ("clip-vit-b32", "vgg16-imagenet", "clip-vit-b32-random", "clip-tiny-smoke")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass
class OSASISConfig:
    """Every knob of the OSASIS method. Model files are manifest asset names; ``*_path`` overrides them."""

    # ---- models (asset name or explicit path, plus a named osasis config for each)
    diffae: str = "diffae_ffhq256_autoenc"
    diffae_path: str | None = None
    diffae_config: str = "diffae_ffhq256"
    latent: str = "diffae_ffhq256_autoenc_latent"
    latent_path: str | None = None
    latent_config: str = "diffae_latent_ffhq256"
    latent_stats: str = "diffae_ffhq256_latent_stats"
    latent_stats_path: str | None = None
    p2: str = "p2_ffhq256"
    p2_path: str | None = None
    p2_config: str = "p2_ffhq256"
    spn_config: str = "spn_default"
    clip: str = "clip-vit-b32-openai"
    clip_path: str | None = None
    # ---- released fine-tuned model instead of training (asset name or path of an official iter_N.pt)
    pretrained_style: str | None = None
    pretrained_style_path: str | None = None
    # ---- photoreal counterpart I_A^style (P2 SDEdit)
    style_pair_respacing: int = 50
    style_pair_t_start_ratio: float = 0.5
    style_pair_n: int = 1
    style_pair_cache: str | None = None  # None: $OSASIS_BENCH_CACHE/osasis/style_pair
    # ---- embedder E(.) of the CLIP losses
    embedder: str = "clip-vit-b32"
    clip_preprocess: str = "official"  # official: nearest resize of [-1,1], no CLIP norm; clip: bicubic + mean/std
    # ---- fine-tuning
    iterations: int = 200
    train_batch_size: int = 8
    latent_steps: int = 200
    sample_steps: int = 20
    t0: int = 500
    train_grids: list[int] = field(default_factory=lambda: [50, 20])  # (inversion grid, reverse grid)
    lr_unet: float = 5e-6
    lr_spn: float = 1e-4
    w_cross: float = 1.0
    w_in: float = 0.5
    w_recon_clip: float = 30.0
    w_recon_l1: float = 10.0
    w_recon_lpips: float = 10.0
    style_branch_spn_weight: float = 1.0
    style_branch_code: str = "photoreal"  # photoreal: Enc(I_A^style) (official); style: Enc(I_B^style)
    dropout_during_finetune: bool = True
    checkpoint_every: int = 10  # resumable training state every N iterations
    sample_every: int = 50  # sample grid PNG every N iterations (0: never)
    state_dir: str | None = None  # None: $OSASIS_BENCH_CACHE/osasis/train/<run key>
    keep_train_state: bool = False
    save_half: bool = False
    # ---- fine-tuning recipe (docs/OSASIS.md "Fast recipe"): official | fast
    recipe: str = "official"
    gen_batch: int = 64  # fast: synthetic images generated + inverted per batched call
    attention: str = "auto"  # auto: sdpa for the fast recipe, einsum (the official formula) otherwise
    compile: bool = False  # torch.compile ε^B during fine-tuning
    grad_checkpoint: bool = False  # recompute UNet blocks in backward (lower peak memory, same gradients)
    # ---- inference
    infer_grids: list[int] = field(default_factory=lambda: [100, 50])
    use_spn: bool = True
    spn_weight: float = 0.1
    mix: str = "default"  # default | reversed (paper Fig. 8)
    mix_levels: list[int] | None = None  # None: the model config's style levels (official [0, 1, 2, 3])
    schedule: str = "official"  # official | consistent (see osasis.diffusion.structural)
    precision: str = "auto"  # auto: fp16 autocast on CUDA (official), fp32 on CPU
    # ---- text-driven editing (our choices; no official values exist)
    edit_embedder: str | None = None  # None: ``embedder`` if it is a CLIP one, else clip-vit-b32
    edit_steps: int = 50
    edit_lr: float = 0.01
    edit_reg: float = 0.1
    edit_decode_steps: int = 5
    edit_t0: int | None = None  # None: t0 (the stylization's); the noise level the edit optimises and renders at
    edit_render: str = "direct"  # direct: edited z into the ε^B pass; photo: ε^A renders the edit, then stylize

    def __post_init__(self) -> None:
        checks = {
            "embedder": (self.embedder, EMBEDDERS),
            "clip_preprocess": (self.clip_preprocess, ("official", "clip")),
            "style_branch_code": (self.style_branch_code, ("photoreal", "style")),
            "mix": (self.mix, ("default", "reversed")),
            "schedule": (self.schedule, ("official", "consistent")),
            "precision": (self.precision, PRECISIONS),
            "recipe": (self.recipe, ("official", "fast")),
            "attention": (self.attention, ("auto", "einsum", "sdpa")),
            "edit_embedder": (self.edit_embedder, (None, "clip-vit-b32", "clip-vit-b32-random", "clip-tiny-smoke")),
            "edit_render": (self.edit_render, ("direct", "photo")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        for name in ("train_grids", "infer_grids"):
            if len(getattr(self, name)) != 2:
                raise ValueError(f"{name} must be [inversion grid, reverse grid]")
        if self.iterations < 0 or self.train_batch_size < 1 or self.checkpoint_every < 1:
            raise ValueError("iterations >= 0, train_batch_size >= 1 and checkpoint_every >= 1 are required")
        if self.style_pair_n < 1:
            raise ValueError("style_pair_n must be >= 1")
        if self.gen_batch < 1:
            raise ValueError("gen_batch must be >= 1")

    @property
    def effective_attention(self) -> str:
        """The attention kernel used while fine-tuning (``auto``: sdpa for the fast recipe)."""
        if self.attention == "auto":
            return "sdpa" if self.recipe == "fast" else "einsum"
        return self.attention

    @property
    def effective_spn_weight(self) -> float:
        """λ_SPN at inference and in the content branch (0 when ``use_spn`` is false: the w/o SPN ablation)."""
        return self.spn_weight if self.use_spn else 0.0

    @property
    def effective_style_spn_weight(self) -> float:
        """SPN weight of the training style branch (0 without SPN)."""
        return self.style_branch_spn_weight if self.use_spn else 0.0
