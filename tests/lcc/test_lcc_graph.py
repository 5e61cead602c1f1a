"""kNN graph (check 5), PCA, the IVF backend, modularity (check 6) and seeded communities."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sknetwork.clustering import get_modularity

from latentalign.lcc.communities import detect_communities, modularity, relabel_by_size
from latentalign.lcc.graph import knn_graph, knn_indices, pca_project


def _brute(X: np.ndarray, k: int) -> np.ndarray:
    X = X.astype(np.float64)
    out = []
    for i in range(X.shape[0]):
        d = ((X - X[i]) ** 2).sum(1)
        ids = np.array([j for j in np.lexsort((np.arange(len(d)), d)) if j != i])
        out.append(ids[:k])
    return np.array(out)


@given(st.integers(0, 10_000), st.integers(1, 6))
def test_exact_neighbours_and_graph_on_ties_and_duplicates(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(30, 2)).astype(np.float32)  # many ties and duplicated rows
    idx = knn_indices(X, k)
    assert (idx.numpy() == _brute(X, k)).all()
    assert (knn_indices(X, k, backend="faiss") == idx).all()
    A = knn_graph(idx)
    n = X.shape[0]
    assert sp.isspmatrix_csr(A) and A.shape == (n, n)
    assert (A != A.T).nnz == 0 and set(np.unique(A.data)) == {1.0}
    assert A.diagonal().sum() == 0
    assert np.asarray(A.sum(1)).min() >= k
    assert n * k <= A.nnz <= 2 * n * k
    dense = np.zeros((n, n))
    dense[np.repeat(np.arange(n), k), idx.numpy().ravel()] = 1
    assert (A.toarray() == np.maximum(dense, dense.T)).all()


def test_graph_rejects_self_loops_and_bad_ids():
    with pytest.raises(ValueError, match="^indices: a row lists itself"):
        knn_graph(np.array([[1], [1]]))
    with pytest.raises(ValueError, match="^indices: neighbour ids"):
        knn_graph(np.array([[1], [5]]))


def test_k_must_be_below_n():
    with pytest.raises(ValueError, match="^k: must be < n_samples=4"):
        knn_indices(np.random.default_rng(0).normal(size=(4, 2)), 4)
    with pytest.raises(ValueError, match="^backend: expected one of"):
        knn_indices(np.random.default_rng(0).normal(size=(4, 2)), 2, backend="hnsw")


def _blobs(n_per, centres, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    X = np.concatenate([c + scale * rng.normal(size=(n_per, len(c))) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(len(centres)), n_per)


def test_ivf_is_seeded_and_close_to_exact_on_structured_data():
    rng = np.random.default_rng(1)
    X, _ = _blobs(200, 6 * rng.normal(size=(10, 16)), seed=1, scale=1.0)
    exact = knn_indices(X, 10).numpy()
    ivf = knn_indices(X, 10, backend="ivf", seed=0).numpy()
    assert (knn_indices(X, 10, backend="ivf", seed=0).numpy() == ivf).all()
    assert (ivf != np.arange(len(X))[:, None]).all() and ivf.min() >= 0
    assert all(len(set(row)) == 10 for row in ivf)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, ivf)])
    assert recall >= 0.9


def test_ivf_falls_back_to_exact_when_the_probed_lists_are_short():
    # 81 points: 9 non-empty lists, 8 probed -> at most 79 non-self candidates < k = 80 for every query
    X, _ = _blobs(9, 100 * np.eye(9), seed=2, scale=0.5)
    assert (knn_indices(X, 80, backend="ivf") == knn_indices(X, 80)).all()


def test_pca_matches_the_principal_axes_with_fixed_signs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)) * np.array([5.0, 3.0, 2.0, 0.5, 0.2, 0.1])
    X = X @ np.linalg.qr(rng.normal(size=(6, 6)))[0]
    P = pca_project(X, 3).numpy().astype(np.float64)
    Xc = X - X.mean(0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    axes = vt[:3].T
    axes *= np.sign(axes[np.abs(axes).argmax(0), np.arange(3)])
    assert np.allclose(P, Xc @ axes, atol=1e-4)
    assert pca_project(X, 6).shape == (200, 6)
    with pytest.raises(ValueError, match="^pca_dim"):
        pca_project(X, 0)
    with pytest.raises(ValueError, match="^pca_dim: must be <= the 6 features"):  # issue 13: no silent clamp
        pca_project(X, 8)


def test_randomized_pca_above_the_eigh_limit_is_seeded_and_accurate():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(2100, 4)))[0]
    X = (rng.normal(size=(60, 4)) * [9.0, 7.0, 5.0, 3.0]) @ basis.T + 1e-3 * rng.normal(size=(60, 2100))
    P = pca_project(X, 4, seed=1).numpy()
    assert (pca_project(X, 4, seed=1).numpy() == P).all()
    Xc = X - X.mean(0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    axes = vt[:4].T
    axes *= np.sign(axes[np.abs(axes).argmax(0), np.arange(4)])
    assert np.allclose(P, Xc @ axes, atol=1e-2 * np.abs(P).max())


def _two_triangles():
    edges = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    r, c = np.array(edges).T
    return sp.csr_matrix((np.ones(14), (np.r_[r, c], np.r_[c, r])), shape=(6, 6)), edges


def test_modularity_of_two_triangles():
    A, edges = _two_triangles()
    part = np.array([0, 0, 0, 1, 1, 1])
    assert modularity(A, part) == pytest.approx(5 / 14, abs=1e-12)
    G = nx.Graph(edges)
    assert nx.community.modularity(G, [{0, 1, 2}, {3, 4, 5}]) == pytest.approx(5 / 14, abs=1e-12)
    assert get_modularity(A, part) == pytest.approx(5 / 14, abs=1e-12)
    for method in ("louvain", "leiden", "networkx"):
        assert detect_communities(A, method=method).tolist() == part.tolist()
    # resolution gamma scales the degree term: sum_b [e_b/2M - gamma (D_b/2M)^2]
    assert modularity(A, part, resolution=2.0) == pytest.approx(6 / 7 - 2 * 2 * (7 / 14) ** 2, abs=1e-12)


@given(st.integers(0, 10_000))
def test_modularity_matches_networkx_on_random_partitions(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    A = knn_graph(knn_indices(X, 3))
    part = rng.integers(0, 4, size=40)
    G = nx.from_scipy_sparse_array(A)
    groups = [set(np.flatnonzero(part == b).tolist()) for b in np.unique(part)]
    assert modularity(A, part) == pytest.approx(nx.community.modularity(G, groups), abs=1e-12)


def test_communities_are_seeded_and_agree_with_the_networkx_oracle():
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(3)
    X, y = _blobs(100, 5 * rng.normal(size=(6, 8)), seed=3, scale=1.0)
    A = knn_graph(knn_indices(X, 10))
    a = detect_communities(A, seed=7)
    assert (detect_communities(A, seed=7) == a).all()
    sizes = np.bincount(a)
    assert (np.diff(sizes) <= 0).all()  # relabelled by decreasing size
    oracle = detect_communities(A, method="networkx", seed=0)
    assert adjusted_rand_score(oracle, a) >= 0.9
    assert abs(modularity(A, a) - modularity(A, oracle)) <= 0.01
    assert (detect_communities(A, method="leiden", seed=7) == detect_communities(A, method="leiden", seed=7)).all()


def test_igraph_leiden_uses_modularity_is_seeded_and_leaves_the_global_rng_alone():
    pytest.importorskip("igraph")
    import random

    A, _ = _two_triangles()
    assert detect_communities(A, method="igraph-leiden").tolist() == [0, 0, 0, 1, 1, 1]
    rng = np.random.default_rng(3)
    X, _ = _blobs(100, 5 * rng.normal(size=(6, 8)), seed=3, scale=1.0)
    G = knn_graph(knn_indices(X, 10))
    random.seed(5)
    expect = random.random()
    random.seed(5)
    a = detect_communities(G, method="igraph-leiden", seed=7)
    assert random.random() == expect
    assert (detect_communities(G, method="igraph-leiden", seed=7) == a).all()
    # the modularity objective (igraph's default, CPM with resolution 1, would split into singletons)
    assert abs(modularity(G, a) - modularity(G, detect_communities(G))) <= 0.01 and a.max() + 1 < 20


def test_relabel_by_size_breaks_ties_by_smallest_member():
    assert relabel_by_size([5, 5, 2, 9, 9, 2, 2]).tolist() == [1, 1, 0, 2, 2, 0, 0]
    assert relabel_by_size([3, 1, 3, 1]).tolist() == [0, 1, 0, 1]


def test_bad_community_arguments():
    A, _ = _two_triangles()
    with pytest.raises(ValueError, match="^resolution"):
        detect_communities(A, resolution=0.0)
    with pytest.raises(ValueError, match="^method"):
        detect_communities(A, method="spectral")
    with pytest.raises(TypeError, match="^graph"):
        detect_communities(A.toarray())
    with pytest.raises(ValueError, match="^communities"):
        modularity(A, [0, 1])
