"""Batches, calls, outputs and token pooling of any model (issue 14), on small token models."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from latentalign.models import LayerRecorder
from latentalign.models.batches import SampleIds, call_model, hidden_states, output_tensor, unpack_batch
from latentalign.models.pooling import pool_tokens

torch.set_num_threads(1)


def _masked_mean(h, mask):
    m = mask.to(h.dtype).unsqueeze(-1)
    return (h * m).sum(1) / m.sum(1)


# -- pooling ---------------------------------------------------------------------------------
def test_pool_closed_forms():
    h = torch.tensor([[[1.0, -1.0], [3.0, 5.0], [99.0, 99.0]],
                      [[50.0, 50.0], [2.0, 0.0], [4.0, 8.0]]])
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]])  # right padding, then left padding
    assert pool_tokens(h, mask, "mean").tolist() == [[2.0, 2.0], [3.0, 4.0]]
    assert pool_tokens(h, mask, "max").tolist() == [[3.0, 5.0], [4.0, 8.0]]
    assert pool_tokens(h, mask, "cls").tolist() == [[1.0, -1.0], [2.0, 0.0]]
    assert pool_tokens(h, mask, "last").tolist() == [[3.0, 5.0], [4.0, 8.0]]
    assert torch.allclose(pool_tokens(h, None, "mean"), torch.tensor([[103 / 3, 103 / 3], [56 / 3, 58 / 3]]))
    assert pool_tokens(h, mask, None) is h


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=5), extra=st.integers(0, 7),
       left=st.booleans(), pool=st.sampled_from(["mean", "max", "cls", "last"]), seed=st.integers(0, 2**16))
def test_pooled_rows_are_bitwise_invariant_to_padding(lengths, extra, left, pool, seed):
    """The same tokens padded to two lengths (right, or left), with garbage in the padding: same rows, bit for bit."""
    g = torch.Generator().manual_seed(seed)
    tokens = [torch.randn(n, 6, generator=g) for n in lengths]

    def padded(T, left_side):
        h = torch.randn(len(tokens), T, 6, generator=g) * 1e3  # padding garbage
        mask = torch.zeros(len(tokens), T, dtype=torch.long)
        for b, t in enumerate(tokens):
            sl = slice(T - len(t), T) if left_side else slice(0, len(t))
            h[b, sl], mask[b, sl] = t, 1
        return h, mask

    short = padded(max(lengths), False)
    long = padded(max(lengths) + extra, left)
    assert torch.equal(pool_tokens(*short, pool), pool_tokens(*long, pool))
    if pool == "mean":
        assert torch.allclose(pool_tokens(*long, pool), _masked_mean(*long), atol=1e-6)


def test_pool_bad_inputs_name_the_argument():
    h = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match="^pool: expected one of 'mean', 'cls', 'last', 'max', None"):
        pool_tokens(h, None, "sum")
    with pytest.raises(ValueError, match=r"^mask: expected a \(batch, tokens\) mask of shape \(2, 3\)"):
        pool_tokens(h, torch.ones(2, 4), "mean")
    with pytest.raises(ValueError, match="^mask: sequence 1 of the batch has no valid token"):
        pool_tokens(h, torch.tensor([[1, 0, 0], [0, 0, 0]]), "mean")
    with pytest.raises(ValueError, match="^mask: expected 0/1 values"):
        pool_tokens(h, torch.tensor([[1, 2, 0], [1, 0, 0]]), "mean")
    with pytest.raises(ValueError, match="^h: expected a"):
        pool_tokens(torch.randn(2, 3), None, "mean")


# -- batches, calls, outputs ---------------------------------------------------------------------
def test_unpack_batch_conventions():
    ids, mask = torch.tensor([[5, 6, 0]]), torch.tensor([[1, 1, 0]])
    hf = unpack_batch({"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([2]),
                       "sample_id": torch.tensor([9])})
    assert sorted(hf.inputs) == ["attention_mask", "input_ids"] and hf.tokens and hf.size == 1
    assert hf.labels.tolist() == [2] and hf.ids.tolist() == [9] and torch.equal(hf.mask, mask)
    nested = unpack_batch(({"input_ids": ids, "attention_mask": mask}, torch.tensor([1]), torch.tensor([3])))
    assert nested.ids.tolist() == [3] and torch.equal(nested.mask, mask)
    plain = unpack_batch({"x": torch.zeros(2, 3), "idx": [0, 1]})
    assert not plain.tokens and plain.mask is None and plain.ids.tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"^batch: holds sample ids under several keys \['idx', 'sample_id'\]"):
        unpack_batch({"input_ids": ids, "idx": [0], "sample_id": [0]})
    with pytest.raises(ValueError, match="^attention_mask: has 1 rows for a batch of 2 sample ids"):
        unpack_batch({"input_ids": ids, "attention_mask": mask, "idx": [0, 1]})
    with pytest.raises(ValueError, match="^batch: batches need sample ids.*sample_ids="):
        unpack_batch({"input_ids": ids}, require_ids=True)
    with pytest.raises(ValueError, match="^batch: dict batches need an 'x' key or model inputs"):
        unpack_batch({"idx": [0]})


class _Out(dict):
    """A ModelOutput look-alike: a mapping whose fields are also attributes."""

    __getattr__ = dict.get


def test_outputs_tensor_tuple_modeloutput():
    h, other = torch.randn(2, 3), torch.randn(2, 5)
    assert output_tensor(h, "l") is h
    assert output_tensor((h, other), "l") is h
    assert output_tensor(_Out(pooler_output=other, last_hidden_state=h), "l") is h
    assert output_tensor({"logits": h}, "l") is h
    with pytest.raises(TypeError, match="^layers: 'l' returned NoneType"):
        output_tensor(None, "l")
    assert hidden_states(_Out(hidden_states=(h, other)), "l") == (h, other)
    with pytest.raises(ValueError, match="^layers: 'l' needs a model output carrying hidden_states.*"
                                         "output_hidden_states=True"):
        hidden_states(_Out(last_hidden_state=h), "l")


def test_call_model_routes_inputs():
    seen = []
    model = nn.Module()
    model.forward = lambda *args, **kwargs: seen.append((args, kwargs))
    call_model(model, {"input_ids": 1}, output_hidden_states=True)
    call_model(model, 2)
    call_model(model, {"a": 3}, lambda m, inputs: m(inputs["a"], flag=True))
    assert seen == [((), {"input_ids": 1, "output_hidden_states": True}), ((2,), {}), ((3,), {"flag": True})]


# -- a tiny transformers-like encoder --------------------------------------------------------------
class TinyEncoder(nn.Module):
    """Embedding and two token-wise blocks; returns a ModelOutput look-alike, so padding cannot leak
    between tokens and every layer's pooled rows must be bitwise invariant to padding."""

    def __init__(self, vocab=20, dim=4, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.embeddings = nn.Embedding(vocab, dim)
        self.layer = nn.ModuleList([nn.Tanh(), nn.Softsign()])

    def forward(self, input_ids, attention_mask=None, output_hidden_states=False):
        h = self.embeddings(input_ids)
        states = [h]
        for block in self.layer:
            h = block(h) + h
            states.append(h)
        return _Out(last_hidden_state=h, hidden_states=tuple(states) if output_hidden_states else None)


SENTENCES = [[3, 4, 5], [7], [1, 2, 3, 4, 5, 6], [9, 9]]


def _token_batches(order, width=0, batch_size=2, left=False, ids=True):
    """Dict batches of SENTENCES in ``order``, each padded to its longest sentence + ``width`` (token 0)."""
    out = []
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        T = max(len(SENTENCES[i]) for i in chunk) + width
        input_ids = torch.zeros(len(chunk), T, dtype=torch.long)
        mask = torch.zeros(len(chunk), T, dtype=torch.long)
        for b, i in enumerate(chunk):
            n = len(SENTENCES[i])
            sl = slice(T - n, T) if left else slice(0, n)
            input_ids[b, sl], mask[b, sl] = torch.tensor(SENTENCES[i]), 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if ids:
            batch["idx"] = torch.tensor(chunk)
        out.append(batch)
    return out


def _reference(model, pool_fn):
    """Each sentence alone (no padding at all), layer by layer."""
    with torch.no_grad():
        rows = [model(torch.tensor([s]), output_hidden_states=True).hidden_states for s in SENTENCES]
    return [torch.cat([pool_fn(r[i]) for r in rows]) for i in range(3)]


@pytest.mark.parametrize("pool", ["mean", "max", "cls", "last"])
def test_recorder_hidden_states_pooled_and_padding_invariant(pool):
    model = TinyEncoder()
    order = [2, 0, 3, 1]
    rec = LayerRecorder(model, "hidden_states", pool=pool)
    a = rec.record(_token_batches(order))
    b = rec.record(_token_batches(sorted(order), width=5, batch_size=3, left=True), expected_n=4)
    assert rec.names == ["hidden_states.0", "hidden_states.1", "hidden_states.2"] == list(a.activations)
    fns = {"mean": lambda h: h.mean(1), "max": lambda h: h.amax(1),
           "cls": lambda h: h[:, 0], "last": lambda h: h[:, -1]}
    for name, ref in zip(rec.names, _reference(model, fns[pool])):
        assert torch.equal(a.activations[name], b.activations[name]), name  # bitwise, whatever the padding
        assert torch.allclose(a.activations[name], ref, atol=1e-6), name
    assert a.mask is None and a.ids.tolist() == [0, 1, 2, 3]


def test_recorder_module_layers_and_masked_mean():
    model = TinyEncoder()
    batches = _token_batches([0, 1, 2, 3], width=2)
    rec = LayerRecorder(model, ["layer.0", "hidden_states.2", "embeddings"]).record(batches)
    assert list(rec.activations) == ["layer.0", "hidden_states.2", "embeddings"]
    with torch.no_grad():
        states = [model(**{k: b[k] for k in ("input_ids", "attention_mask")}, output_hidden_states=True).hidden_states
                  for b in batches]
    hand = torch.cat([_masked_mean(s[0], b["attention_mask"]) for s, b in zip(states, batches)])
    assert torch.allclose(rec.activations["embeddings"], hand, atol=1e-6)
    hand2 = torch.cat([_masked_mean(s[2], b["attention_mask"]) for s, b in zip(states, batches)])
    assert torch.allclose(rec.activations["hidden_states.2"], hand2, atol=1e-6)
    with pytest.raises(ValueError, match=r"^layers: 'hidden_states.7' asked, but the model gave 3 hidden states"):
        LayerRecorder(model, "hidden_states.7").record(batches)
    with pytest.raises(ValueError, match="^layers: unknown layer 'layers.0'.*'hidden_states'"):
        LayerRecorder(model, "layers.0")


def test_pool_none_keeps_tokens_with_mask():
    model = TinyEncoder()
    batches = _token_batches([3, 2, 1, 0], width=1)
    for expected_n in (None, 4):
        rec = LayerRecorder(model, "embeddings", pool=None).record(batches, expected_n=expected_n)
        assert rec.mask.tolist() == [[j < len(s) for j in range(7)] for s in SENTENCES]
        emb = rec.activations["embeddings"]
        assert emb.shape == (4, 7, 4)
        for i, s in enumerate(SENTENCES):
            assert torch.equal(emb[i, :len(s)], model.embeddings(torch.tensor(s)).detach())
            assert not emb[i, len(s):].any()


def test_forward_callable_and_sample_ids():
    class Unusual(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = TinyEncoder()

        def forward(self, tokens, *, keep):
            return self.enc(tokens, keep)

    model = Unusual()
    batches = _token_batches([1, 3, 0, 2], ids=False)
    fwd = lambda m, inputs: m(inputs["input_ids"], keep=inputs["attention_mask"])
    rec = LayerRecorder(model, "enc.embeddings", pool="last").record(batches, forward=fwd, sample_ids=[1, 3, 0, 2])
    ref = _reference(model.enc, lambda h: h[:, -1])[0]
    assert rec.ids.tolist() == [0, 1, 2, 3] and torch.equal(rec.activations["enc.embeddings"], ref)
    with pytest.raises(TypeError, match="unexpected keyword|missing 1 required"):
        LayerRecorder(model, "enc.layer.1").record(batches, sample_ids=[1, 3, 0, 2])
    with pytest.raises(ValueError, match="^sample_ids: has 3 ids but the loader yielded more rows"):
        LayerRecorder(model, "enc.layer.1").record(batches, forward=fwd, sample_ids=[0, 1, 2])
    with pytest.raises(ValueError, match="^sample_ids: has 5 ids but the loader yielded 4 rows"):
        LayerRecorder(model, "enc.layer.1").record(batches, forward=fwd, sample_ids=[0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="^sample_ids: given, but the batches carry their own ids"):
        LayerRecorder(model, "enc.layer.1").record(_token_batches([0, 1]), forward=fwd, sample_ids=[0, 1])
    with pytest.raises(ValueError, match="^sample_ids: expected a 1-D sequence"):
        LayerRecorder(model, "enc.layer.1").record(batches, forward=fwd, sample_ids=[[0, 1]])
    with pytest.raises(ValueError, match="^batch: batches need sample ids"):
        LayerRecorder(model, "enc.layer.1").record(batches, forward=fwd)
    with pytest.raises(TypeError, match="^forward: expected a callable"):
        LayerRecorder(model, "enc.layer.1").record(batches, forward="call")
    with pytest.raises(ValueError, match="^pool: expected one of"):
        LayerRecorder(model, "enc.layer.1", pool="sum")
    assert SampleIds().required and not SampleIds([0]).required


def test_mask_that_does_not_fit_the_output_names_the_mask():
    class Shorter(TinyEncoder):
        def forward(self, input_ids, attention_mask=None):
            return self.embeddings(input_ids[:, 1:])

    batches = _token_batches([0, 1])
    with pytest.raises(ValueError, match=r"^attention_mask: expected a \(batch, tokens\) mask of shape \(2, 2\)"):
        LayerRecorder(Shorter(), "embeddings").record(batches)


def test_context_manager_pools_over_a_given_mask_with_gradients():
    """Training loops (e.g. a loss on a pooled layer) set rec.mask; the rows equal record()'s, and carry grad."""
    model = TinyEncoder()
    batch = _token_batches([0, 1, 2, 3], width=2, batch_size=4)[0]
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    recorded = LayerRecorder(model, "layer.1", pool="mean").record([batch]).activations["layer.1"]
    with LayerRecorder(model, "layer.1", pool="mean") as rec:
        rec.mask = batch["attention_mask"]
        model(**inputs)
        pooled = rec.outputs["layer.1"]
        assert pooled.shape == (4, 4) and pooled.requires_grad
        assert torch.equal(pooled.detach(), recorded)
        pooled.sum().backward()
        assert model.embeddings.weight.grad[0].abs().sum() == 0  # the padding token got no gradient
        rec.mask = torch.ones(4, 3)
        with pytest.raises(ValueError, match=r"^mask: expected a \(batch, tokens\) mask of shape \(4, 8\)"):
            model(**inputs)
