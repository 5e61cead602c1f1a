"""RTD: the cross barcode against a brute-force persistence computation, invariances, errors."""

import itertools
import sys
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import special_ortho_group

from latentalign import align
from latentalign._extras import MissingExtraError
from latentalign.align.topology_measures import cross_barcode, rtd

pytest.importorskip("ripser")


def _vr_h1_bars(W: np.ndarray) -> list[tuple[float, float]]:
    """Textbook persistence over Z/2 of the Vietoris-Rips complex of W up to triangles."""
    m = W.shape[0]
    simplices = [((i,), 0.0) for i in range(m)]
    simplices += [((i, j), W[i, j]) for i, j in itertools.combinations(range(m), 2)]
    simplices += [((i, j, k), max(W[i, j], W[i, k], W[j, k])) for i, j, k in itertools.combinations(range(m), 3)]
    simplices.sort(key=lambda s: (s[1], len(s[0])))
    index = {s: t for t, (s, _) in enumerate(simplices)}
    columns, low_of = [], {}
    bars = []
    for t, (s, value) in enumerate(simplices):
        col = {index[f] for f in itertools.combinations(s, len(s) - 1)} if len(s) > 1 else set()
        while col and max(col) in low_of:
            col ^= columns[low_of[max(col)]]
        columns.append(col)
        if col:
            low_of[max(col)] = t
            birth_simplex, birth = simplices[max(col)]
            if len(birth_simplex) == 2 and value > birth:
                bars.append((birth, value))
    return sorted(bars)


def _cross_matrix(X, Y):
    def normalised(Z):
        D = np.linalg.norm(Z[:, None] - Z[None], axis=-1)
        return D / np.quantile(D, 0.9)

    A, B = normalised(X), normalised(Y)
    n = len(X)
    W = np.zeros((2 * n, 2 * n))
    W[n:, :n], W[:n, n:], W[n:, n:] = A, A.T, np.minimum(A, B)
    return W


@pytest.mark.parametrize("seed", range(6))
def test_cross_barcode_is_the_h1_persistence_of_the_joint_graph(seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    expected = _vr_h1_bars(_cross_matrix(X, Y))
    got = sorted(map(tuple, cross_barcode(X, Y)))
    assert len(got) == len(expected)
    np.testing.assert_allclose(got, expected, atol=1e-6)  # ripser stores float32 filtration values


def test_rtd_is_half_the_two_directions_summed():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    lengths = [sum(d - b for b, d in _vr_h1_bars(_cross_matrix(P, Q))) for P, Q in ((X, Y), (Y, X))]
    assert rtd(X, Y) == pytest.approx(0.5 * sum(lengths), abs=1e-5)
    assert rtd(X, Y) > 0 and rtd(X, Y) == pytest.approx(rtd(Y, X), abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([1e-3, 1.0, 7.0, 1e4]))
def test_invariant_to_rotation_translation_scale_and_row_order(seed, scale):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(25, 3))
    Y = np.tanh(X @ rng.normal(size=(3, 4)))
    value = rtd(X, Y)
    Q = special_ortho_group.rvs(3, random_state=seed)
    assert rtd(scale * X @ Q + 5.0, Y) == pytest.approx(value, rel=1e-5, abs=1e-6)
    order = rng.permutation(25)
    assert rtd(X[order], Y[order]) == pytest.approx(value, rel=1e-5, abs=1e-6)


def test_grows_with_the_distortion():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    values = [rtd(X, X + s * rng.normal(size=X.shape)) for s in (0.01, 0.3, 3.0)]
    assert values[0] < values[1] < values[2]


def test_subsets_above_the_subsample_size_are_seeded():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    a = rtd(X, Y, subsample=15, trials=3, seed=4)
    assert a == rtd(X, Y, subsample=15, trials=3, seed=4)
    assert a != rtd(X, Y, subsample=15, trials=3, seed=5)
    assert rtd(X, Y, subsample=40) == rtd(X, Y)  # all rows: one exact evaluation


def test_registered_under_its_name():
    info = align.measure("rtd")
    X = np.random.default_rng(2).normal(size=(30, 3))
    assert info.kind == "distance" and info.fn(X, X ** 2) == pytest.approx(rtd(X, X ** 2))


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda X: rtd(X, X, subsample=2), "subsample: must be >= 3"),
        (lambda X: rtd(X, X, trials=0), "trials: must be >= 1"),
        (lambda X: rtd(X, X[:10]), "Y: expected the same number of samples"),
        (lambda X: rtd(np.zeros((20, 2)), X[:20]), "X: "),
        (lambda X: rtd(X[:2], X[:2]), "X: RTD needs at least 3 samples"),
    ],
)
def test_bad_input_names_the_argument(call, words):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises((ValueError, TypeError)) as info:
        call(X)
    assert str(info.value).startswith(words)


def test_missing_ripser_is_one_line_naming_the_extra():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with mock.patch.dict(sys.modules, {"ripser": None}), pytest.raises(MissingExtraError, match="topology"):
        rtd(X, X ** 2)
