from __future__ import annotations

import numpy as np
import pytest

from benchmark.metrics import create_metric
from benchmark.metrics.base import EvalSet
from benchmark.metrics.frechet import FixedReference, SmallSampleError, frechet_distance, statistics
from benchmark.metrics.kid import kid, polynomial_mmd2_unbiased


def _feats(seed, n, d, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(shift, 1.0, (n, d)) @ rng.normal(0, 0.3, (d, d)) + shift


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_frechet_matches_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    a, b = _feats(0, 200, 16), _feats(1, 150, 16, shift=0.5)
    (m1, s1), (m2, s2) = statistics(a), statistics(b)
    ours = frechet_distance(m1, s1, m2, s2)
    ref = calculate_frechet_distance(m1, s1, m2, s2)
    assert ours == pytest.approx(ref, rel=1e-8, abs=1e-8)
    assert FixedReference(b).distance(a) == pytest.approx(ours, rel=1e-8)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize(("n_samples", "n_reference"), [(5, 40), (40, 5), (40, 16), (16, 16), (7, 1), (1, 9)])
def test_fixed_reference_matches_frechet_distance(n_samples: int, n_reference: int):
    """Every path (samples or reference below, at or above the 16 dims; a single-image reference) agrees."""
    a, b = _feats(2, n_samples, 16), _feats(3, n_reference, 16, shift=0.3)
    (m1, s1), (m2, s2) = statistics(a), statistics(b)
    assert FixedReference(b).distance(a) == pytest.approx(frechet_distance(m1, s1, m2, s2), rel=1e-7, abs=1e-9)


def test_kid_matches_definition():
    x, y = _feats(4, 7, 8), _feats(5, 9, 8, shift=0.2)
    mean, _, m = kid(x, y, n_subsets=5, seed=3)
    assert m == 7
    rng = np.random.default_rng(3)
    vals = []
    for _ in range(5):
        xs, ys = x[rng.choice(7, 7, replace=False)], y[rng.choice(9, 7, replace=False)]
        k = lambda a, b: (float(a @ b) / 8 + 1) ** 3  # noqa: E731
        xx = sum(k(xs[i], xs[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
        yy = sum(k(ys[i], ys[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
        xy = sum(k(xs[i], ys[j]) for i in range(7) for j in range(7)) / 49
        vals.append(xx + yy - 2 * xy)
    assert mean == pytest.approx(np.mean(vals), rel=1e-9)
    assert polynomial_mmd2_unbiased(x, x) < 0.05


OPTS = {"random_weights": True, "dims": 64, "n_boot": 20}


def test_fid_small_n_refused_then_allowed(folders):
    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["content"], resolution=32)
    with pytest.raises(SmallSampleError, match="allow_small_n"):
        create_metric("fid-inception2015", **OPTS).compute(data)
    res = create_metric("fid-inception2015", allow_small_n=True, **OPTS).compute(data)
    assert res.value > 0 and res.ci_low <= res.ci_high
    assert any("random weights (smoke)" in n for n in res.notes) and any("small N" in n for n in res.notes)


def test_fid_batch_size_and_cache_invariant(folders, tmp_path):
    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["content"], resolution=32)
    a = create_metric("fid-inception2015", batch_size=2, allow_small_n=True, **OPTS).compute(data)
    cached = list((tmp_path / "cache" / "features").rglob("*.npy"))
    assert len(cached) == 2
    b = create_metric("fid-inception2015", batch_size=5, allow_small_n=True, **OPTS).compute(data)  # cache hit
    c = create_metric("fid-inception2015", batch_size=5, allow_small_n=True, cache=False, **OPTS).compute(data)
    assert a.value == pytest.approx(b.value, rel=1e-6) and a.value == pytest.approx(c.value, rel=1e-4)


def test_kid_metric_runs(folders):
    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["content"], resolution=32)
    res = create_metric("kid-inception2015", **OPTS).compute(data)
    assert np.isfinite(res.value) and res.n == 6


def test_artfid_single_reference(evalset):
    with pytest.raises(SmallSampleError):
        create_metric("artfid", **OPTS).compute(evalset)
    res = create_metric("artfid", allow_small_n=True, **OPTS).compute(evalset)
    assert res.value >= 1.0 and res.ci_low <= res.value <= res.ci_high
    assert any("ArtFID style set" in n for n in res.notes)
    assert any("components" in n for n in res.notes)


def test_artfid_factors(evalset):
    res = create_metric("artfid", allow_small_n=True, protocol="clean", **OPTS).compute(evalset)
    assert res.protocol_mode == "clean"
    lp = create_metric("lpips-alex").compute(evalset)
    assert res.per_image == pytest.approx(lp.per_image, rel=1e-6)  # real LPIPS weights even in smoke mode
    fid = create_metric("fid-artinception", allow_small_n=True, protocol="clean", **OPTS).compute(evalset)
    assert res.value == pytest.approx((1 + lp.value) * (1 + fid.value), rel=1e-6)


def test_artfid_reference_protocol_reads_native_files(folders):
    """Reference protocol: both factors see the 40 px files, whatever the evaluation resolution."""
    small = EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"], resolution=32)
    native = EvalSet.from_folders(folders["content"], folders["stylized"], folders["style"], resolution=40)
    res = create_metric("artfid", allow_small_n=True, **OPTS).compute(small)
    assert res.protocol_mode == "reference"
    lp = create_metric("lpips-alex").compute(native)
    assert res.per_image == pytest.approx(lp.per_image, rel=1e-6)
    clean_native = create_metric("artfid", allow_small_n=True, protocol="clean", **OPTS).compute(native)
    assert res.value == pytest.approx(clean_native.value, rel=1e-5)  # at native size no resize happens


def test_protocol_option_is_checked():
    from benchmark.errors import ConfigError

    with pytest.raises(ConfigError, match="protocol must be one of"):
        create_metric("fid-inception2015", protocol="official", **OPTS)


def test_set_metric_stores_paired_bootstrap_replicates(folders):
    """The replicates behind the CI are stored; their resamples depend only on (seed, n), so two methods scored
    on the same inputs are paired replicate by replicate."""
    from benchmark.stats import bootstrap_replicates

    data = EvalSet.from_folders(folders["content"], folders["stylized"], folders["content"], resolution=32)
    res = create_metric("fid-inception2015", allow_small_n=True, **OPTS).compute(data)
    assert len(res.bootstrap) == OPTS["n_boot"]
    assert (res.ci_low, res.ci_high) == pytest.approx(tuple(np.quantile(res.bootstrap, [0.025, 0.975])))
    draws_a, draws_b = [], []
    bootstrap_replicates(6, lambda idx: draws_a.append(idx.copy()) or 0.0, seed=0, n_boot=5)
    bootstrap_replicates(6, lambda idx: draws_b.append(idx.copy()) or 1.0, seed=0, n_boot=5)
    assert all((x == y).all() for x, y in zip(draws_a, draws_b))
