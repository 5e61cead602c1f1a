"""The glossary's words in lcc: ``knn_backend`` and its values, ``return_terms``, the shared probes; old names warn."""

import numpy as np
import pytest
import torch

from latentalign import lcc
from latentalign.lcc import ClusterCorrection, ExactLCCLoss, cluster_latents
from latentalign.lcc.graph import knn_indices
from latentalign.lcc.state import cluster_options
from latentalign.train import knn_probe
from latentalign.train.distributed import is_distributed


def _blobs(seed=0, n_per=30):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0]])
    X = np.concatenate([c + rng.normal(size=(n_per, 3)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(3), n_per)


@pytest.mark.parametrize("backend", ["auto", "torch", "faiss"])
def test_exact_backends_give_the_same_neighbours(backend):
    X, _ = _blobs()
    assert (knn_indices(X, 5, backend=backend) == knn_indices(X, 5)).all()


def test_old_exact_value_warns_and_means_auto():
    X, y = _blobs()
    with pytest.warns(DeprecationWarning, match="backend='exact' is deprecated, use backend='auto'"):
        old = knn_indices(X, 5, backend="exact")
    assert (old == knn_indices(X, 5, backend="auto")).all()
    with pytest.warns(DeprecationWarning, match="knn_backend='exact' is deprecated, use knn_backend='auto'"):
        assert cluster_options(knn_backend="exact")["knn_backend"] == "auto"


def test_old_knn_keyword_warns_and_agrees():
    X, y = _blobs(1)
    with pytest.warns(DeprecationWarning) as caught:
        old = cluster_latents(X, y, 3, k=5, knn="exact")
    messages = [str(w.message) for w in caught]
    assert any("cluster_latents: 'knn' is deprecated, use 'knn_backend'" in m for m in messages)
    new = cluster_latents(X, y, 3, k=5, knn_backend="auto")
    assert torch.equal(old.communities, new.communities) and old.metrics == new.metrics
    with pytest.warns(DeprecationWarning, match="cluster_options: 'knn' is deprecated"):
        assert cluster_options(knn="ivf") == cluster_options(knn_backend="ivf")
    with pytest.warns(DeprecationWarning, match="ClusterCorrection: 'knn' is deprecated"):
        corr = ClusterCorrection("penultimate", 3, knn="faiss")
    assert corr.cluster_options["knn_backend"] == "faiss"
    with pytest.raises(TypeError, match="^knn_backend: got both 'knn'"):
        cluster_latents(X, y, 3, knn="auto", knn_backend="auto")
    assert cluster_options(preset="fast")["knn_backend"] == "ivf"


def test_loss_modules_return_their_terms():
    banks = {0: [torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([[10.0, 0.0]])]}
    u = torch.tensor([[4.0, 0.0], [9.0, 0.0]], dtype=torch.float64)
    loss = ExactLCCLoss(k_target=2)
    args = (u, torch.tensor([0, 0]), torch.tensor([True, True]), banks)
    terms = loss(*args, return_terms=True)
    assert set(terms) == {"loss"} and terms["loss"].item() == pytest.approx(loss(*args).item())
    assert terms["loss"].item() == pytest.approx(2**0.5, rel=1e-8)  # the module docstring's hand value


def test_knn_probe_accuracy_is_a_deprecated_alias_of_the_shared_probe():
    X, y = _blobs(2)
    with pytest.warns(DeprecationWarning, match="'knn_probe_accuracy' is deprecated, use 'latentalign.train.knn_pro"):
        old = lcc.knn_probe_accuracy(X[::2], y[::2], X[1::2], y[1::2], k=3)
    assert old == knn_probe(X[::2], y[::2], X[1::2], y[1::2], k=3, metric="euclidean")


def test_cluster_metrics_name_the_leave_one_out_accuracy():
    X, y = _blobs(3)
    metrics = cluster_latents(X, y, 3, k=5).metrics
    assert "loo_knn_accuracy" in metrics and "knn_accuracy" not in metrics
    assert metrics["loo_knn_accuracy"] == lcc.loo_knn_accuracy(knn_indices(X, 5), y) > 0.9


def test_one_is_distributed():
    from latentalign.lcc import distributed

    assert distributed.is_distributed is is_distributed and not is_distributed()
