"""The glossary's words in align: ``ridge`` (stitchers, KARE, compare_models) and ``knn_backend``; old names warn."""

import numpy as np
import pytest
import torch

from latentalign import align
from latentalign.align import stitching
from latentalign.align.neighbor_metrics import knn_adjacency
from latentalign.align.streaming import LinearCKA

X1 = np.random.default_rng(0).normal(size=(60, 4))
X2 = X1 @ np.random.default_rng(1).normal(size=(4, 3)) + 0.3 * np.random.default_rng(2).normal(size=(60, 3))
y = np.random.default_rng(3).integers(0, 2, size=60)


def test_stitchers_take_ridge_and_lam_is_a_deprecated_alias():
    new = align.stitch(X1, X2, ridge=1e-2)
    with pytest.warns(DeprecationWarning, match="stitch: 'lam' is deprecated, use 'ridge'.*0.3"):
        old = align.stitch(X1, X2, lam=1e-2)
    assert old.forward.e_train == new.forward.e_train and old.forward.stitcher.ridge == 1e-2
    with pytest.warns(DeprecationWarning, match="fit_stitcher: 'lam' is deprecated"):
        old = align.fit_stitcher(X1, X2, lam=1e-2)
    assert torch.equal(old.T, align.fit_stitcher(X1, X2, ridge=1e-2).T)
    with pytest.raises(TypeError, match="^ridge: got both 'lam'"):
        align.stitch(X1, X2, lam=1e-2, ridge=1e-2)


def test_stitcher_fields_are_ridge_and_ridge_eff():
    s = align.fit_stitcher(X1, X2, ridge=0.5)
    assert s.ridge == 0.5
    C11 = np.cov(X1.T, bias=True)
    assert s.ridge_eff == pytest.approx(0.5 * np.trace(C11) / 4, rel=1e-12)  # relative to tr(C11) / d1
    with pytest.warns(DeprecationWarning, match="Stitcher: 'lam' is deprecated, use 'ridge'"):
        assert s.lam == s.ridge
    with pytest.warns(DeprecationWarning, match="Stitcher: 'lam_eff' is deprecated, use 'ridge_eff'"):
        assert s.lam_eff == s.ridge_eff
    with pytest.warns(DeprecationWarning, match="'LAM_GRID' is deprecated, use 'RIDGE_GRID'"):
        assert stitching.LAM_GRID is stitching.RIDGE_GRID


def test_kare_and_streaming_stitcher_take_ridge():
    with pytest.warns(DeprecationWarning, match="kare: 'lam' is deprecated, use 'ridge'"):
        assert align.kare(X1, y, lam=0.1) == align.kare(X1, y, ridge=0.1) == align.kare(X1, y, 0.1)
    m = LinearCKA()
    m.update(X1, X2)
    with pytest.warns(DeprecationWarning, match="stitcher: 'lam' is deprecated, use 'ridge'"):
        old = m.stitcher(lam=1e-2)
    assert torch.allclose(old.T, m.stitcher(ridge=1e-2).T)


@pytest.mark.parametrize("fn", [align.mutual_knn, align.cycle_knn, align.cknna])
def test_knn_metrics_take_knn_backend(fn):
    value = fn(X1, X2, k=5, knn_backend="faiss")
    assert value == fn(X1, X2, k=5)  # every exact backend finds the same neighbours
    with pytest.warns(DeprecationWarning, match="'backend' is deprecated, use 'knn_backend'"):
        assert fn(X1, X2, k=5, backend="faiss") == value
    with pytest.warns(DeprecationWarning, match="knn_adjacency: 'backend' is deprecated"):
        old = knn_adjacency(X1, 5, backend="torch")
    assert torch.equal(old.to_dense(), knn_adjacency(X1, 5, knn_backend="torch").to_dense())
    assert "knn_backend" in align.metric("mutual_knn").options


def test_compare_models_takes_ridge():
    from latentalign.models import MLP
    from latentalign.train import make_loader

    torch.manual_seed(0)
    A, B = MLP(4, [6], 2), MLP(4, [6], 2)
    loader = make_loader(X1.astype(np.float32), y, batch_size=20)
    new = align.compare_models(A, B, loader, metrics=("cka",), ridge=1e-2)
    with pytest.warns(DeprecationWarning, match="compare_models: 'lam' is deprecated, use 'ridge'"):
        old = align.compare_models(A, B, loader, metrics=("cka",), lam=1e-2)
    for direction in ("a->b", "b->a"):
        assert (new.stitching[direction]["ridge"] == 1e-2).all()
        np.testing.assert_array_equal(old.stitching[direction]["e_train"], new.stitching[direction]["e_train"])
