"""Collection by sample id, the sample-order check (check 7) and the clustering step's state."""

import numpy as np
import pytest
import torch
from torch import nn

from latentalign.lcc import SampleIdDataset, cluster_latents, collect_latents
from latentalign.models import MLP
from latentalign.train import make_loader


def _three_blobs(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(3).repeat_interleave(n // 3)
    centres = torch.tensor([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]])
    return centres[y] + 0.7 * torch.randn(n, 4, generator=g), y


def _model():
    torch.manual_seed(0)
    return MLP(4, (16, 8), 3)


def test_sample_order_does_not_change_the_clustering():
    X, y = _three_blobs()
    model = _model()
    runs = []
    for shuffle, seed in ((False, 0), (True, 1), (True, 2)):
        col = collect_latents(model, make_loader(X, y, batch_size=32, shuffle=shuffle, seed=seed), "penultimate")
        runs.append((col, cluster_latents(col.latents["penultimate"], col.labels, 3, k=10)))
    (c0, s0) = runs[0]
    assert (c0.labels == y).all() and c0.present.all()
    for col, s in runs[1:]:
        assert torch.allclose(col.latents["penultimate"], c0.latents["penultimate"], atol=1e-5)
        assert (col.labels == c0.labels).all()
        assert (s.communities == s0.communities).all()  # canonical labels: equal, not just up to relabelling
        assert (s.cc == s0.cc).all() and (s.mc == s0.mc).all()
    assert s0.metrics["cc_share"] > 0.8
    # canary: labels taken in the shuffled loader's order, clusters by id -> purity near 1/C
    loader = make_loader(X, y, batch_size=32, shuffle=True, seed=1)
    y_loader_order = torch.cat([b[1] for b in loader]).numpy()
    c = s0.communities.numpy()
    M = np.zeros((3, c.max() + 1))
    np.add.at(M, (y_loader_order, c), 1)
    assert M.max(0).sum() / len(c) < 0.45


def test_repeated_ids_keep_the_first_row_and_missing_ids_are_errors():
    model = _model()
    X, y = _three_blobs(30)
    first = (X[:4], y[:4], torch.arange(4))
    again = (X[:4] + 100.0, y[:4], torch.arange(4))  # padding repeats ids 0..3 with other inputs
    rest = (X[4:], y[4:], torch.arange(4, 30))
    col = collect_latents(model, [first, rest, again], "penultimate", n_samples=30)
    ref = collect_latents(model, make_loader(X, y), "penultimate")
    assert torch.allclose(col.latents["penultimate"], ref.latents["penultimate"], atol=1e-6)
    with pytest.raises(ValueError, match="^expected_n: 26 of 30 sample ids never appeared"):
        collect_latents(model, [first], "penultimate", n_samples=30)
    part = collect_latents(model, [first], "penultimate", n_samples=30, allow_missing=True)
    assert part.present.sum() == 4 and (part.labels[4:] == -1).all()
    assert torch.allclose(part.latents["penultimate"][:4], ref.latents["penultimate"][:4])


def test_training_flags_are_restored_and_dict_batches_work():
    model = _model()
    model.train()
    X, y = _three_blobs(30)
    batches = [{"x": X[:15], "y": y[:15], "idx": torch.arange(15)},
               {"x": X[15:], "y": y[15:], "idx": torch.arange(15, 30)}]
    col = collect_latents(model, batches, ["hidden1", "penultimate"], n_samples=30)
    assert model.training and all(m.training for m in model.modules())
    assert col.latents["hidden1"].shape == (30, 16) and col.latents["penultimate"].shape == (30, 8)


def test_sample_id_dataset_adds_ids():
    x, label, idx = SampleIdDataset(np.ones((5, 2)), np.arange(5) % 2)[3]
    assert int(idx) == 3 and int(label) == 1


def test_bad_collection_inputs():
    model = _model()
    X, y = _three_blobs(30)
    with pytest.raises(ValueError, match=r"^layers: unknown layer 'body.2'; valid names: \['input', 'hidden1'"):
        collect_latents(model, make_loader(X, y), "body.2")
    with pytest.raises(ValueError, match="^batch: batches need sample ids.*IndexedDataset"):
        collect_latents(model, [(X, y)], "penultimate", n_samples=30)
    with pytest.raises(ValueError, match="^loader: batches carry no labels"):
        collect_latents(model, [(X, None, torch.arange(30))], "penultimate", n_samples=30)
    with pytest.raises(ValueError, match="^max_bytes: recording 30 samples"):
        collect_latents(model, make_loader(X, y), "penultimate", max_bytes=100)
    with pytest.raises(ValueError, match="^n_samples"):
        collect_latents(model, [(X, y, torch.arange(30))], "penultimate")

    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pair = Pair()

        def forward(self, x):
            return self.pair(x)[0]

    # a tuple's first element is the output (the transformers and torch.nn convention)
    assert torch.equal(collect_latents(Net(), make_loader(X, y), "pair").latents["pair"], X)


def test_state_fields_banks_and_metrics():
    X, y = _three_blobs()
    y = y.clone()
    y[:5] = -1  # ignored labels stay nodes but count nowhere
    s = cluster_latents(X, y, 3, k=10)
    n = len(y)
    assert s.graph.shape == (n, n) and s.communities.shape == (n,)
    assert not (s.cc[:5] | s.mc[:5]).any()
    assert (s.cc ^ s.mc)[5:].all()
    for b, bank in s.banks.items():
        members = (s.communities == b) & s.cc
        assert torch.equal(bank, X[members])
    m = s.metrics
    assert m["n_labelled"] == n - 5 and m["cc_share"] + m["mc_share"] == pytest.approx(1.0)
    assert m["cc_share"] == pytest.approx(float(s.cc.sum()) / (n - 5))
    assert 0.5 < m["modularity"] < 1 and m["n_communities"] == s.n_clusters
    assert m["nmi"] > 0.75 and m["ari"] > 0.6 and m["loo_knn_accuracy"] > 0.95
    assert set(s.timings) >= {"pca", "knn", "graph", "communities", "matching", "banks"}
    again = cluster_latents(X, y, 3, k=10)
    assert (again.communities == s.communities).all()
    assert all(torch.equal(again.banks[b], s.banks[b]) for b in s.banks)


def test_fast_preset_and_pca_only_shape_the_graph():
    X, y = _three_blobs()
    wide = torch.cat([X, 0.01 * torch.randn(len(X), 96, generator=torch.Generator().manual_seed(0))], 1)
    s = cluster_latents(wide, y, 3, preset="fast")
    assert s.latents.shape == (300, 100)  # banks and targets keep the raw latents
    assert next(iter(s.banks.values())).shape[1] == 100
    assert s.metrics["cc_share"] > 0.9
    p = cluster_latents(wide, y, 3, pca_dim=2)
    assert p.metrics["cc_share"] > 0.9


def test_shuffled_matching_ablation():
    X, y = _three_blobs()
    s = cluster_latents(X, y, 3, k=10, matching="shuffled", seed=0)
    # masks use the true clusters, the matching comes from shuffled clusters: MC share ~ 1 - 1/C or more
    assert s.metrics["mc_share"] > 0.5
    aligned = cluster_latents(X, y, 3, k=10, seed=0)
    assert (aligned.communities == s.communities).all()
    assert s.metrics["purity"] == aligned.metrics["purity"] == aligned.metrics["cc_share"]
    cprime = torch.from_numpy(np.asarray(s.communities)[np.random.default_rng(0).permutation(300)])
    for b, bank in s.banks.items():
        members = (cprime == b) & (y == s.matching[b])
        assert torch.equal(bank, X[members])


def test_bad_clustering_inputs():
    X, y = _three_blobs(30)
    with pytest.raises(ValueError, match="^k: must be < n_samples=30"):
        cluster_latents(X, y, 3, k=30)
    with pytest.raises(ValueError, match="^labels: labels must be < n_classes=2"):
        cluster_latents(X, y, 2)
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="^latents: contains 1 non-finite value"):
        cluster_latents(bad, y, 3)
    with pytest.raises(ValueError, match="^resolution"):
        cluster_latents(X, y, 3, resolution=-1.0)
    with pytest.raises(ValueError, match="^pca_dim"):
        cluster_latents(X, y, 3, pca_dim=0)
    with pytest.raises(ValueError, match="^labels: expected 30"):
        cluster_latents(X, y[:10], 3)
    with pytest.raises(ValueError, match="^matching"):
        cluster_latents(X, y, 3, matching="random")


def test_token_batches_pooled_over_the_mask_with_sample_ids_and_forward():
    """transformers-style dict batches (no ids: sample_ids=) give one masked-mean row per sentence."""

    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.emb = nn.Embedding(10, 3)

        def forward(self, input_ids, attention_mask=None):
            return self.emb(input_ids)

    ids = torch.tensor([[1, 2, 0], [3, 4, 5], [6, 0, 0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0]])
    batches = [{"input_ids": ids[:2], "attention_mask": mask[:2], "labels": torch.tensor([0, 1])},
               {"input_ids": ids[2:, :1], "attention_mask": mask[2:, :1], "labels": torch.tensor([1])}]
    model = Tokens()
    col = collect_latents(model, batches, "emb", n_samples=3, sample_ids=[2, 0, 1])
    emb = model.emb.weight.detach()
    expected = torch.stack([emb[[3, 4, 5]].mean(0), emb[[6]].mean(0), emb[[1, 2]].mean(0)])
    assert col.labels.tolist() == [1, 1, 0] and torch.allclose(col.latents["emb"], expected, atol=1e-6)
    last = collect_latents(model, batches, "emb", n_samples=3, sample_ids=[2, 0, 1], pool="last",
                           forward=lambda m, inputs: m(inputs["input_ids"]))
    assert torch.equal(last.latents["emb"], emb[[5, 6, 2]])
    with pytest.raises(ValueError, match="^pool: LCC clusters one latent row per sample"):
        collect_latents(model, batches, "emb", n_samples=3, sample_ids=[2, 0, 1], pool=None)
