"""IR-SE backbone: official layout of model_ir_se50.pth, tiny forward."""

from __future__ import annotations

import torch

from baselines.layout import layout_digest
from benchmark.nets.ir_se import IRSEBackbone, IRSEBody, ir_se50, stage_end_indices, unit_specs


def test_ir_se50_layout_matches_official() -> None:
    with torch.device("meta"):
        net = ir_se50()
    # digest of sorted "key:shape" lines of TreB1eN/e4e Backbone(112, 50, 'ir_se') built on meta
    assert layout_digest(net) == (397, "078998bb640d19154bff34ae6978684e76a575ad669fd8ca56f591fabb7f086f")
    sd = net.state_dict()
    assert sd["body.0.res_layer.5.fc1.weight"].shape == (4, 64, 1, 1)
    assert sd["body.3.shortcut_layer.0.weight"].shape == (128, 64, 1, 1)
    assert sd["output_layer.3.weight"].shape == (512, 512 * 7 * 7)
    assert "output_layer.4.running_var" in sd
    assert sum(p.numel() for p in net.parameters()) == 43_797_696


def test_depths_and_taps() -> None:
    assert len(unit_specs(50)) == 24 and len(unit_specs(100)) == 49
    assert stage_end_indices(50) == (2, 6, 20, 23)


def test_tiny_forward() -> None:
    torch.manual_seed(0)
    net = IRSEBackbone(num_layers=50, width=16, input_size=32, embedding_dim=8).eval()
    emb = net(torch.randn(2, 3, 32, 32))
    assert emb.shape == (2, 8)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))
    body = IRSEBody(50, "ir_se", width=16)
    feats, taps = body.forward_features(torch.randn(1, 3, 32, 32), taps=(6, 20))
    assert feats.shape == (1, 128, 2, 2) and [t.shape[1] for t in taps] == [32, 64]
    assert not any(k.startswith("output_layer") for k in body.state_dict())
