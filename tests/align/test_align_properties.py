"""Spec §7 checks 4, 5 and 10: invariances (hypothesis), the independence null, bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import ortho_group

from latentalign import align
from latentalign.align.registry import REGISTRY

SYMMETRIC = [name for name, info in REGISTRY.items() if info.symmetric]


@st.composite
def representations(draw, min_n=12, max_n=24):
    """Gaussian data of a drawn shape, with drawn per-column scales and offsets."""
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31))
    scales = np.array(draw(st.lists(st.floats(0.1, 10.0), min_size=d, max_size=d)))
    offset = draw(st.floats(-100.0, 100.0))
    return np.random.default_rng(seed).normal(size=(n, d)) * scales + offset, seed


def orthogonal(d, seed):
    return np.array([[1.0]]) if d == 1 else ortho_group.rvs(d, random_state=seed % 2**32)


def paired(draw_pair):
    (X, sx), (Y, _) = draw_pair
    n = min(X.shape[0], Y.shape[0])
    return X[:n], Y[:n], sx


pairs = st.tuples(representations(), representations())


@given(pairs, st.floats(0.01, 100.0), st.booleans())
def test_cka_invariant_to_orthogonal_maps_and_isotropic_scaling(pair, c, unbiased):
    X, Y, seed = paired(pair)
    base = align.cka(X, Y, unbiased=unbiased)
    Q = orthogonal(X.shape[1], seed)
    assert align.cka(c * X @ Q, Y, unbiased=unbiased) == pytest.approx(base, rel=1e-8, abs=1e-10)
    assert align.cka(X, c * Y @ orthogonal(Y.shape[1], seed + 1), unbiased=unbiased) == pytest.approx(
        base, rel=1e-8, abs=1e-10)
    rbf = align.cka(X, Y, kernel="rbf")
    assert align.cka(c * X @ Q, Y, kernel="rbf") == pytest.approx(rbf, rel=1e-8, abs=1e-10)


@given(pairs, st.floats(0.01, 100.0))
def test_ka_invariant_to_orthogonal_maps(pair, c):
    X, Y, seed = paired(pair)
    base = align.ka(X, Y)
    assert align.ka(X @ orthogonal(X.shape[1], seed), Y) == pytest.approx(base, rel=1e-9)
    assert align.ka(c * X, Y) == pytest.approx(base, rel=1e-9)


@given(representations(), st.floats(0.01, 100.0), st.floats(-50.0, 50.0))
def test_procrustes_is_one_for_a_similarity_transform(rep, c, b):
    X, seed = rep
    Y = c * X @ orthogonal(X.shape[1], seed) + b
    assert align.procrustes_similarity(X, Y) == pytest.approx(1.0, abs=1e-9)
    assert align.procrustes(X, Y, distance="euclidean") == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("name", SYMMETRIC)
@given(pair=pairs)
def test_symmetric_metrics_are_symmetric_and_in_range(name, pair):
    X, Y, _ = paired(pair)
    info = align.metric(name)
    options = {"k": 3} if "k" in info.options else {}
    forward, backward = info.fn(X, Y, **options), info.fn(Y, X, **options)
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12)
    lo, hi = info.range
    assert lo - 1e-12 <= forward <= hi + 1e-12


@given(pairs)
def test_biased_cka_in_unit_interval_and_self_alignment(pair):
    X, Y, _ = paired(pair)
    assert 0.0 <= align.cka(X, Y) <= 1.0 + 1e-12
    assert align.cka(X, X) == pytest.approx(1.0, abs=1e-12)
    assert align.mutual_knn(X, X, k=3) == 1.0
    assert align.mutual_knn(X, X, k=3, metric="euclidean") == 1.0


# --------------------------------------------------------------------- check 5: the null
@pytest.mark.parametrize("n, expected_mean", [(32, 0.205), (256, 0.0304)])
def test_null_mean_of_biased_and_unbiased_cka(n, expected_mean):
    d = 8
    b, u = [], []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        b.append(align.cka(X, Y))
        u.append(align.cka(X, Y, unbiased=True))
    closed_form = math.sqrt(d * d / ((n - 1 + d) * (n - 1 + d)))
    assert closed_form == pytest.approx(expected_mean, abs=1e-3)
    assert np.mean(b) == pytest.approx(closed_form, abs=0.01)
    assert abs(np.mean(u)) < 0.01


# --------------------------------------------------------------------- check 10: bad input
def _call(name, X, Y, **kw):
    info = align.metric(name)
    if name == "kta":  # the second argument is the task: labels, as many as Y has rows
        Y = np.arange(len(Y)) % 2
    return info.fn(X, Y, **kw)


GOOD = np.random.default_rng(0).normal(size=(12, 3))


@pytest.mark.parametrize("name", list(REGISTRY))
def test_bad_shapes_and_values_name_the_argument(name):
    with pytest.raises(ValueError, match=r"^(Y|y):"):
        _call(name, GOOD, GOOD[:10])
    bad = GOOD.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"^X: .*NaN"):
        _call(name, bad, GOOD)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"^X: .*Inf"):
        _call(name, bad, GOOD)
    with pytest.raises(ValueError, match=r"^X: expected a 2-D"):
        _call(name, GOOD[:, 0], GOOD)
    with pytest.raises(ValueError, match=r"^X: expected a 2-D"):
        _call(name, GOOD[:, :, None], GOOD)
    with pytest.raises(TypeError, match=r"^X:"):
        _call(name, "not an array", GOOD)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_constant_input_raises_or_gives_a_finite_documented_value(name):
    const = np.ones((12, 3))
    try:
        value = _call(name, const, GOOD)
    except ValueError as err:
        assert str(err).startswith("X:"), str(err)
    else:
        assert np.isfinite(value)


def test_specific_bad_inputs():
    four = GOOD[:3]
    with pytest.raises(ValueError, match=r"^X: the unbiased estimator needs at least 4"):
        align.cka(four, four + 1, unbiased=True)
    with pytest.raises(ValueError, match=r"^k: must be < n_samples=12"):
        align.mutual_knn(GOOD, GOOD, k=12)
    with pytest.raises(ValueError, match=r"^k: must be >= 2"):
        align.cknna(GOOD, GOOD, k=1)
    with pytest.raises(ValueError, match=r"^X: rank 3 \+ rank of Y 3 >= n_samples=6"):
        align.cca(GOOD[:6], GOOD[:6] ** 2)
    with pytest.raises(ValueError, match=r"^compare:"):
        align.rsa(GOOD, GOOD, compare="kendall")
    with pytest.raises(ValueError, match=r"^name: unknown measure 'cka2'; closest supported: cka"):
        align.metric("cka2")
    with pytest.raises(ValueError, match=r"^path: 'feature' needs kernel='linear'"):
        align.cka(GOOD, GOOD, kernel="rbf", path="feature")
    with pytest.raises(ValueError, match=r"^y: needs at least 2 distinct labels"):
        align.kta(GOOD, np.zeros(12, dtype=int))
    with pytest.raises(ValueError, match=r"^X: cosine similarity is undefined"):
        align.mutual_knn(np.vstack([np.zeros((1, 3)), GOOD[1:]]), GOOD)
    with pytest.raises(ValueError, match=r"^Y: cosine similarity is undefined"):
        align.cknna(GOOD, np.vstack([np.zeros((1, 3)), GOOD[1:]]))
    with pytest.raises(ValueError, match=r"^keep:"):
        align.svcca(GOOD, GOOD, keep=1.5)


def test_negative_unbiased_values_are_returned_not_nan():
    rng = np.random.default_rng(3)
    values = [align.cka(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)), unbiased=True) for _ in range(20)]
    assert min(values) < 0 and all(np.isfinite(values))
    assert isinstance(torch.tensor(values).sum().item(), float)
