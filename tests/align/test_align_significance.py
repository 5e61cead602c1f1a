"""Spec §7 check 8: permutation p-values, the vectorised null, bootstrap and calibration."""

import numpy as np
import pytest
import torch
from scipy.stats import kstest

from latentalign import align
from latentalign.align import permutation as perm_module
from latentalign.align.permutation import evaluator
from latentalign.align.significance import bootstrap_ci, permutation_test, significance

OPTIONS = {
    "ka": [{}, {"kernel": "rbf"}, {"path": "gram"}],
    "cka": [{}, {"unbiased": True}, {"kernel": "rbf"}, {"kernel": "rbf", "unbiased": True}, {"path": "gram"},
            {"path": "gram", "unbiased": True}],
    "hsic": [{}, {"unbiased": True}, {"kernel": "rbf", "unbiased": True}],
    "mmd_alignment": [{}, {"kernel": "rbf"}, {"path": "gram"}],
    "dcor": [{}],
    "rsa": [{"rdm": r, "compare": c} for r in ("euclidean", "correlation")
            for c in ("pearson", "spearman", "cosine", "centered")],
    "mutual_knn": [{"k": 5}, {"k": 5, "metric": "euclidean"}],
    "cycle_knn": [{"k": 5}],
    "cknna": [{"k": 5}, {"k": 39}],
    "cca": [{}, {"squared": True}],
    "svcca": [{}, {"dims": 2}, {"dims": (2, 3)}],
    "procrustes": [{}, {"distance": "euclidean"}],
    "kta": [{}],
}
CASES = [(name, opts) for name, all_opts in OPTIONS.items() for opts in all_opts]


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X[:, :3] @ rng.normal(size=(3, 3)) + rng.normal(size=(n, 3)), np.arange(n) % 3


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_vectorised_null_equals_the_metric_on_permuted_pairs(name, options):
    X, Y, y = _data()
    second = y if name == "kta" else Y
    values = evaluator(name, torch.tensor(X), torch.tensor(second), options)
    gen = torch.Generator().manual_seed(1)
    perms = torch.stack([torch.arange(40)] + [torch.randperm(40, generator=gen) for _ in range(3)])
    got = values(perms)
    fn = align.metric(name).fn
    for p, v in zip(perms.numpy(), got):
        assert float(v) == pytest.approx(fn(X, second[p], **options), abs=1e-10)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_dependent_data_is_significant(name):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 5))
    Y = X @ rng.normal(size=(5, 4)) + 0.5 * rng.normal(size=(200, 4))
    second = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0) if name == "kta" else Y
    res = permutation_test(X, second, name, seed=0, permutations=199)
    assert res.p_value < 0.01 and res.p_value == pytest.approx(1 / 200)


def test_independent_data_gives_uniform_p_values():
    p_values = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
        p_values.append(permutation_test(X, Y, "cka", seed=seed, permutations=99).p_value)
    assert kstest(p_values, "uniform").pvalue > 0.01
    assert 0.4 < np.mean(p_values) < 0.6


def test_independent_data_uniform_for_neighbour_and_distance_metrics():
    for name, options in (("mutual_knn", {"k": 3}), ("procrustes", {})):
        p_values = []
        for seed in range(60):
            rng = np.random.default_rng(1000 + seed)
            X, Y = rng.normal(size=(25, 3)), rng.normal(size=(25, 2))
            p_values.append(permutation_test(X, Y, name, seed=seed, permutations=49, **options).p_value)
        assert kstest(p_values, "uniform").pvalue > 0.01, name


def test_mutual_knn_null_mean_and_calibration():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 6))
    Y = X[:, :4] + 0.8 * rng.normal(size=(300, 4))
    res = significance(X, Y, "mutual_knn", seed=0, permutations=300, bootstrap=0, k=10)
    assert res.expected_null_mean == pytest.approx(10 / 299)
    assert res.null_mean == pytest.approx(10 / 299, rel=0.10)
    null = res.permutation.null
    assert res.null_sd == pytest.approx(null.std(ddof=1))
    assert res.calibrated == pytest.approx((res.value - null.mean()) / (1 - null.mean()))
    assert res.z == pytest.approx((res.value - null.mean()) / null.std(ddof=1))
    assert res.ci is None and res.p_value == pytest.approx(1 / 301)


def test_unbiased_cka_null_is_centred_at_zero_and_distance_calibrates_towards_zero():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(80, 4)), rng.normal(size=(80, 4))
    res = significance(X, Y, "cka", seed=1, permutations=400, bootstrap=0, unbiased=True)
    assert res.expected_null_mean == 0.0 and abs(res.null_mean) < 3 * res.null_sd / np.sqrt(400) + 1e-3
    dist = significance(X, X + 0.1 * Y, "procrustes", seed=1, permutations=50, bootstrap=0)
    assert dist.p_value == pytest.approx(1 / 51)  # small distances are the extreme ones
    assert dist.calibrated == pytest.approx((dist.value - dist.null_mean) / (0.0 - dist.null_mean))
    assert 0.9 < dist.calibrated <= 1.0


def test_seeded_and_reproducible():
    X, Y, _ = _data(60, 5)
    a = significance(X, Y, "cka", seed=7, permutations=100, bootstrap=50)
    b = significance(X, Y, "cka", seed=7, permutations=100, bootstrap=50)
    c = significance(X, Y, "cka", seed=8, permutations=100, bootstrap=50)
    assert np.array_equal(a.permutation.null, b.permutation.null) and a.ci == b.ci
    assert not np.array_equal(a.permutation.null, c.permutation.null)


def test_fallback_loop_gives_the_same_null(monkeypatch):
    X, Y, _ = _data(30, 6)
    fast = permutation_test(X, Y, "cka", seed=3, permutations=40, kernel="rbf")
    monkeypatch.setattr(perm_module, "MATRIX_MAX_N", 10)  # too big for matrices: call the metric
    assert evaluator("cka", torch.tensor(X), torch.tensor(Y), {"kernel": "rbf"}) is None
    slow = permutation_test(X, Y, "cka", seed=3, permutations=40, kernel="rbf")
    np.testing.assert_allclose(slow.null, fast.null, atol=1e-12)
    assert slow.p_value == fast.p_value


def test_bootstrap_interval_and_knn_subsampling():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(150, 4))
    Y = X @ rng.normal(size=(4, 4)) + rng.normal(size=(150, 4))
    boot = bootstrap_ci(X, Y, "cka", seed=0, resamples=200)
    assert boot.ci[0] < boot.value < boot.ci[1] and boot.subsample == 75 and boot.dropped == 0
    centre = np.median(boot.replicates)
    lo, hi = np.quantile(boot.replicates, [0.025, 0.975])
    assert boot.ci == pytest.approx((boot.value + lo - centre, boot.value + hi - centre))
    knn = bootstrap_ci(X, Y, "mutual_knn", seed=0, resamples=100, k=10)
    assert knn.subsample == 75
    centre, shrink = np.median(knn.replicates), np.sqrt(0.5)
    lo, hi = np.quantile(knn.replicates, [0.025, 0.975])
    assert knn.ci == pytest.approx((knn.value + (lo - centre) * shrink, knn.value + (hi - centre) * shrink))
    # resamples that are constant make CKA undefined: dropped and counted, never NaN
    Xc = np.zeros((12, 2))
    Xc[0] = 1.0
    few = bootstrap_ci(Xc, rng.normal(size=(12, 2)), "cka", seed=0, resamples=100)
    assert few.dropped > 0 and np.isfinite(few.replicates).all() and len(few.replicates) == 100 - few.dropped


def test_bootstrap_interval_holds_the_value_of_a_biased_metric():
    # resampling pairs with replacement duplicates rows: biased CKA of independent data rose
    # from 0.30 to an "interval" of 0.43-0.52 that missed its own value
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 50)), rng.normal(size=(100, 50))
    boot = bootstrap_ci(X, Y, "cka", seed=0, resamples=200)
    assert boot.ci[0] < boot.value < boot.ci[1]


@pytest.mark.parametrize("metric, options", [("cka", {}), ("mutual_knn", {"k": 10})])
def test_bootstrap_width_matches_the_spread_over_fresh_samples(metric, options):
    # the interval's half-width / 1.96 estimates the sd of the metric over new data sets of n rows
    rng = np.random.default_rng(1)
    n, d = 200, 10
    A = rng.normal(size=(d, d))

    def draw():
        Z = rng.normal(size=(n, d))
        return Z, Z @ A + rng.normal(size=(n, d))

    fresh = np.std([float(align.metric(metric).fn(*draw(), **options)) for _ in range(60)])
    X, Y = draw()
    boot = bootstrap_ci(X, Y, metric, seed=0, resamples=200, **options)
    estimated = (boot.ci[1] - boot.ci[0]) / (2 * 1.96)
    assert 0.6 < estimated / fresh < 1.6, (estimated, fresh)


def test_significance_bad_input():
    X, Y, _ = _data(20, 9)
    with pytest.raises(TypeError, match=r"^seed:"):
        significance(X, Y, "cka", seed=None)
    with pytest.raises(ValueError, match=r"^permutations: must be >= 0"):
        significance(X, Y, "cka", seed=0, permutations=-1)
    with pytest.raises(ValueError, match=r"^confidence:"):
        bootstrap_ci(X, Y, "cka", seed=0, confidence=1.5)
    with pytest.raises(ValueError, match=r"^metric:"):
        significance(X, Y, "nope", seed=0)
    with pytest.raises(ValueError, match=r"^Y:"):
        significance(X, Y[:10], "mutual_knn", seed=0)
