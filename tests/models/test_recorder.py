import pytest
import torch
from torch import nn

from latentalign.models import MLP, CNN1d, CNN2d, LayerRecorder, Recording
from latentalign.train import IndexedDataset, make_loader

torch.set_num_threads(1)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return MLP(6, (8, 4), 3)


def _data(n=37, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, 3, (n,), generator=g)


def _direct(model, X):
    with torch.no_grad():
        h1 = model.hidden1(model.input(X))
        pen = model.penultimate(h1)
        return {"hidden1": h1, "penultimate": pen, "logits": model.logits(pen)}


def test_record_order_follows_ids_under_shuffled_loader():
    model, (X, y) = _mlp(), _data()
    loader = make_loader(X, y, batch_size=5, shuffle=True, seed=3)
    order = torch.cat([idx for _, _, idx in loader])
    assert not torch.equal(order, torch.arange(len(X)))  # really shuffled
    rec = LayerRecorder(model, ["penultimate", "hidden1", "logits"]).record(loader)
    assert isinstance(rec, Recording) and rec.n == len(X)
    assert torch.equal(rec.ids, torch.arange(len(X)))
    assert torch.equal(rec.labels, y)
    ref = _direct(model, X)
    for name in ["hidden1", "penultimate", "logits"]:
        a = rec.activations[name]
        assert a.dtype == torch.float32 and a.device.type == "cpu"
        assert torch.allclose(a, ref[name], atol=1e-6), name
    # preallocated path gives the same
    rec2 = LayerRecorder(model, ["penultimate"]).record(loader, expected_n=len(X))
    assert torch.equal(rec2.ids, rec.ids) and torch.equal(rec2.labels, y)
    assert torch.allclose(rec2.activations["penultimate"], ref["penultimate"], atol=1e-6)


def _batches(X, y, id_lists):
    return [(X[ids], y[ids], torch.tensor(ids)) for ids in id_lists]


@pytest.mark.parametrize("expected_n", [None, 6])
def test_duplicate_ids_keep_first(expected_n):
    model, (X, y) = _mlp(), _data(n=6)
    X2 = X.clone()
    X2[0] += 100.0  # a padded duplicate of id 0 carrying different data must be ignored
    batches = [
        (X[[3, 0, 5]], y[[3, 0, 5]], torch.tensor([3, 0, 5])),
        (torch.cat([X[[1, 2, 4]], X2[[0]]]), torch.cat([y[[1, 2, 4]], y[[0]]]), torch.tensor([1, 2, 4, 0])),
        (X[[4]], y[[4]], torch.tensor([4])),
    ]
    rec = LayerRecorder(model, "penultimate").record(batches, expected_n=expected_n)
    assert torch.equal(rec.ids, torch.arange(6))
    assert torch.allclose(rec.activations["penultimate"], _direct(model, X)["penultimate"], atol=1e-6)
    # duplicates inside one batch: first occurrence wins too
    batch = [(torch.stack([X[1], X2[0], X[0]]), y[[1, 0, 0]], torch.tensor([1, 0, 0]))]
    rec = LayerRecorder(model, "penultimate").record(batch)
    assert torch.equal(rec.ids, torch.tensor([0, 1]))
    assert torch.allclose(rec.activations["penultimate"][0], _direct(model, X2[:1])["penultimate"][0], atol=1e-6)


def test_missing_ids():
    model, (X, y) = _mlp(), _data(n=6)
    batches = _batches(X, y, [[0, 1], [3, 5]])
    with pytest.raises(ValueError, match=r"^expected_n: 2 of 6 sample ids never appeared"):
        LayerRecorder(model, "logits").record(batches, expected_n=6)
    rec = LayerRecorder(model, "logits").record(batches, expected_n=6, allow_missing=True)
    assert rec.ids.tolist() == [0, 1, 3, 5] and rec.activations["logits"].shape == (4, 3)
    assert torch.equal(rec.labels, y[[0, 1, 3, 5]])
    rec = LayerRecorder(model, "logits").record(batches)  # without expected_n: the ids seen
    assert rec.ids.tolist() == [0, 1, 3, 5]
    with pytest.raises(ValueError, match="^batch: sample id 7 >= expected_n=6"):
        LayerRecorder(model, "logits").record(_batches(X, y, [[0]]) + [(X[:1], y[:1], torch.tensor([7]))],
                                              expected_n=6)


def test_batches_without_ids_are_rejected():
    model, (X, y) = _mlp(), _data(n=8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4)
    with pytest.raises(ValueError, match=r"^batch: batches need sample ids.*IndexedDataset"):
        LayerRecorder(model, "logits").record(loader)
    with pytest.raises(ValueError, match=r"^batch: .*IndexedDataset"):
        LayerRecorder(model, "logits").record([X])
    with pytest.raises(ValueError, match=r"^batch: batches need sample ids.*got dict.*IndexedDataset"):
        LayerRecorder(model, "logits").record([{"x": X, "y": y}])
    assert not model.logits._forward_hooks  # hooks removed after the error


def test_dict_batches_and_no_labels():
    model, (X, _) = _mlp(), _data(n=8)
    batches = [{"x": X[4:], "idx": torch.arange(4, 8)}, {"x": X[:4], "idx": torch.arange(4)}]
    rec = LayerRecorder(model, "penultimate").record(batches)
    assert rec.labels is None and torch.equal(rec.ids, torch.arange(8))
    assert torch.allclose(rec.activations["penultimate"], _direct(model, X)["penultimate"], atol=1e-6)
    rec = LayerRecorder(model, "penultimate").record(batches, expected_n=8)
    assert rec.labels is None


def test_unknown_layer_lists_valid_names():
    model = _mlp()
    with pytest.raises(ValueError) as err:
        LayerRecorder(model, ["penultimate", "hidden9"])
    msg = str(err.value)
    assert msg.startswith("layers: unknown layer 'hidden9'")
    for name in ["input", "hidden1", "hidden1.linear", "penultimate", "logits"]:
        assert repr(name) in msg
    with pytest.raises(ValueError, match="^layers"):
        LayerRecorder(model, [])
    with pytest.raises(ValueError, match="^reduce"):
        LayerRecorder(model, "logits", reduce="max")
    with pytest.raises(TypeError, match="^model"):
        LayerRecorder("model", "logits")


def test_hooks_removed_and_training_flags_restored():
    model, (X, y) = _mlp(), _data(n=10)
    model.train()
    model.hidden1.eval()  # a mixed state must come back exactly
    flags = {n: m.training for n, m in model.named_modules()}
    rec = LayerRecorder(model, ["hidden1", "penultimate"])
    rec.record(make_loader(X, y, batch_size=4))
    assert {n: m.training for n, m in model.named_modules()} == flags
    assert all(not m._forward_hooks for m in model.modules())

    with LayerRecorder(model, ["penultimate"]) as rec:
        assert model.penultimate._forward_hooks
        out = model(X)
        z = rec.outputs["penultimate"]
        assert z.requires_grad  # context use keeps autograd (a loss can use it)
        assert torch.allclose(model.logits(z), out)
    assert all(not m._forward_hooks for m in model.modules())

    with pytest.raises(RuntimeError):
        with LayerRecorder(model, ["penultimate"]):
            raise RuntimeError("boom")
    assert all(not m._forward_hooks for m in model.modules())

    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("forward failed")

    bad = nn.Sequential(nn.Linear(6, 2), Boom())
    bad.train()
    with pytest.raises(RuntimeError):
        LayerRecorder(bad, "0").record(make_loader(X, y))
    assert bad.training and bad[1].training and not bad[0]._forward_hooks


def test_detach_option():
    model, (X, _) = _mlp(), _data(n=4)
    with LayerRecorder(model, "penultimate", detach=True) as rec:
        model(X)
        assert not rec.outputs["penultimate"].requires_grad


class _TupleOut(nn.Module):
    def __init__(self, extra):
        super().__init__()
        self.lin = nn.Linear(6, 4)
        self.extra = extra

    def forward(self, x):
        h = self.lin(x)
        if self.extra == "none":
            return h, None
        if self.extra == "one":
            return (h,)
        if self.extra == "two":
            return h, h
        if self.extra == "dict":
            return {"h": h}
        if self.extra == "no tensor first":
            return None, h
        return h, (h, h)  # LSTM-like: (output, (h, c)) keeps the output


class _Wrap(nn.Module):
    def __init__(self, extra):
        super().__init__()
        self.block = _TupleOut(extra)

    def forward(self, x):
        out = self.block(x)
        return out["h"] if isinstance(out, dict) else out[0]


@pytest.mark.parametrize("extra", ["none", "one", "nested", "two", "dict"])
def test_tuple_outputs_keep_the_tensor(extra):
    """A tuple's first element and a mapping's first tensor are the output (transformers, nn.MultiheadAttention)."""
    model, (X, y) = _Wrap(extra), _data(n=9)
    rec = LayerRecorder(model, "block").record(make_loader(X, y, batch_size=4, shuffle=True))
    with torch.no_grad():
        assert torch.allclose(rec.activations["block"], model.block.lin(X), atol=1e-6)


def test_other_outputs_are_type_errors():
    model, (X, y) = _Wrap("no tensor first"), _data(n=4)
    with pytest.raises(TypeError, match="^layers: 'block'"):
        LayerRecorder(model, "block").record(make_loader(X, y))
    assert not model.block._forward_hooks


def test_reduce_shapes_for_cnn_maps():
    torch.manual_seed(0)
    X, y = torch.randn(10, 64), torch.randint(0, 10, (10,))
    cnn = CNN2d(channels=(4, 8), hidden=16)
    loader = make_loader(X, y, batch_size=4, shuffle=True)
    flat = LayerRecorder(cnn, ["conv2", "pool", "penultimate"], reduce="flatten").record(loader)
    assert flat.activations["conv2"].shape == (10, 8 * 8 * 8)
    assert flat.activations["pool"].shape == (10, 8 * 4 * 4)
    assert flat.activations["penultimate"].shape == (10, 16)
    mean = LayerRecorder(cnn, ["conv2", "penultimate"], reduce="mean").record(loader)
    assert mean.activations["conv2"].shape == (10, 8)
    assert mean.activations["penultimate"].shape == (10, 16)
    raw = LayerRecorder(cnn, ["conv2"], reduce=None).record(loader)
    assert raw.activations["conv2"].shape == (10, 8, 8, 8)
    assert torch.allclose(mean.activations["conv2"], raw.activations["conv2"].mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(flat.activations["conv2"], raw.activations["conv2"].reshape(10, -1))
    with torch.no_grad():
        ref = cnn.conv2(cnn.conv1(X.reshape(10, 1, 8, 8)))
    assert torch.allclose(raw.activations["conv2"], ref, atol=1e-6)

    seq = CNN1d(channels=4, hidden=8)
    Xs = torch.randn(6, 40)
    r = LayerRecorder(seq, ["conv3", "flatten"], reduce="mean").record(make_loader(Xs, None, batch_size=4))
    assert r.activations["conv3"].shape == (6, 4) and r.activations["flatten"].shape == (6, 20)
    assert torch.equal(r.labels, torch.full((6,), -1))


def test_max_bytes_guard():
    model, (X, y) = _mlp(), _data(n=10)
    with pytest.raises(ValueError, match="^max_bytes"):
        LayerRecorder(model, "hidden1").record(make_loader(X, y), expected_n=10, max_bytes=100)


def test_indexed_dataset_wraps_a_dataset():
    model, (X, y) = _mlp(), _data(n=12)
    ds = IndexedDataset(torch.utils.data.TensorDataset(X, y))
    x0, y0, i0 = ds[5]
    assert torch.equal(x0, X[5]) and int(y0) == int(y[5]) and int(i0) == 5
    rec = LayerRecorder(model, "logits").record(make_loader(ds, batch_size=5, shuffle=True))
    assert torch.equal(rec.labels, y)
    assert torch.allclose(rec.activations["logits"], _direct(model, X)["logits"], atol=1e-6)
