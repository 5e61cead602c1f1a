"""Spec §7 checks 1-3, 11: every metric against a textbook computation, hand values, identities."""

import math

import align_reference as ref
import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist, squareform
from scipy.stats import pearsonr, spearmanr

from latentalign import align
from latentalign.align.neighbor_metrics import knn_adjacency
from latentalign.align.rsa import dissimilarity_matrix
from latentalign.align.subspace_metrics import canonical_correlations, orthonormal_basis

XH = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
YH = XH @ np.array([[1.0, 2.0], [0.0, 1.0]])


def rand(n, d, seed):
    return np.random.default_rng(seed).normal(size=(n, d))


# --------------------------------------------------------------------- check 1: hand values
def test_hand_values_of_the_spec_example():
    assert align.ka(XH, YH) == pytest.approx(0.959718, abs=5e-7)
    assert align.hsic(XH, YH) == pytest.approx(5 / 3, abs=1e-12)
    assert align.cka(XH, YH) == pytest.approx(15 / math.sqrt(329), abs=1e-12)
    assert align.hsic(XH, YH, unbiased=True) == pytest.approx(0.5, abs=1e-12)
    assert align.hsic(XH, XH, unbiased=True) == pytest.approx(0.5, abs=1e-12)
    assert align.hsic(YH, YH, unbiased=True) == pytest.approx(19 / 6, abs=1e-12)
    assert align.cka(XH, YH, unbiased=True) == pytest.approx(0.5 / math.sqrt(0.5 * 19 / 6), abs=1e-12)
    assert align.cka(XH, YH, unbiased=True) == pytest.approx(0.397360, abs=5e-7)
    assert align.procrustes_similarity(XH, YH) == pytest.approx(0.899735, abs=5e-7)


@pytest.mark.parametrize("X, Y", [(XH, YH), (rand(7, 3, 0), rand(7, 4, 1))], ids=["hand", "random"])
def test_kernel_metrics_equal_textbook(X, Y):
    K, L = X @ X.T, Y @ Y.T
    assert align.ka(X, Y) == pytest.approx(ref.ka(K, L), abs=1e-12)
    assert align.ka(X, Y, kernel="rbf") == pytest.approx(ref.ka(ref.rbf_gram(X), ref.rbf_gram(Y)), abs=1e-12)
    assert align.hsic(X, Y) == pytest.approx(ref.hsic_b(K, L), abs=1e-12)
    assert align.hsic(X, Y, unbiased=True) == pytest.approx(ref.hsic_u(K, L), abs=1e-12)
    for unbiased in (False, True):
        assert align.cka(X, Y, unbiased=unbiased) == pytest.approx(ref.cka_from_grams(K, L, unbiased), abs=1e-12)
        expected = ref.cka_from_grams(ref.rbf_gram(X), ref.rbf_gram(Y), unbiased)
        assert align.cka(X, Y, kernel="rbf", unbiased=unbiased) == pytest.approx(expected, abs=1e-12)
    assert align.dcor(X, Y) == pytest.approx(ref.dcor(X, Y), abs=1e-12)


@pytest.mark.parametrize("X, Y", [(XH, YH), (rand(9, 3, 2), rand(9, 5, 3))], ids=["hand", "random"])
@pytest.mark.parametrize("rdm", ["euclidean", "sqeuclidean", "cosine", "correlation"])
def test_rsa_equals_scipy(X, Y, rdm):
    if rdm == "correlation" and X.shape[1] < 3:  # 2 features: every correlation is +-1
        extra = np.array([[0.5], [2.0], [-1.0], [3.0]])
        X, Y = np.hstack([X, extra]), np.hstack([Y, extra])
    a, b = pdist(X, rdm), pdist(Y, rdm)
    assert align.rsa(X, Y, rdm=rdm) == pytest.approx(pearsonr(a, b)[0], abs=1e-12)
    assert align.rsa(X, Y, rdm=rdm, compare="spearman") == pytest.approx(spearmanr(a, b)[0], abs=1e-12)
    assert align.rsa(X, Y, rdm=rdm, compare="cosine") == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b),
                                                                       abs=1e-12)
    K, L = -0.5 * squareform(a), -0.5 * squareform(b)
    assert align.rsa(X, Y, rdm=rdm, compare="centered") == pytest.approx(ref.cka_from_grams(K, L), abs=1e-12)
    assert dissimilarity_matrix(X, rdm).numpy() == pytest.approx(squareform(a), abs=1e-12)


@pytest.mark.parametrize("X, Y, k", [(XH, YH, 1), (XH, YH, 2), (rand(30, 4, 4), rand(30, 6, 5), 5),
                                     (rand(30, 4, 4), rand(30, 6, 5), 29)])
def test_neighbour_metrics_equal_platonic_rep_restatement(X, Y, k):
    assert align.mutual_knn(X, Y, k=k) == pytest.approx(ref.mutual_knn(X, Y, k), abs=1e-12)
    assert align.cycle_knn(X, Y, k=k) == pytest.approx(ref.cycle_knn(X, Y, k), abs=1e-12)
    if k >= 2 and X.shape[0] > 4:
        assert align.cknna(X, Y, k=k) == pytest.approx(ref.cknna(X, Y, k), abs=1e-12)


def test_cknna_on_hand_example_matches_restatement():
    # k = n-1: every off-diagonal pair is masked in. Y's self-term is 7e-4, left after O(1) terms
    # cancel, so the dense restatement carries 1e-12 of rounding; 50-digit arithmetic (mpmath)
    # gives 1 - 1.4e-47 for the exact value.
    assert align.cknna(XH, YH, k=3) == pytest.approx(1.0, abs=1e-12)
    assert align.cknna(XH, YH, k=3) == pytest.approx(ref.cknna(XH, YH, 3), abs=1e-11)


def test_cca_and_svcca_equal_textbook():
    X, Y = rand(40, 3, 6), rand(40, 4, 7)
    Y[:, 0] += 2 * X[:, 0]
    rho = ref.canonical_correlations(X, Y)
    np.testing.assert_allclose(canonical_correlations(X, Y), rho, atol=1e-12)
    assert align.cca(X, Y) == pytest.approx(rho.mean(), abs=1e-12)
    assert align.cca(X, Y, squared=True) == pytest.approx((rho**2).mean(), abs=1e-12)
    # SVCCA: PCA to 99% of the variance, then CCA
    Xl = rand(60, 3, 8) @ rand(3, 10, 9) + 1e-3 * rand(60, 10, 10)  # rank ~3 plus noise
    Yl = rand(60, 4, 11) @ rand(4, 8, 12) + 1e-3 * rand(60, 8, 13)
    Xp, Yp = ref.pca_scores(Xl, 0.99), ref.pca_scores(Yl, 0.99)
    assert Xp.shape[1] == 3 and Yp.shape[1] == 4
    assert align.svcca(Xl, Yl) == pytest.approx(ref.canonical_correlations(Xp, Yp).mean(), abs=1e-10)
    assert align.svcca(Xl, Yl, dims=(2, 3)) == pytest.approx(
        ref.canonical_correlations(Xp[:, :2], Yp[:, :3]).mean(), abs=1e-10)


@pytest.mark.parametrize("X, Y", [(XH, YH), (rand(20, 3, 14), rand(20, 5, 15)), (rand(6, 10, 16), rand(6, 3, 17))],
                         ids=["hand", "d<n", "d>n"])
def test_procrustes_equals_netrep_angular_metric(X, Y):
    assert align.procrustes(X, Y) == pytest.approx(ref.procrustes_angle(X, Y), abs=1e-8)
    P = align.procrustes_similarity(X, Y)
    assert align.procrustes(X, Y, distance="euclidean") == pytest.approx(math.sqrt(2 - 2 * P), abs=1e-12)


def test_kta_spectral_and_task_spectrum_equal_textbook():
    X, y = rand(12, 3, 18), np.array([0, 1, 2] * 4)
    Y = np.eye(3)[y]
    assert align.kta(X, y) == pytest.approx(ref.cka_from_grams(X @ X.T, Y @ Y.T), abs=1e-12)
    assert align.kta(X, Y) == pytest.approx(align.kta(X, y), abs=1e-15)
    # spectral contributions from an eigendecomposition of the centred Grams
    Z = rand(12, 4, 19)
    H = ref.centering(12)
    lam, V = np.linalg.eigh(H @ X @ X.T @ H)
    mu, W = np.linalg.eigh(H @ Z @ Z.T @ H)
    lam, V, mu, W = lam[lam > 1e-9], V[:, lam > 1e-9], mu[mu > 1e-9], W[:, mu > 1e-9]
    C = np.outer(lam, mu) * (V.T @ W) ** 2 / (np.linalg.norm(lam) * np.linalg.norm(mu))
    sp = align.spectral(X, Z)
    order_x, order_y = np.argsort(-lam), np.argsort(-mu)
    np.testing.assert_allclose(sp.contributions, C[np.ix_(order_x, order_y)], atol=1e-12)
    assert sp.cumulative_x[-1] == pytest.approx(sp.total) and sp.cumulative_y[-1] == pytest.approx(sp.total)
    # cumulative power and KARE from dense matrices
    Yc = Y - Y.mean(0)
    power = ((V[:, order_x].T @ Yc) ** 2).sum(1)
    np.testing.assert_allclose(align.cumulative_power(X, y), np.cumsum(power) / (Yc**2).sum(), atol=1e-12)
    n, lam_r = 12, 0.3
    Kc = H @ X @ X.T @ H
    inv = np.linalg.inv(Kc / n + lam_r * np.eye(n))
    expected = (np.linalg.norm(inv @ Yc) ** 2 / n) / (np.trace(inv) / n) ** 2
    assert align.kare(X, y, lam_r) == pytest.approx(expected, rel=1e-10)


# --------------------------------------------------------------------- check 2: paths agree
@pytest.mark.parametrize("unbiased", [False, True])
def test_gram_path_equals_feature_path_and_blocking(unbiased):
    X, Y = rand(50, 4, 20), rand(50, 6, 21)
    feat = align.cka(X, Y, unbiased=unbiased, path="feature")
    for kw in ({"path": "gram"}, {"path": "gram", "block_size": 7}, {"path": "gram", "block_size": 1}):
        assert align.cka(X, Y, unbiased=unbiased, **kw) == pytest.approx(feat, abs=1e-10)
    assert align.ka(X, Y, path="gram", block_size=9) == pytest.approx(align.ka(X, Y, path="feature"), abs=1e-10)
    assert align.cka(X, Y, kernel="rbf", unbiased=unbiased, block_size=11) == pytest.approx(
        align.cka(X, Y, kernel="rbf", unbiased=unbiased), abs=1e-10)
    for compare in ("pearson", "cosine", "centered", "spearman"):
        assert align.rsa(X, Y, compare=compare, block_size=6) == pytest.approx(align.rsa(X, Y, compare=compare),
                                                                               abs=1e-10)


def test_unbiased_hsic_and_cka_translation_invariant_far_from_origin():
    X, Y = rand(60, 5, 22), rand(60, 3, 23) + rand(60, 5, 22)[:, :3]
    for path in ("feature", "gram"):
        base = align.hsic(X, Y, unbiased=True, path=path)
        assert align.hsic(X + 1e3, Y - 5e2, unbiased=True, path=path) == pytest.approx(base, rel=1e-10)
        assert align.cka(X + 1e3, Y, unbiased=True, path=path) == pytest.approx(
            align.cka(X, Y, unbiased=True), rel=1e-10)


def test_distance_based_metrics_exact_far_from_origin():
    # a row's distance to itself must be exactly 0, not sqrt(rounding of ||x||^2 - 2 x.x + ||x||^2)
    X, Y = rand(30, 4, 29), rand(30, 3, 30)
    assert align.dcor(X + 1e3, Y) == pytest.approx(align.dcor(X, Y), abs=1e-10)
    assert align.rsa(X + 1e3, Y, compare="centered") == pytest.approx(align.rsa(X, Y, compare="centered"), abs=1e-10)


# --------------------------------------------------------------------- check 3: identities
def test_identities():
    X, Y = rand(40, 5, 24), rand(40, 3, 25) + rand(40, 5, 24)[:, :3] ** 2
    minus_dist = lambda A, B: -((A[:, None] - B[None]) ** 2).sum(-1).sqrt()
    assert align.dcor(X, Y) ** 2 == pytest.approx(align.cka(X, Y, kernel=minus_dist, path="gram"), abs=1e-10)
    assert align.rsa(X, Y, rdm="sqeuclidean", compare="centered") == pytest.approx(align.cka(X, Y), abs=1e-10)
    assert align.spectral(X, Y).total == pytest.approx(align.cka(X, Y), abs=1e-10)
    assert align.spectral(X, Y, center=False).total == pytest.approx(align.ka(X, Y), abs=1e-10)
    Ax = knn_adjacency(X, 5).to_dense().numpy()
    Ay = knn_adjacency(Y, 5).to_dense().numpy()
    assert align.mutual_knn(X, Y, k=5) == pytest.approx(ref.ka(Ax, Ay), abs=1e-10)
    unit = lambda Z: Z / np.linalg.norm(Z, axis=1, keepdims=True)
    assert align.cknna(X, Y, k=39) == pytest.approx(align.cka(unit(X), unit(Y), unbiased=True), abs=1e-10)


def test_torch_inputs_give_differentiable_float64_tensors():
    X = torch.tensor(rand(30, 4, 26), requires_grad=True)
    Y = torch.tensor(rand(30, 3, 27))
    for name in ("ka", "cka", "dcor", "rsa", "cknna", "cca", "procrustes"):
        value = align.metric(name).fn(X, Y)
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64 and value.ndim == 0, name
        (grad,) = torch.autograd.grad(value, X)
        assert torch.isfinite(grad).all(), name
    assert isinstance(align.mutual_knn(X, Y), torch.Tensor)
    assert isinstance(align.cka(X.detach().numpy(), Y.numpy()), float)


def test_svcca_keeps_directions_by_variance():
    Z = np.diag([10.0, 1.0, 0.01]) @ np.eye(3)
    Z = rand(100, 3, 28) @ Z
    assert orthonormal_basis(torch.tensor(Z), keep=0.95).shape[1] == 1
    assert orthonormal_basis(torch.tensor(Z), keep=0.9999).shape[1] == 2
    assert orthonormal_basis(torch.tensor(Z)).shape[1] == 3


# --------------------------------------------------------------------- the MMD form of alignment
def _mmd_joint_vs_product(K, L):
    """MMD^2 between the joint sample {(x_i, y_i)} (weights 1/n) and the product sample {(x_i, y_j)}
    (weights 1/n^2) under the product kernel K[i, i'] L[j, j'], by explicit loops over both samples."""
    n = len(K)
    joint = [((i, i), 1 / n) for i in range(n)]
    product = [((i, j), 1 / n**2) for i in range(n) for j in range(n)]

    def mean_embedding_product(P, Q):
        return sum(wp * wq * K[a, c] * L[b, d] for (a, b), wp in P for (c, d), wq in Q)

    return (mean_embedding_product(joint, joint) - 2 * mean_embedding_product(joint, product)
            + mean_embedding_product(product, product))


def test_mmd_alignment_hand_value():
    # Xc^T Yc = [[2, 3], [-1, -1]] by hand, so ||C12||_F^2 = 15 / 4^2; and ((n-1)/n)^2 HSIC_b = (9/16)(5/3)
    assert align.mmd_alignment(XH, YH) == pytest.approx(15 / 16, abs=1e-15)


@pytest.mark.parametrize("X, Y", [(XH, YH), (rand(6, 3, 4), rand(6, 2, 5))], ids=["hand", "random"])
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_mmd_alignment_is_the_mmd_between_joint_and_product_of_marginals(X, Y, kernel):
    K, L = (Z @ Z.T for Z in (X, Y)) if kernel == "linear" else (ref.rbf_gram(X), ref.rbf_gram(Y))
    assert align.mmd_alignment(X, Y, kernel=kernel) == pytest.approx(_mmd_joint_vs_product(K, L), abs=1e-12)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_mmd_alignment_normalised_by_its_self_terms_is_cka(kernel):
    """The paper's relation: kernel alignment (centred) is the MMD form normalised by its self-terms."""
    X, Y = rand(40, 5, 6), rand(40, 3, 7)
    Y = Y + X[:, :3]
    xy, xx, yy = (align.mmd_alignment(A, B, kernel=kernel) for A, B in ((X, Y), (X, X), (Y, Y)))
    assert xy / math.sqrt(xx * yy) == pytest.approx(align.cka(X, Y, kernel=kernel), abs=1e-12)
    n = len(X)
    assert xy == pytest.approx(((n - 1) / n) ** 2 * align.hsic(X, Y, kernel=kernel), rel=1e-12)


def test_mmd_alignment_vanishes_without_dependence_and_paths_agree():
    X = rand(50, 4, 8)
    const = np.ones((50, 2))
    assert align.mmd_alignment(X, const) == pytest.approx(0.0, abs=1e-15)  # a constant carries no dependence
    Y = X @ rand(4, 3, 9)
    assert align.mmd_alignment(X, Y, path="gram") == pytest.approx(align.mmd_alignment(X, Y, path="feature"),
                                                                    rel=1e-10)
    t = align.mmd_alignment(torch.tensor(X, requires_grad=True), torch.tensor(Y))
    assert t.dtype == torch.float64 and t.ndim == 0 and t.requires_grad
