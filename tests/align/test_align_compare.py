"""compare_models: one recording pass, matrices equal direct metrics, hooked penalties, loud failures."""

import math

import numpy as np
import pytest
import torch

from latentalign import align
from latentalign.align.compare import compare_models
from latentalign.models import MLP, CNN2d, LayerRecorder
from latentalign.train import make_loader


def _mlp(seed, hidden=(12, 8)):
    torch.manual_seed(seed)
    return MLP(6, hidden, 3)


def _data(n=90, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    return X, (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()


def test_matrices_equal_direct_metrics_on_the_evaluation_rows():
    A, B = _mlp(0), _mlp(1, (10, 5))
    X, y = _data()
    fit, held = make_loader(X[:60], y[:60], batch_size=16, shuffle=True), make_loader(X[60:], y[60:], batch_size=7)
    res = compare_models(A, B, fit, metrics={"cka": {}, "mutual_knn": {"k": 4}}, eval_loader=held, ridge=1e-3)
    rec_a = LayerRecorder(A, res.layers_a).record(held)  # same batches: same float32 rounding
    rec_b = LayerRecorder(B, res.layers_b).record(held)
    assert res.layers_a == ["input", "hidden1", "penultimate", "logits"] and res.n_fit == 60 and res.n_eval == 30
    for i, la in enumerate(res.layers_a):
        for j, lb in enumerate(res.layers_b):
            a, b = rec_a.activations[la], rec_b.activations[lb]
            assert res.metrics["cka"][i, j] == pytest.approx(float(align.cka(a, b)), abs=1e-9)
            assert res.metrics["mutual_knn"][i, j] == pytest.approx(float(align.mutual_knn(a, b, k=4)), abs=1e-12)
    fit_a = LayerRecorder(A, ["hidden1"]).record(make_loader(X[:60], y[:60])).activations["hidden1"]
    fit_b = LayerRecorder(B, ["penultimate"]).record(make_loader(X[:60], y[:60])).activations["penultimate"]
    st = align.stitch(fit_a, fit_b, ridge=1e-3, X1_test=rec_a.activations["hidden1"],
                      X2_test=rec_b.activations["penultimate"])
    for key, d in (("a->b", st.forward), ("b->a", st.backward)):
        for f in ("e_star", "lower", "upper", "e_test"):
            # float32 activations from differently-sized batches: compare to float32 precision
            assert res.stitching[key][f][1, 2] == pytest.approx(getattr(d, f), rel=1e-5, abs=1e-6), (key, f)


def test_hooked_penalty_equals_running_the_head_on_stitched_features():
    A, B = _mlp(2), _mlp(3)
    X, y = _data(80, 1)
    loader = make_loader(X, y, batch_size=32)
    res = compare_models(A, B, loader, metrics=("cka",), ridge=1e-2)
    acts_a = LayerRecorder(A, ["hidden1"]).record(loader).activations["hidden1"].double()
    acts_b = LayerRecorder(B, ["hidden1"]).record(loader).activations["hidden1"].double()
    stitcher = align.fit_stitcher(acts_a, acts_b, ridge=1e-2)
    with torch.no_grad():
        stitched_logits = B.logits(B.penultimate(stitcher(acts_a).float())).double()
        native = B(X).double()
    ce = torch.nn.functional.cross_entropy
    expected = float(ce(stitched_logits, y) - ce(native, y))
    assert res.stitching["a->b"]["delta_ce"][1, 1] == pytest.approx(expected, abs=1e-5)
    finite = np.isfinite(res.stitching["a->b"]["ce_bound"])
    assert finite.all()  # an MLP's head after any layer is a Linear/ReLU chain
    for key in ("a->b", "b->a"):
        s = res.stitching[key]
        assert np.all(np.abs(s["delta_ce"]) <= s["ce_bound"] + 1e-6)
        assert np.all(s["lower"] <= s["e_star"] + 1e-9) and np.all(s["e_star"] <= s["upper"] + 1e-9)
    assert set(res.accuracy) == {"a", "b"}


def test_self_comparison_is_perfect_on_the_diagonal():
    A = _mlp(4)
    X, y = _data(70, 2)
    res = compare_models(A, A, make_loader(X, y, batch_size=20), metrics=("cka",), ridge=0.0)
    assert np.allclose(np.diag(res.metrics["cka"]), 1.0, atol=1e-9)
    assert np.allclose(np.diag(res.stitching["a->b"]["e_star"]), 0.0, atol=1e-9)
    assert np.allclose(np.diag(res.stitching["a->b"]["delta_ce"]), 0.0, atol=1e-5)


def test_one_pass_over_the_loader_and_mismatched_ids():
    A, B = _mlp(5), _mlp(6)
    X, y = _data(40, 3)
    calls = {"a": 0, "b": 0}
    A.register_forward_pre_hook(lambda m, i: calls.__setitem__("a", calls["a"] + 1))
    B.register_forward_pre_hook(lambda m, i: calls.__setitem__("b", calls["b"] + 1))
    compare_models(A, B, make_loader(X, y, batch_size=10), metrics=("cka",), stitch=False)
    assert calls == {"a": 4, "b": 4}
    with pytest.raises(ValueError, match=r"^loader: model_a saw 40 samples and model_b 30"):
        compare_models(A, B, (make_loader(X, y), make_loader(X[:30], y[:30])), stitch=False)


def test_conv_maps_flattened_or_pooled():
    torch.manual_seed(7)
    A, B = CNN2d(channels=(4,), hidden=8, n_classes=3), CNN2d(channels=(4,), hidden=8, n_classes=3)
    X = torch.rand(60, 64)
    y = torch.arange(60) % 3
    loader = make_loader(X, y, batch_size=30)
    flat = compare_models(A, B, loader, ["conv1", "penultimate"], ["conv1", "penultimate"], ("cka",), ridge=1e-2)
    pooled = compare_models(A, B, loader, ["conv1", "penultimate"], ["conv1", "penultimate"], ("cka",),
                            reduce="mean", ridge=1e-2)
    assert np.isfinite(flat.stitching["a->b"]["delta_ce"]).all()
    assert math.isnan(pooled.stitching["a->b"]["delta_ce"][0, 0])  # a pooled map cannot be swapped back
    assert np.isfinite(pooled.stitching["a->b"]["delta_ce"][1, 1])
    assert np.isnan(flat.stitching["a->b"]["ce_bound"][0, 0])  # a conv head has no Linear/ReLU constant


def test_pairs_progress_undefined_and_bad_input():
    A, B = _mlp(8), _mlp(9)
    X, y = _data(40, 4)
    seen = []
    res = compare_models(A, B, make_loader(X, y), metrics=("cka",), pairs=[("hidden1", "hidden1"), (3, 0)],
                         progress=lambda d, t: seen.append((d, t)))
    assert np.isfinite(res.metrics["cka"][1, 1]) and np.isnan(res.metrics["cka"][0, 0])
    assert seen[-1] == (6, 6)
    with torch.no_grad():
        B.hidden1.linear.weight.zero_()
        B.hidden1.linear.bias.fill_(-1.0)  # a dead ReLU layer: constant activations
    dead = compare_models(A, B, make_loader(X, y), metrics=("cka",), pairs=[(1, 1)])
    assert np.isnan(dead.metrics["cka"][1, 1]) and any("hidden1" in u for u in dead.undefined)
    with pytest.raises(ValueError, match=r"^metrics:"):
        compare_models(A, B, make_loader(X, y), metrics=("nope",))
    with pytest.raises(ValueError, match=r"^layers: unknown layer"):
        compare_models(A, B, make_loader(X, y), ["nope"])
    with pytest.raises(ValueError, match=r"^reduce:"):
        compare_models(A, B, make_loader(X, y), reduce="max")
    with pytest.raises(ValueError, match=r"^pairs:"):
        compare_models(A, B, make_loader(X, y), pairs=[(0, 9)])
    with pytest.raises(TypeError, match=r"^model_a:"):
        compare_models("A", B, make_loader(X, y))
    assert res.to_dict()["metrics"]["cka"][0][0] is None


def test_a_pair_of_loaders_feeds_each_model_its_own_inputs_in_every_pass():
    """B reads 4 features, A 6: recording, native logits and penalties must each use the model's own loader."""
    torch.manual_seed(11)
    A, B = MLP(6, (8,), 3), MLP(4, (8,), 3)
    X, y = _data(50, 5)
    res = compare_models(A, B, (make_loader(X, y, batch_size=20), make_loader(X[:, :4], y, batch_size=20)),
                         metrics=("cka",), lam=1e-2)
    with torch.no_grad():
        native_b = float((B(X[:, :4]).argmax(1) == y).double().mean())
    assert res.accuracy["b"] == pytest.approx(native_b)
    assert np.isfinite(res.stitching["a->b"]["delta_ce"]).all() and np.isfinite(res.stitching["b->a"]["delta_ce"]).all()
