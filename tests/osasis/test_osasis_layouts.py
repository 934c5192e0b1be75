"""Full-size parameter layouts (built on the meta device) match the official state dicts key-for-key.

The digests are SHA-256 over sorted ``key:shape`` lines of the reference models (phizaz/diffae
``BeatGANsAutoencModel`` with the ffhq256 / ffhq256_latent configs, OSASIS ``MappingNetTime``, guided-diffusion
``UNetModel`` with the P2 FFHQ flags), computed once from the official code.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

import osasis

REFERENCE = {
    "diffae_latent_ffhq256": ("0c7f59a70d4a5dda26a8b0e1fceacae6bbd906908fe1a655e2c23425931d7b1e", 784),
    "diffae_ffhq256": ("9b5a88dd055e1430f692c6ea2c9e4becfd02e2f14d979f8ebad9066331faf12b", 706),
    "latent_ffhq256": ("e07b8e2cda25aa8e795e825a76f8dbc18a6d90c278eba84109936b69c7f2bc88", 78),
    "spn_default": ("ab74279158252f4aac34b8c24e7814c201d97b19e47ef7a43383d26e9f021d8d", 28),
    "p2_ffhq256": ("c9c5b6c1830eb048b39b0793848b5aabf793ddc897684d0ab00fbb36cef3153e", 362),
}
BUILDERS = {"diffae": osasis.build_diffae, "latent": osasis.build_latent_net, "spn": osasis.build_spn,
            "p2": osasis.build_p2}  # fmt: skip


def _meta(name: str) -> torch.nn.Module:
    with torch.device("meta"):
        return BUILDERS[name.split("_")[0]](name, device="meta")


def _digest(state: dict) -> str:
    lines = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in sorted(state.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_full_size_layout_matches_reference(name: str) -> None:
    state = _meta(name).state_dict()
    digest, n_keys = REFERENCE[name]
    assert len(state) == n_keys
    assert _digest(state) == digest


def test_full_size_parameter_counts() -> None:
    m = _meta("diffae_latent_ffhq256")
    enc, lat = _count(m.encoder), _count(m.latent_net)
    assert _count(m) - enc - lat == 138_341_891  # UNet ≈138.3M
    assert enc == 30_150_400  # semantic encoder ≈30.2M
    assert lat == 54_109_696  # latent MLP ≈54.1M (linear_emb shared with cond_layers.1)
    assert _count(_meta("p2_ffhq256")) == 93_563_910
    assert _count(_meta("spn_default")) == 873_347


def test_spot_check_keys() -> None:
    d = _meta("diffae_latent_ffhq256").state_dict()
    assert tuple(d["time_embed.time_embed.0.weight"].shape) == (512, 128)
    assert tuple(d["input_blocks.1.0.cond_emb_layers.1.weight"].shape) == (128, 512)
    assert tuple(d["input_blocks.1.0.emb_layers.1.weight"].shape) == (256, 512)
    assert tuple(d["middle_block.1.qkv.weight"].shape) == (1536, 512, 1)
    assert tuple(d["output_blocks.0.0.skip_connection.weight"].shape) == (512, 1024, 1, 1)
    assert tuple(d["out.2.weight"].shape) == (3, 128, 3, 3)
    assert tuple(d["encoder.out.3.weight"].shape) == (512, 512, 1, 1)
    assert "encoder.input_blocks.1.0.emb_layers.1.weight" not in d  # encoder blocks are unconditioned
    assert tuple(d["latent_net.layers.1.linear.weight"].shape) == (2048, 2560)
    assert d["latent_net.layers.0.cond_layers.1.weight"].shape == d["latent_net.layers.0.linear_emb.weight"].shape
    p = _meta("p2_ffhq256").state_dict()
    assert tuple(p["out.2.weight"].shape) == (6, 128, 3, 3)
    assert tuple(p["input_blocks.1.0.emb_layers.1.weight"].shape) == (256, 512)
    s = _meta("spn_default").state_dict()
    assert tuple(s["block1.emb_layer.1.weight"].shape) == (512, 512)
    assert tuple(s["block1.pre_layer.3.weight"].shape) == (256,)


def test_mixing_levels_follow_official_indexing() -> None:
    m = _meta("diffae_ffhq256")
    # encoder: conv + 2 RBs at level 0, then (down RB + 2 RBs) per level; decoder: 3 blocks per level, 5..0
    assert m.input_levels == [0, 0, 0] + [lv for lv in range(1, 6) for _ in range(3)]
    assert m.output_levels == [lv for lv in range(5, -1, -1) for _ in range(3)]
    res_blocks = sum(1 for b, lv in zip(m.input_blocks, m.input_levels) if lv in (0, 1, 2, 3) and len(b) and
                     not isinstance(b[0], torch.nn.Conv2d))  # fmt: skip
    res_blocks += sum(len([x for x in b if type(x).__name__ == "DiffAEResBlock"])
                      for b, lv in zip(m.output_blocks, m.output_levels) if lv in (0, 1, 2, 3))  # fmt: skip
    assert res_blocks == 26  # ResBlocks fed z_style by default (spec §4)
