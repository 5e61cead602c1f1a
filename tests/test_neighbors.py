"""Exact kNN: blocked torch and faiss against a brute-force stable argsort."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from latentalign.neighbors import knn


def brute_force(X, k, queries=None, metric="euclidean"):
    """Full float64 distance matrix, stable argsort: ties go to the smaller index."""
    X = np.asarray(X, dtype=np.float64)
    Q = X if queries is None else np.asarray(queries, dtype=np.float64)
    if metric == "cosine":
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        D = 1.0 - Q @ X.T
    else:
        D = ((Q[:, None] - X[None]) ** 2).sum(-1)
    if queries is None:
        np.fill_diagonal(D, np.inf)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    d = np.take_along_axis(D, idx, 1)
    return idx, (d if metric == "cosine" else np.sqrt(d))


@pytest.mark.parametrize("backend", ["torch", "faiss", "auto"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_brute_force_on_random_data(backend, metric, dtype):
    X = np.random.default_rng(0).normal(size=(300, 16)).astype(dtype)
    nb = knn(X, 10, metric=metric, backend=backend, block_size=37)
    idx, dist = brute_force(X, 10, metric=metric)
    np.testing.assert_array_equal(nb.indices.numpy(), idx)
    np.testing.assert_allclose(nb.distances.numpy(), dist, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_ties_go_to_the_smaller_index_and_duplicates_stay_neighbours(backend):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(200, 2)).astype(np.float32)  # 9 distinct points, many ties
    nb = knn(X, 25, backend=backend, block_size=16)
    idx, _ = brute_force(X, 25)
    np.testing.assert_array_equal(nb.indices.numpy(), idx)
    distinct = np.array([[0, 0], [5, 0], [0, 5], [5, 5], [9, 9]], dtype=np.float32)
    dup = np.vstack([distinct, distinct])
    nb = knn(dup, 1, backend=backend)
    assert nb.indices[:, 0].tolist() == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]
    assert float(nb.distances.max()) == 0.0


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_separate_queries_include_every_database_row(backend):
    rng = np.random.default_rng(2)
    X, Q = rng.normal(size=(50, 5)), rng.normal(size=(20, 5))
    nb = knn(X, 50, queries=Q, backend=backend)
    idx, dist = brute_force(X, 50, queries=Q)
    np.testing.assert_array_equal(nb.indices.numpy(), idx)
    np.testing.assert_allclose(nb.distances.numpy(), dist, rtol=1e-6)


def test_k_equal_n_minus_one_returns_every_other_row():
    X = torch.randn(6, 3)
    nb = knn(X, 5)
    for i, row in enumerate(nb.indices.tolist()):
        assert sorted(row) == [j for j in range(6) if j != i]


@given(st.integers(0, 10_000), st.integers(1, 8))
def test_row_permutation_permutes_the_answer(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 4))
    perm = rng.permutation(30)
    base = knn(X, k).indices.numpy()
    permuted = knn(X[perm], k).indices.numpy()
    inverse = np.argsort(perm)
    np.testing.assert_array_equal(perm[permuted], base[perm])
    assert inverse[perm[0]] == 0


@pytest.mark.parametrize(
    "kwargs, name, words",
    [
        (dict(X=np.ones((5, 2)), k=5), "k", "< n_samples=5"),
        (dict(X=np.ones((5, 2)), k=0), "k", ">= 1"),
        (dict(X=np.ones((5, 2)), k=2.5), "k", "integer"),
        (dict(X=np.ones((5, 2)), k=6, queries=np.ones((2, 2))), "k", "< n_samples=6"),
        (dict(X=np.ones((5, 2)), k=2, queries=np.ones((2, 3))), "queries", "features"),
        (dict(X=np.ones(5), k=2), "X", "2-D"),
        (dict(X=np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), k=1, metric="cosine"), "X", "all-zero"),
        (dict(X=np.ones((5, 2)), k=2, metric="manhattan"), "metric", "one of"),
        (dict(X=np.ones((5, 2)), k=2, backend="annoy"), "backend", "one of"),
        (dict(X=np.full((5, 2), np.nan), k=2), "X", "NaN"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name, words):
    with pytest.raises((ValueError, TypeError)) as info:
        knn(**kwargs)
    assert str(info.value).startswith(f"{name}:") and words in str(info.value)
