"""Random-weight files in the exact official layouts, at full size, for every model asset of the paper profile.

Each writer builds the suite's own network at its official configuration with the module's default
initialisation under a seed derived from ``(seed, asset name)`` and stores it with the suite's own saver in the
released file layout, so the paper profile's loaders read these files exactly as they read the real ones:

* DiffAE ``last.ckpt`` (autoencoder; latent autoencoder with ``conds_*``), ``latent.pkl``, P2 / DiffuseIT ADM
  state dicts, OSASIS ``iter_200.pt`` (with Adam states): :mod:`osasis.weights` savers;
* StyleGAN2 config-f (``g``, ``g_ema``, ``d``, ``latent_avg``), e4e, HFGI, MTG: the baselines' savers;
* ``sd-v1-4.ckpt``: diffusers/transformers modules mapped back to ldm names
  (:func:`baselines.inst.convert.ldm_state_from_diffusers`); the HF ``clip-vit-large-patch14`` safetensors; InST's
  ``embeddings.pt`` (a pickled ``ldm.modules.embedding_manager.Attentions``, as ``EmbeddingManager.save`` writes);
* metric networks: FID / art Inception, IR-SE50, DINO ViT-B/8 state dicts; OpenAI CLIP TorchScript archives
  (an open_clip model with OpenAI key names, traced, fp16 weights) that open_clip's ``load_openai_model`` reads
  through ``torch.jit.load`` as it reads the released files.

Files are deterministic: the same seed gives byte-identical files. They are random weights, never a result.
"""

from __future__ import annotations

import copy
import hashlib
import io
import multiprocessing
import os
import subprocess
import sys
import types
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmark import assets
from benchmark.atomic import atomic_write_bytes

#: ``conds`` of the official ``latent.pkl``: z_sem of the 70 000 FFHQ images.
FFHQ_IMAGES = 70_000
#: Iteration count in the OSASIS file name (``iter_200.pt``) and its Adam step count.
OSASIS_ITERATIONS = 200
#: Nominal Adam step count stored in the MTG per-style file's ``g_optim`` (never read by the loader).
MTG_STEPS = 600
#: Nominal ``global_step`` stored beside the ldm ``state_dict`` of ``sd-v1-4.ckpt`` (never read by the loader).
SD14_GLOBAL_STEP = 470_000


def _derived_seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "big")


@contextmanager
def _seeded(seed: int, name: str) -> Iterator[torch.Generator]:
    """Global torch RNG seeded for ``name`` (module default inits), restored afterwards; yields a generator too."""
    derived = _derived_seed(seed, name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived)
        yield torch.Generator().manual_seed(derived + 1)


def _torch_save(obj: object, path: Path) -> Path:
    from osasis.method.checkpoint import atomic_save

    return atomic_save(obj, path)


def _adam_state(params: list[nn.Parameter], steps: int, **hyper: object) -> dict:
    """An Adam ``state_dict`` with one state per parameter (zero moments after ``steps`` steps' bookkeeping)."""
    optimizer = torch.optim.Adam(params, **hyper)
    for p in params:
        optimizer.state[p] = {"step": torch.tensor(float(steps)), "exp_avg": torch.zeros_like(p),
                              "exp_avg_sq": torch.zeros_like(p)}  # fmt: skip
    return optimizer.state_dict()


def _no_zero_layers(model: nn.Module) -> nn.Module:
    """Re-draw, with torch's default init, the layers that diffusion UNets zero at construction (output convs of
    residual blocks and of the network), so the random network's output is not identically zero."""
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if isinstance(module, (nn.Conv2d, nn.Linear)) and weight is not None and not weight.any():
                module.reset_parameters()
    return model


# ------------------------------------------------------------------------------------------------- DiffAE, ADM
def _diffae_autoenc(path: Path, seed: int, name: str) -> None:
    from osasis.configs import get_config
    from osasis.networks.diffae_unet import DiffAEAutoencoder
    from osasis.weights import OFFICIAL_SAMPLE_SIZE, save_diffae_lightning

    cfg = get_config("diffae_ffhq256")
    with _seeded(seed, name) as gen:
        model = _no_zero_layers(DiffAEAutoencoder(cfg))
        x_T = torch.randn(OFFICIAL_SAMPLE_SIZE, cfg.in_channels, cfg.image_size, cfg.image_size, generator=gen)
    save_diffae_lightning(path, model, copy.deepcopy(model), x_T=x_T)


def _random_conds(gen: torch.Generator, channels: int = 512) -> torch.Tensor:
    return torch.randn(FFHQ_IMAGES, channels, generator=gen)


def _diffae_latent_stats(path: Path, seed: int, name: str) -> None:
    from osasis.weights import save_latent_stats

    with _seeded(seed, name) as gen:
        conds = _random_conds(gen)
    save_latent_stats(path, conds)


def _diffae_autoenc_latent(path: Path, seed: int, name: str) -> None:
    from osasis.configs import get_config
    from osasis.networks.diffae_unet import DiffAEAutoencoder
    from osasis.weights import OFFICIAL_SAMPLE_SIZE, LatentStats, save_diffae_lightning

    cfg = get_config("diffae_latent_ffhq256")
    with _seeded(seed, name) as gen:
        model = _no_zero_layers(DiffAEAutoencoder(cfg))
        x_T = torch.randn(OFFICIAL_SAMPLE_SIZE, cfg.in_channels, cfg.image_size, cfg.image_size, generator=gen)
        stats = LatentStats(torch.randn(cfg.enc_out_channels, generator=gen) * 0.1,
                            1.0 + torch.rand(cfg.enc_out_channels, generator=gen))  # fmt: skip
    save_diffae_lightning(path, model, copy.deepcopy(model), x_T=x_T, stats=stats)


def _osasis(path: Path, seed: int, name: str) -> None:
    from osasis.configs import get_config
    from osasis.networks.diffae_unet import DiffAEAutoencoder
    from osasis.networks.spn import SPN
    from osasis.weights import save_osasis

    with _seeded(seed, name):
        model = _no_zero_layers(DiffAEAutoencoder(get_config("diffae_latent_ffhq256")))
        spn = _no_zero_layers(SPN(get_config("spn_default")))
    unet_params = [p for n, p in model.named_parameters() if not n.startswith(("encoder.", "latent_net."))]
    save_osasis(path, model, spn, iteration=OSASIS_ITERATIONS,
                optim_model=_adam_state(unet_params, OSASIS_ITERATIONS, lr=5e-6),
                optim_spn=_adam_state(list(spn.parameters()), OSASIS_ITERATIONS, lr=1e-4))  # fmt: skip


def _adm_ffhq256(path: Path, seed: int, name: str) -> None:
    """P2's ``ffhq_p2.pt`` and DiffuseIT's ``ffhq_10m.pt``: plain state dicts of the same ADM configuration."""
    from osasis.configs import get_config
    from osasis.networks.adm_unet import ADMUNet
    from osasis.weights import save_p2

    with _seeded(seed, name):
        model = _no_zero_layers(ADMUNet(get_config("p2_ffhq256")))
    save_p2(path, model)


# ---------------------------------------------------------------------------------------------------- GAN side
def _stylegan_config_f():
    from baselines.stylegan2.model import StyleGAN2Config

    return StyleGAN2Config.official(1024, channel_multiplier=2)


def _w_average(g: nn.Module, gen: torch.Generator) -> torch.Tensor:
    with torch.no_grad():
        return g.mean_latent(4096, gen).reshape(-1)


def _stylegan2(path: Path, seed: int, name: str) -> None:
    from baselines.stylegan2.checkpoint import save_official
    from baselines.stylegan2.model import Discriminator, Generator

    cfg = _stylegan_config_f()
    with _seeded(seed, name) as gen:
        g = Generator(cfg)
        d = Discriminator(cfg)
        latent_avg = _w_average(g, gen)
    save_official(path, g=g, g_ema=copy.deepcopy(g), d=d, latent_avg=latent_avg)


def _e4e_parts(gen: torch.Generator):
    from baselines.e4e.encoder import E4EConfig, Encoder4Editing
    from baselines.stylegan2.model import Generator

    encoder, decoder = Encoder4Editing(E4EConfig()), Generator(_stylegan_config_f())
    latent_avg = _w_average(decoder, gen).expand(decoder.n_latent, -1).clone()
    return encoder, decoder, latent_avg


def _e4e(path: Path, seed: int, name: str) -> None:
    from baselines.e4e.checkpoint import save_e4e

    with _seeded(seed, name) as gen:
        encoder, decoder, latent_avg = _e4e_parts(gen)
    save_e4e(path, encoder, latent_avg, decoder)


def _hfgi(path: Path, seed: int, name: str) -> None:
    from baselines.hfgi.checkpoint import save_hfgi
    from baselines.hfgi.networks import HFGIConfig, ResidualAligner, ResidualEncoder

    cfg = HFGIConfig()
    with _seeded(seed, name) as gen:
        encoder, decoder, latent_avg = _e4e_parts(gen)
        residue, grid_align = ResidualEncoder(cfg.cond_channels, cfg.cond_size), ResidualAligner()
    save_hfgi(path, residue, grid_align, encoder=encoder, decoder=decoder, latent_avg=latent_avg,
              input_size=cfg.input_size)  # fmt: skip


def _mtg_style(path: Path, seed: int, name: str) -> None:
    from baselines.mtg.checkpoint import save_mtg
    from baselines.stylegan2.model import Generator

    with _seeded(seed, name) as gen:
        g = Generator(_stylegan_config_f())
        latent_avg = _w_average(g, gen)
        style_latent = latent_avg.expand(1, g.n_latent, -1) + 0.1 * torch.randn(1, g.n_latent, g.style_dim,
                                                                                 generator=gen)  # fmt: skip
    # rosinality-style generator optimiser: Adam(lr=0.002 * r, betas=(0, 0.99 ** r)), lazy-regularisation r = 4/5
    ratio = 4 / 5
    hyper = {"lr": 0.002 * ratio, "betas": (0.0, 0.99**ratio)}
    optimizer = torch.optim.Adam(g.parameters(), **hyper)
    optimizer.load_state_dict(_adam_state(list(g.parameters()), MTG_STEPS, **hyper))
    save_mtg(path, g, optimizer, latent_avg, style_latent)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An uncompressed ``.npz`` (as ``np.savez``) with fixed member timestamps, so equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue())
    return buffer.getvalue()


def _mtg_pca(path: Path, seed: int, name: str) -> None:
    """``ffhq_PCA.npz``: mean [512], orthonormal components [512, 512], stdev [512] (float64, as upstream)."""
    dim = 512
    with _seeded(seed, name) as gen:
        mean = torch.randn(dim, generator=gen, dtype=torch.float64)
        comp, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
        stdev = torch.linspace(3.0, 0.1, dim, dtype=torch.float64)
    atomic_write_bytes(path, _npz_bytes({"X_mean": mean.numpy(), "X_comp": comp.T.contiguous().numpy(),
                                         "X_stdev": stdev.numpy()}))  # fmt: skip


# ----------------------------------------------------------------------------------------------------- InST / SD
def _ldm_schedule_buffers() -> dict[str, torch.Tensor]:
    """The ``LatentDiffusion`` schedule buffers an ldm ``state_dict`` carries (linear β, 1000 steps)."""
    from baselines.inst import configs as C

    betas = torch.linspace(C.BETA_START**0.5, C.BETA_END**0.5, C.NUM_TRAIN_TIMESTEPS, dtype=torch.float64) ** 2
    alphas = torch.cumprod(1.0 - betas, dim=0)
    prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas[:-1]])
    posterior = betas * (1.0 - prev) / (1.0 - alphas)
    out = {"betas": betas, "alphas_cumprod": alphas, "alphas_cumprod_prev": prev,
           "sqrt_alphas_cumprod": alphas.sqrt(), "sqrt_one_minus_alphas_cumprod": (1.0 - alphas).sqrt(),
           "log_one_minus_alphas_cumprod": (1.0 - alphas).log(), "sqrt_recip_alphas_cumprod": (1.0 / alphas).sqrt(),
           "sqrt_recipm1_alphas_cumprod": (1.0 / alphas - 1).sqrt(), "posterior_variance": posterior,
           "posterior_log_variance_clipped": torch.log(torch.clamp(posterior, min=1e-20)),
           "posterior_mean_coef1": betas * prev.sqrt() / (1.0 - alphas),
           "posterior_mean_coef2": (1.0 - prev) * (1.0 - betas).sqrt() / (1.0 - alphas)}  # fmt: skip
    return {k: v.float() for k, v in out.items()}


def _sd14(path: Path, seed: int, name: str) -> None:
    from baselines.inst import configs as C
    from baselines.inst.convert import ldm_state_from_diffusers

    with _seeded(seed, name):
        unet, vae, text = C.build_unet(C.SD14_UNET), C.build_vae(C.SD14_VAE), C.build_text_encoder(C.SD14_TEXT)
    state = ldm_state_from_diffusers(unet.state_dict(), vae.state_dict(), text.state_dict(), C.SD14_UNET)
    state = {k: v.detach() for k, v in state.items()}
    state.update(_ldm_schedule_buffers())
    state.update({"model_ema.decay": torch.tensor(0.9999), "model_ema.num_updates": torch.tensor(0, dtype=torch.int)})
    del unet, vae, text
    _torch_save({"epoch": 0, "global_step": SD14_GLOBAL_STEP, "state_dict": state}, path)


def _clip_l14_hf(path: Path, seed: int, name: str) -> None:
    """``openai/clip-vit-large-patch14`` ``model.safetensors``: the whole ``CLIPModel`` (fp32, both towers)."""
    from safetensors.torch import save
    from transformers import CLIPConfig, CLIPModel

    from baselines.inst import configs as C

    text = {k: v for k, v in C.SD14_TEXT.items() if k != "projection_dim"}
    vision = {k: v for k, v in C.CLIP_L14_VISION.items() if k != "projection_dim"}
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=C.CLIP_L14_VISION["projection_dim"])
    with _seeded(seed, name):
        model = CLIPModel(config)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    # the released file (an older transformers) stores the position_ids buffers, which newer versions drop
    state.setdefault("text_model.embeddings.position_ids", torch.arange(text["max_position_embeddings"])[None])
    n_patches = (vision["image_size"] // vision["patch_size"]) ** 2 + 1
    state.setdefault("vision_model.embeddings.position_ids", torch.arange(n_patches)[None])
    atomic_write_bytes(path, save(dict(sorted(state.items())), metadata={"format": "pt"}))


class _OfficialCrossAttention(nn.Module):
    """``ldm.modules.attention.CrossAttention`` as InST's embedding manager builds it (768 wide, 8 heads of 64)."""

    def __init__(self, dim: int = 768, heads: int = 8, dim_head: int = 64, dropout: float = 0.05) -> None:
        super().__init__()
        inner = heads * dim_head
        self.scale, self.heads = dim_head**-0.5, heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))


class _OfficialAttentions(nn.Module):
    """``ldm.modules.embedding_manager.Attentions`` (the module InST pickles whole into ``embeddings.pt``)."""

    def __init__(self, dim: int = 768, dropout: float = 0.05) -> None:
        super().__init__()
        self.attn1, self.attn2 = _OfficialCrossAttention(dim), _OfficialCrossAttention(dim)
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, dim))


_PICKLED_AS = {_OfficialCrossAttention: ("ldm.modules.attention", "CrossAttention"),
               _OfficialAttentions: ("ldm.modules.embedding_manager", "Attentions")}  # fmt: skip


@contextmanager
def _pickled_under_official_names() -> Iterator[None]:
    """While saving, the two classes carry the official ldm module paths (the loader stubs them, never imports)."""
    saved_names = {cls: (cls.__module__, cls.__qualname__, cls.__name__) for cls in _PICKLED_AS}
    added: list[str] = []
    replaced: list[tuple[types.ModuleType, str, object]] = []
    try:
        for cls, (module, qualname) in _PICKLED_AS.items():
            for i in range(1, module.count(".") + 2):
                prefix = ".".join(module.split(".")[:i])
                if prefix not in sys.modules:
                    sys.modules[prefix] = types.ModuleType(prefix)
                    added.append(prefix)
            target = sys.modules[module]
            replaced.append((target, qualname, getattr(target, qualname, _MISSING)))
            setattr(target, qualname, cls)
            cls.__module__, cls.__qualname__, cls.__name__ = module, qualname, qualname
        yield
    finally:
        for cls, (module, qualname, cname) in saved_names.items():
            cls.__module__, cls.__qualname__, cls.__name__ = module, qualname, cname
        for target, attribute, previous in reversed(replaced):
            if previous is _MISSING:
                delattr(target, attribute)
            else:
                setattr(target, attribute, previous)
        for prefix in reversed(added):
            del sys.modules[prefix]


_MISSING = object()


def _inst_embedding(path: Path, seed: int, name: str) -> None:
    """InST ``embeddings.pt``: ``{"string_to_token": {"*": tensor(265)}, "attention": <pickled Attentions>}``."""
    from baselines.inst.tokenizer import token_id

    with _seeded(seed, name):
        module = _OfficialAttentions().train()  # the released file was pickled in training mode
    with _pickled_under_official_names():
        buffer = io.BytesIO()
        torch.save({"string_to_token": {"*": torch.tensor(token_id("*"))}, "attention": module}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


# ------------------------------------------------------------------------------------------------ metric networks
def _fid_inception(path: Path, seed: int, name: str) -> None:
    from benchmark.features.inception import _fid_inception_architecture, _random_init

    _torch_save(_random_init(_fid_inception_architecture, _derived_seed(seed, name)).state_dict(), path)


def _art_inception(path: Path, seed: int, name: str) -> None:
    """art-fid's Inception3 feature path and its ``fc`` head (the loader reads the feature path only)."""
    from benchmark.features.inception import _art_inception_architecture, _random_init

    _torch_save(_random_init(_art_inception_architecture, _derived_seed(seed, name)).state_dict(), path)


def _arcface(path: Path, seed: int, name: str) -> None:
    from benchmark.nets.ir_se import ir_se50

    with _seeded(seed, name):
        net = ir_se50()
    _torch_save(net.state_dict(), path)


def _dino(path: Path, seed: int, name: str) -> None:
    from benchmark.features.dino_vit import DinoViT

    with _seeded(seed, name):
        net = DinoViT()
    _torch_save(net.state_dict(), path)


#: OpenAI's TorchScript state-dict entries that are not open_clip parameters (``load_openai_model`` drops them).
_OPENAI_EXTRA = ("input_resolution", "context_length", "vocab_size")


def _trace_openai_clip(arch: str, path: str, seed: int, name: str) -> None:
    """Trace an open_clip ``arch`` (OpenAI key names, fp16 weights) into a TorchScript archive at ``path``."""
    import open_clip

    with _seeded(seed, name):
        model = open_clip.create_model(arch, pretrained=None, force_quick_gelu=True).eval()
    size = model.visual.image_size
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    context = int(model.positional_embedding.shape[0])
    for key, value in zip(_OPENAI_EXTRA, (size, context, int(model.token_embedding.weight.shape[0])), strict=True):
        if key in model.__dict__:  # open_clip keeps some of them as plain int attributes
            delattr(model, key)
        model.register_buffer(key, torch.tensor(value))
    # open_clip's causal mask is a (non-persistent) buffer; OpenAI's archives build it inside the graph instead,
    # so it becomes a traced constant here and stays out of the archive's state dict
    mask = model._buffers.pop("attn_mask", None)
    if mask is not None:
        model.attn_mask = mask
    image, text = torch.zeros(1, 3, size, size), torch.zeros(1, context, dtype=torch.long)
    with torch.no_grad():
        traced = torch.jit.trace(model, (image, text), check_trace=False, strict=False)
    traced = traced.half()  # the released archives hold fp16 weights
    for key in _OPENAI_EXTRA:  # integer buffers keep their dtype
        setattr(traced, key, getattr(model, key))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _openai_clip(arch: str) -> Callable[[Path, int, str], None]:
    def write(path: Path, seed: int, name: str) -> None:
        # TorchScript names a class traced a second time in one process ``___torch_mangle_N``, which would make
        # the archive's bytes depend on what the process traced before: each archive is traced in a fresh
        # interpreter (a plain subprocess, so the caller's main module is never re-imported).
        code = ("import sys, benchmark; from benchmark.dryrun.weights import _trace_openai_clip; "
                "_trace_openai_clip(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])")  # fmt: skip
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])  # the checkout this module is imported from
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        done = subprocess.run([sys.executable, "-c", code, arch, str(path), str(seed), name], env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"dry run: tracing the {arch} CLIP archive for {name} failed "
                               f"(exit {done.returncode}): {done.stderr[-2000:]}")  # fmt: skip

    return write


#: asset name -> writer(path, seed, asset name)
WRITERS: dict[str, Callable[[Path, int, str], None]] = {
    "diffae_ffhq256_autoenc": _diffae_autoenc,
    "diffae_ffhq256_latent_stats": _diffae_latent_stats,
    "diffae_ffhq256_autoenc_latent": _diffae_autoenc_latent,
    "p2_ffhq256": _adm_ffhq256,
    "osasis_img1_iter200": _osasis,
    "osasis_img2_iter200": _osasis,
    "stylegan2-ffhq-config-f": _stylegan2,
    "e4e-ffhq-encode": _e4e,
    "hfgi-ffhq": _hfgi,
    "mtg-ffhq-pca": _mtg_pca,
    "mtg-digital-painting-jing": _mtg_style,
    "diffuseit-ffhq-10m": _adm_ffhq256,
    "sd-v1-4": _sd14,
    "clip-vit-large-patch14": _clip_l14_hf,
    "inst-example-embedding": _inst_embedding,
    "fid-inception-2015": _fid_inception,
    "art-inception": _art_inception,
    "arcface-ir-se50": _arcface,
    "dino-vitb8": _dino,
    "clip-vit-l-14-openai": _openai_clip("ViT-L-14"),
    "clip-vit-b32-openai": _openai_clip("ViT-B-32"),
    "clip-vit-b16-openai": _openai_clip("ViT-B-16"),
}
MODEL_ASSETS: tuple[str, ...] = tuple(WRITERS)


#: The writers that take longest (seconds on 2 CPU cores), submitted first when writing in parallel.
LONGEST_FIRST = ("osasis_img1_iter200", "osasis_img2_iter200", "sd-v1-4", "diffae_ffhq256_autoenc_latent",
                 "clip-vit-l-14-openai", "e4e-ffhq-encode", "diffae_ffhq256_autoenc")  # fmt: skip


def _write_one(name: str, path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[name](path, seed, name)
    return path


def write_weights(folder: Path, *, seed: int = 0, names: Iterable[str] | None = None,
                  workers: int = 1) -> dict[str, Path]:  # fmt: skip
    """Write each model asset of the paper profile at full size with random weights, in the official file layout,
    at folder/<asset.file> (asset.file from the manifest, benchmark.assets.manifest()); return name -> path.

    Every file depends only on ``seed`` and its asset name, so ``workers`` > 1 (processes, longest first) writes
    the same bytes; the random draws and the writing overlap (about 19 GB in all)."""
    chosen = list(MODEL_ASSETS if names is None else names)
    unknown = sorted(set(chosen) - set(WRITERS))
    if unknown:
        raise ValueError(f"no dry-run weight writer for {unknown}; known: {list(MODEL_ASSETS)}")
    table = assets.manifest()
    paths = {name: Path(folder) / table[name].file for name in chosen}
    if workers <= 1 or len(chosen) <= 1:
        return {name: _write_one(name, path, seed) for name, path in paths.items()}
    order = sorted(chosen, key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else len(LONGEST_FIRST))
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
    # the caller's thread count: MTG's PCA basis comes from a QR decomposition, whose bits depend on it
    with ProcessPoolExecutor(max_workers=min(workers, len(chosen)), mp_context=context,
                             initializer=torch.set_num_threads, initargs=(torch.get_num_threads(),)) as pool:
        futures = {name: pool.submit(_write_one, name, paths[name], seed) for name in order}
        return {name: futures[name].result() for name in chosen}
