"""Loading the networks: Stable Diffusion v1.4 from ``sd-v1-4.ckpt``, the ViT-L/14 image tower, the smoke model.

* :func:`load_sd14`: ldm checkpoint -> :func:`baselines.inst.convert.convert_ldm_state` -> diffusers/transformers
  models built from :mod:`baselines.inst.configs`, strict loading with named errors.
* :func:`load_clip_vision`: ``CLIPVisionModelWithProjection`` from the ``vision_model.*`` and
  ``visual_projection.weight`` tensors of OpenAI's ``openai/clip-vit-large-patch14`` ``model.safetensors``.
* The smoke model file (:func:`save_smoke_ldm` / :func:`load_smoke_ldm`): ``{"arch", "unet", "vae", "text",
  "token_embedding": {"seed", "std", "sha256"}}`` read with ``weights_only=True``. The text encoder is frozen at its
  random initialisation (as SD's is frozen at CLIP's), so its 49408 x 768 token table (76 MB in fp16) is not stored
  but regenerated from its seed and checked against the recorded sha256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from baselines.inst import configs as C
from baselines.inst.convert import convert_ldm_state, read_sd_checkpoint
from baselines.inst.diffusion import LatentDiffusion
from benchmark.checkpoints import load_state_strict, load_tensors, require_keys, skipped_init
from benchmark.errors import CheckpointError

TOKEN_KEY = "embeddings.token_embedding.weight"


def load_sd14(path: str | Path) -> LatentDiffusion:
    """Stable Diffusion v1.4 (UNet, VAE, text encoder) from the official ldm checkpoint."""
    parts = convert_ldm_state(read_sd_checkpoint(path), C.SD14_UNET)
    with skipped_init():
        unet, vae, text = C.build_unet(C.SD14_UNET), C.build_vae(C.SD14_VAE), C.build_text_encoder(C.SD14_TEXT)
    for name, module in (("unet", unet), ("vae", vae), ("text", text)):
        # diffusers and transformers modules take their tensors over (their own loaders do the same)
        load_state_strict(module, parts[name], path, f"Stable Diffusion v1.4 {name}", assign=True)
    return LatentDiffusion(C.SD14, unet, vae, text)


def load_clip_vision(path: str | Path, config: dict[str, Any] = C.CLIP_L14_VISION) -> torch.nn.Module:
    """OpenAI CLIP ViT-L/14 image tower + projection from the HF ``model.safetensors`` (or a vision-only file)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"CLIP ViT-L/14: file not found: {path}")
    try:
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"CLIP ViT-L/14: cannot read safetensors file {path}: {exc}") from exc
    with skipped_init():
        model = C.build_vision_tower(config)
    load_state_strict(model, vision_state(state, model), path, "CLIP ViT-L/14 image tower")
    return model.eval()


def vision_state(state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The image-tower entries of a CLIPModel state dict, with ``position_ids`` buffers matched to ``model`` (older
    transformers saved them as persistent buffers, transformers 5 does not)."""
    own = model.state_dict()
    out = {k: v for k, v in state.items() if k.startswith(("vision_model.", "visual_projection."))}
    out = {k: v for k, v in out.items() if not k.endswith("position_ids") or k in own}
    out.update({k: v for k, v in own.items() if k.endswith("position_ids") and k not in out})
    return out


def token_table(seed: int, vocab: int, dim: int, std: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(vocab, dim, generator=gen) * std


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def save_smoke_ldm(path: str | Path, ldm: LatentDiffusion, token_seed: int, token_std: float) -> Path:
    """Write the smoke model (fp16 UNet/VAE/text weights, the token table as seed + digest)."""
    from osasis.method.checkpoint import atomic_save

    text = {k: v for k, v in ldm.text_encoder.state_dict().items() if k != TOKEN_KEY}
    table = ldm.text_encoder.state_dict()[TOKEN_KEY].float().cpu()
    expected = token_table(token_seed, *table.shape, token_std)
    if not torch.equal(table, expected):
        raise ValueError("the text encoder's token table is not the seeded one; it cannot be stored as a seed")

    def half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in state.items()}

    return atomic_save({"arch": ldm.arch.name, "unet": half(ldm.unet.state_dict()), "vae": half(ldm.vae.state_dict()),
                        "text": half(text), "token_embedding": {"seed": token_seed, "std": token_std,
                                                                "sha256": _digest(expected)}}, path)  # fmt: skip


def load_smoke_ldm(path: str | Path) -> LatentDiffusion:
    """The committed smoke latent diffusion model (float32 in memory)."""
    what = "InST smoke latent diffusion model"
    raw = require_keys(load_tensors(path, what), ["arch", "unet", "vae", "text", "token_embedding"], path, what)
    arch = C.ARCHITECTURES.get(str(raw["arch"]))
    if arch is None:
        raise CheckpointError(f"{what}: {path} names an unknown architecture {raw['arch']!r}")
    with skipped_init():
        unet, vae, text = C.build_unet(arch.unet), C.build_vae(arch.vae), C.build_text_encoder(arch.text)
    tok: dict[str, Any] = raw["token_embedding"]
    table = token_table(int(tok["seed"]), arch.text["vocab_size"], arch.text["hidden_size"], float(tok["std"]))
    if _digest(table) != tok["sha256"]:
        raise CheckpointError(f"{what}: the token table regenerated from seed {tok['seed']} does not match {path}'s "
                              "digest (a different torch random generator?)")  # fmt: skip
    text_state = {k: v.float() for k, v in raw["text"].items()} | {TOKEN_KEY: table}
    for name, module, state in (("unet", unet, raw["unet"]), ("vae", vae, raw["vae"]), ("text", text, text_state)):
        load_state_strict(module, {k: v.float() for k, v in state.items()}, path, f"{what} ({name})")
    return LatentDiffusion(arch, unet, vae, text)


#: Classes the official ``embeddings.pt`` pickles (the whole ``Attentions`` module): all become inert stubs. torch.save
#: writes pickle protocol 2, which names ``set`` (a module's ``_non_persistent_buffers_set``) ``__builtin__.set``; the
#: restricted loader allow-lists exactly that pair (and ``frozenset``), so no Python-2 module needs a stub.
EMBEDDING_STUB_MODULES = ("ldm", "torch.nn.modules", "diffusers", "__main__")


def _stub_state(obj: Any, path: Path) -> dict[str, Any]:
    state = getattr(obj, "state", None)
    if not isinstance(state, dict):
        raise CheckpointError(f"InST embedding: {path} does not hold a pickled torch module where one is expected")
    return state


def _walk_module(obj: Any, path: Path, prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, bool]]:
    """Parameters/buffers and ``training`` flags of a stubbed, pickled ``nn.Module`` tree."""
    state = _stub_state(obj, path)
    tensors: dict[str, torch.Tensor] = {}
    flags = {prefix.rstrip(".") or "<root>": bool(state.get("training", False))}
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if value is not None:
                tensors[prefix + name] = value.detach() if isinstance(value, torch.Tensor) else value
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            sub, sub_flags = _walk_module(child, path, f"{prefix}{name}.")
            tensors.update(sub)
            flags.update(sub_flags)
    return tensors, flags


def load_official_embedding(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, int], bool]:
    """(attention state dict, string_to_token, whether the pickled module was in training mode) of an official
    InST ``embeddings.pt`` (``{"string_to_token": {"*": tensor(id)}, "attention": <pickled Attentions>}``)."""
    from benchmark.checkpoints import load_restricted

    path = Path(path)
    what = "InST style embedding (embeddings.pt)"
    raw = require_keys(load_restricted(path, what, stub_modules=EMBEDDING_STUB_MODULES),
                       ["string_to_token", "attention"], path, what)  # fmt: skip
    tokens = {str(k): int(v) for k, v in dict(raw["string_to_token"]).items()}
    tensors, flags = _walk_module(raw["attention"], path)
    return tensors, tokens, any(flags.values())
