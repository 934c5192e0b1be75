from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.features.lpips_model import LPIPSNet
from benchmark.features.vgg_alex import SLICE_ENDS, feature_state_dict
from benchmark.metrics import create_metric
from benchmark.metrics.base import EvalSet
from benchmark.metrics.ssim import ssim


def _reference_lpips(net: str):
    import lpips

    ref = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    state = feature_state_dict(net)
    starts = (0,) + SLICE_ENDS[net][:-1]
    mapped = {}
    for key, value in state.items():
        idx = int(key.split(".")[0])
        s = next(i for i, (a, b) in enumerate(zip(starts, SLICE_ENDS[net])) if a <= idx < b)
        mapped[f"slice{s + 1}.{key}"] = value
    ref.net.load_state_dict(mapped, strict=True)
    return ref.eval()


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_matches_reference_package(net):
    torch.manual_seed(0)
    x = torch.rand(3, 3, 48, 48) * 2 - 1
    y = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    ours = LPIPSNet(net)
    with torch.no_grad():
        expected = _reference_lpips(net)(x, y).flatten()
        got = ours(x, y)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    assert torch.all(ours(x, x) == 0)


def test_lpips_real_weights_monotone_in_noise():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 48, 48) * 2 - 1
    net = LPIPSNet("alex")
    d = [float(net(x, (x + s * torch.randn_like(x)).clamp(-1, 1))) for s in (0.05, 0.2, 0.6)]
    assert d[0] < d[1] < d[2]


def test_lpips_metric_batch_and_order_invariant(folders, evalset):
    a = create_metric("lpips-alex", batch_size=2).compute(evalset)
    b = create_metric("lpips-alex", batch_size=16).compute(evalset)
    assert a.per_image == pytest.approx(b.per_image, rel=1e-5)
    assert a.n == 6 and a.ci_low <= a.value <= a.ci_high and a.direction == "lower"
    # reversed file order in the explicit constructor gives the same per-image values
    rev = EvalSet(
        names=evalset.names[::-1],
        content=evalset.content[::-1],
        stylized=evalset.stylized[::-1],
        style=evalset.style,
        resolution=32,
    )
    c = create_metric("lpips-alex", batch_size=4).compute(rev)
    assert c.per_image == pytest.approx(a.per_image, rel=1e-5)
    assert c.value == pytest.approx(a.value, rel=1e-6)


def test_gt_lpips_uses_ground_truth(evalset):
    gt = create_metric("gt-lpips-vgg").compute(evalset)
    content = create_metric("lpips-vgg").compute(evalset)
    assert gt.value < content.value  # the ground truth is a noisy copy of the output


def test_ssim_matches_skimage():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (2, 3, 32, 40))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    ours = ssim(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    for i in range(2):
        ref = structural_similarity(
            x[i].transpose(1, 2, 0),
            y[i].transpose(1, 2, 0),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=-1,
        )
        assert ours[i] == pytest.approx(ref, abs=1e-7)


def test_ssim_metric_identity_is_one(folders):
    data = EvalSet.from_folders(folders["content"], folders["content"], resolution=32)
    res = create_metric("ssim").compute(data)
    assert res.value == pytest.approx(1.0) and res.direction == "higher"
