"""The shared GAN inversion cache: byte-identical outputs cold / warm / off, shared across methods, robust entries."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from baselines.hfgi import ResidualAligner, ResidualEncoder, save_hfgi
from baselines.inversion_cache import INVERSION_CACHE_ENV, InversionCache
from baselines.jojogan.inverters import InverterOptions, build_inverter
from baselines.stylegan2 import load_generator
from benchmark import imageio
from benchmark.checkpoints import load_tensors
from benchmark.methods import METHODS, create_method
from benchmark.testing import make_test_images, randomize

for _name, _target in (("jojogan", "baselines.jojogan.method:JoJoGAN"), ("mtg", "baselines.mtg.method:MTG")):
    if _name not in METHODS:
        METHODS.add_lazy(_name, _target)

# the smoke recipe in miniature: HFGI branch (mode full) on the W+ projector's code
INVERSION = {"inverter": "hfgi", "hfgi_base": "projector", "hfgi_mode": "full", "projector_steps": 3,
             "projector_lpips": "none"}  # fmt: skip


@pytest.fixture(scope="module")
def branch_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    residue = randomize(ResidualEncoder(8, 32), 5, scale=0.05)
    grid_align = randomize(ResidualAligner(), 6, scale=0.1)
    return save_hfgi(tmp_path_factory.mktemp("hfgi") / "branch.pt", residue, grid_align, input_size=32)


def _images() -> torch.Tensor:
    return torch.rand(3, 3, 24, 24, generator=torch.Generator().manual_seed(0))


def _png_bytes(out: torch.Tensor) -> list[bytes]:
    blobs = []
    for img in out:
        buffer = io.BytesIO()
        imageio.tensor_to_pil(img).save(buffer, format="PNG")
        blobs.append(buffer.getvalue())
    return blobs


def _entries(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.rglob("*.pt"))}


def _loaded(method_name: str, cfg: dict, ref: Path, workdir: Path):  # noqa: ANN202
    method = create_method(method_name, cfg, device="cpu", seed=0, resolution=24)
    if not workdir.exists():
        method.prepare(ref, workdir)
    method.load(ref, workdir)
    return method


def test_jojogan_cold_warm_off_identical_and_mtg_reuses_entries(
    tiny_gan_file: Path, branch_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(INVERSION_CACHE_ENV, str(cache))
    ref = make_test_images(tmp_path / "ref", n=1, size=40)[0]
    cfg = {"generator_path": str(tiny_gan_file), "image_size": 32, "hfgi_path": str(branch_file), "iterations": 2,
           **INVERSION}  # fmt: skip
    images, names = _images(), ["a", "b", "c"]

    cold = _loaded("jojogan", cfg, ref, tmp_path / "jojo")
    cold_png = _png_bytes(cold.stylize(images, names))
    assert (cold._inverter.hits, cold._inverter.misses) == (0, 3)
    entries = _entries(cache)
    assert len(entries) == 4  # the three inputs and the reference (prepare)

    warm = _loaded("jojogan", cfg, ref, tmp_path / "jojo")
    assert _png_bytes(warm.stylize(images, names)) == cold_png
    assert (warm._inverter.hits, warm._inverter.misses) == (3, 0)
    assert warm.cost_notes() == {"inversion_cache": {"hits": 3, "misses": 0}}  # recorded in stylize cost.json
    assert _entries(cache) == entries

    monkeypatch.setenv(INVERSION_CACHE_ENV, "off")
    off = _loaded("jojogan", cfg, ref, tmp_path / "jojo")
    assert _png_bytes(off.stylize(images, names)) == cold_png
    assert (off._inverter.hits, off._inverter.misses) == (0, 3)

    # entries do not depend on the batch they were computed in: one image at a time, fresh cache
    monkeypatch.setenv(INVERSION_CACHE_ENV, str(tmp_path / "cache-single"))
    single = _loaded("jojogan", cfg, ref, tmp_path / "jojo")
    for i in range(3):
        single.stylize(images[i : i + 1], names[i : i + 1])
    single_entries = _entries(tmp_path / "cache-single")
    assert {k: v for k, v in entries.items() if k in single_entries} == single_entries
    assert len(single_entries) == 3

    # MTG with the same source generator and inversion options: every input is a hit from JoJoGAN's entries
    monkeypatch.setenv(INVERSION_CACHE_ENV, str(cache))
    mtg_cfg = {"generator_path": str(tiny_gan_file), "image_size": 32, "hfgi_path": str(branch_file),
               "embedder": "vgg16-imagenet", "pca": None, "pca_samples": 512, "ii2s_steps": 2, "iterations": 2,
               "batch": 2, "downsample_factor": 2, **INVERSION}  # fmt: skip
    mtg = _loaded("mtg", mtg_cfg, ref, tmp_path / "mtg")
    mtg_png = _png_bytes(mtg.stylize(images, names))
    assert (mtg._inverter.hits, mtg._inverter.misses) == (3, 0)
    monkeypatch.setenv(INVERSION_CACHE_ENV, "off")
    mtg_off = _loaded("mtg", mtg_cfg, ref, tmp_path / "mtg")
    assert _png_bytes(mtg_off.stylize(images, names)) == mtg_png


def _factory_inverter(tiny_gan_file: Path, branch_file: Path, cache: InversionCache, steps: int = 3):  # noqa: ANN202
    g, latent_avg = load_generator(tiny_gan_file)
    opts = InverterOptions(hfgi_path=str(branch_file), hfgi_base="projector", projector_steps=steps,
                           projector_lpips="none")  # fmt: skip
    return build_inverter("hfgi", g, latent_avg, opts, cache=cache)


def test_damaged_entries_are_recomputed(tiny_gan_file: Path, branch_file: Path, tmp_path: Path) -> None:
    cache = InversionCache(tmp_path / "cache")
    inv = _factory_inverter(tiny_gan_file, branch_file, cache)
    images, names = _images(), ["a", "b", "c"]
    first = inv.invert(images, names)
    files = sorted((tmp_path / "cache").rglob("*.pt"))
    assert len(files) == 3
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated
    files[1].write_bytes(b"not a checkpoint at all")  # garbage
    torch.save({"key": files[2].stem, "codes": torch.zeros(1, 2, 2)}, files[2])  # readable, wrong layout
    again = _factory_inverter(tiny_gan_file, branch_file, cache)
    second = again.invert(images, names)
    assert (again.hits, again.misses) == (0, 3)
    assert torch.equal(first.codes, second.codes) and torch.equal(first.residual, second.residual)
    for f in files:  # rewritten with valid entries
        entry = load_tensors(f, "entry")
        assert entry["key"] == f.stem and entry["codes"].shape[0] == 1
    # an entry stored under another key's name (swapped files) is refused as well
    files[0].write_bytes(files[1].read_bytes())
    third = _factory_inverter(tiny_gan_file, branch_file, cache)
    assert torch.equal(third.invert(images, names).codes, first.codes) and third.misses == 1


def test_unwritable_cache_never_fails(tiny_gan_file: Path, branch_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    inv = _factory_inverter(tiny_gan_file, branch_file, InversionCache(blocker / "cache"))
    out = inv.invert(_images(), ["a", "b", "c"])
    assert out.codes.shape[0] == 3 and inv.misses == 3


def test_key_follows_options_weights_and_inputs(tiny_gan_file: Path, branch_file: Path, tmp_path: Path) -> None:
    cache = InversionCache(tmp_path / "cache")
    images = _images()
    base = _factory_inverter(tiny_gan_file, branch_file, cache)
    base.invert(images[:1], ["a"])
    more_steps = _factory_inverter(tiny_gan_file, branch_file, cache, steps=4)
    more_steps.invert(images[:1], ["a"])
    assert more_steps.misses == 1 and more_steps.identity() != base.identity()
    other_pixel = images[:1].clone()
    other_pixel[0, 0, 0, 0] += 1e-6
    base.invert(other_pixel, ["a"])
    base.invert(images[:1], ["renamed"])
    assert base.misses == 3
    # the source generator changed in place (e.g. fine-tuned): a new identity, no stale hit
    g_src = base.inner.g_src
    before = base.identity()
    with torch.no_grad():
        next(g_src.parameters()).add_(1e-3)
    assert base.identity() != before
    base.invert(images[:1], ["a"])
    assert base.misses == 4 and base.hits == 0
    changed = base.identity()
    next(g_src.parameters()).data.mul_(1.5)  # bypasses autograd's version counter
    assert base.identity() != changed


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_projector_target_features_once_is_bit_identical(tiny_gan_file: Path, net: str) -> None:
    """The projector computes the target's LPIPS features once; the textbook loop (lpips(a, b) every step) agrees
    bit for bit."""
    from baselines.jojogan.inverters import Projector, ProjectorSettings
    from benchmark.features.lpips_model import LPIPSNet

    g, latent_avg = load_generator(tiny_gan_file)
    g.eval().requires_grad_(False)
    lpips_net = LPIPSNet(net, pretrained_backbone=False, seed=3)
    settings = ProjectorSettings(steps=4, lr=0.05, lpips=net, lpips_size=32)
    w_avg = latent_avg.reshape(1, -1)
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    fast = Projector(g, settings, w_avg, lpips_net)(image, ["x"])

    target = imageio.resize(image, g.size) * 2 - 1
    w = w_avg.reshape(1, 1, -1).repeat(1, g.n_latent, 1).clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=settings.lr)
    for _ in range(settings.steps):
        img = g(w)
        mse = torch.nn.functional.mse_loss(img, target)
        loss = settings.l2_weight * mse + lpips_net(img, target).sum()  # lpips at G's 32 px
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    assert torch.equal(fast, w.detach())
    assert not torch.equal(fast, w_avg.reshape(1, 1, -1).expand_as(fast))  # the steps moved the code
