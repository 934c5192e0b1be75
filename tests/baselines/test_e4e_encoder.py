"""e4e encoder: official layout, tiny checkpoint round trip, inversion output."""

from __future__ import annotations

from pathlib import Path

import torch

from baselines.e4e import E4EConfig, Encoder4Editing, load_e4e
from baselines.jojogan.inverters import E4EInverter
from baselines.layout import layout_digest
from benchmark.checkpoints import load_tensors


def test_e4e_layout_matches_official() -> None:
    with torch.device("meta"):
        enc = Encoder4Editing(E4EConfig())
    # digest of sorted "key:shape" lines of encoder4editing Encoder4Editing(50, 'ir_se', stylegan_size=1024)
    assert layout_digest(enc) == (621, "eeeaf76acb658377a3c81ccc7408f2ec54acf206b1054759e3af28417a70db05")
    sd = enc.state_dict()
    assert sd["styles.17.convs.10.weight"].shape == (512, 512, 3, 3)  # 64x64 -> 1x1: six strided convs
    assert sd["latlayer2.weight"].shape == (512, 128, 1, 1)
    assert sum(p.numel() for p in enc.parameters()) == 267_136_704


def test_tiny_round_trip_and_inversion(tiny_e4e_file: Path) -> None:
    enc, latent_avg, decoder = load_e4e(tiny_e4e_file, with_decoder=True)
    assert enc.cfg == E4EConfig(width=8, style_dim=32, n_latent=8, input_size=32)
    assert latent_avg.shape == (8, 32) and decoder is not None and decoder.n_latent == 8
    ckpt = load_tensors(tiny_e4e_file, "test")
    assert set(ckpt) == {"state_dict", "latent_avg", "opts"} and ckpt["opts"]["encoder_type"] == "Encoder4Editing"
    images = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    inv = E4EInverter(enc, latent_avg)
    w = inv(images, ["a", "b"])
    assert w.shape == (2, 8, 32)
    w1 = inv(images[1:], ["b"])
    torch.testing.assert_close(w[1:], w1, rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # deltas: codes differ from one another, all offset by latent_avg
        raw = enc(torch.zeros(1, 3, 32, 32))
    assert (raw[0, 1:] - raw[0, :1]).abs().max() > 0
