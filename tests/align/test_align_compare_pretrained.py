"""compare_models on a pretrained transformer (the bundled MiniLM): dict batches, hidden_states, pooling,
token-level comparison, forward= and sample_ids= (issue 14)."""

import copy

import numpy as np
import pytest
import torch

from latentalign import align
from latentalign.align.compare import compare_models
from latentalign.models import LayerRecorder
from latentalign.models.pretrained import text_batches

SENTENCES = ["a cat on a mat", "a handwritten digit seven", "the number four, written by hand", "hi there",
             "a pen drawing of the digit 3", "an image of the number nine", "a small grey picture", "two dogs",
             "a scanned figure showing five", "the quick brown fox"]


@pytest.fixture(scope="module")
def variant(minilm):
    """MiniLM with every weight perturbed by 2% noise: similar, not identical."""
    model = copy.deepcopy(minilm[0])
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * p.std() * torch.randn(p.shape, generator=g))
    return model


def test_hidden_states_by_default_and_entries_equal_the_metric_on_recordings(minilm, variant):
    model, tokenizer = minilm
    batches = text_batches(tokenizer, SENTENCES, batch_size=4)
    res = compare_models(model, variant, batches, metrics=("cka",), stitch=False, permutations=20, seed=1)
    names = [f"hidden_states.{i}" for i in range(7)]
    assert res.layers_a == res.layers_b == names and res.metrics["cka"].shape == (7, 7) and res.n_fit == 10
    rec_a = LayerRecorder(model, "hidden_states").record(batches)
    rec_b = LayerRecorder(variant, "hidden_states").record(batches)
    for i, j in [(0, 0), (3, 5), (6, 6)]:
        expected = float(align.cka(rec_a.activations[names[i]], rec_b.activations[names[j]]))
        assert res.metrics["cka"][i, j] == pytest.approx(expected, abs=1e-9)
    assert np.all(np.diag(res.metrics["cka"]) > 0.8)  # a 2% perturbation keeps each block close to itself
    p = res.p_values["cka"]
    assert p.shape == (7, 7) and np.all((p > 0) & (p <= 1)) and p[6, 6] == pytest.approx(1 / 21)
    assert res.to_dict()["p_values"]["cka"][0][0] == pytest.approx(p[0, 0])


def test_self_comparison_pooled_and_token_level(minilm):
    model, tokenizer = minilm
    batches = text_batches(tokenizer, SENTENCES, batch_size=3)
    layers = ["encoder.layer.1", "encoder.layer.4"]
    for pool in ("last", None):
        res = compare_models(model, model, batches, layers, layers, ("cka",), pool=pool, stitch=True, lam=1e-3)
        assert np.allclose(np.diag(res.metrics["cka"]), 1.0, atol=1e-6), pool
        assert np.allclose(np.diag(res.stitching["a->b"]["e_star"]), 0.0, atol=1e-6), pool
        assert np.isnan(res.stitching["a->b"]["delta_ce"]).all()  # no labels, no logits: no task penalty
    n_tokens = int(sum(b["attention_mask"].sum() for b in batches))
    assert res.n_fit == n_tokens  # pool=None: one row per valid token


def test_token_level_needs_matching_masks_and_sequence_layers(minilm, variant):
    model, tokenizer = minilm
    batches = text_batches(tokenizer, SENTENCES[:4], batch_size=4)
    other = [dict(b, attention_mask=torch.ones_like(b["attention_mask"])) for b in batches]
    with pytest.raises(ValueError, match="^pool: None compares tokens, so both models need the same attention masks"):
        compare_models(model, variant, (batches, other), pool=None, stitch=False)
    with pytest.raises(ValueError, match="^pool: None compares tokens, but layer 'pooler' gave shape"):
        compare_models(model, variant, batches, ["pooler", "encoder.layer.0"], ["encoder.layer.0"], pool=None,
                       stitch=False)


def test_forward_pair_and_sample_ids(minilm, variant):
    model, tokenizer = minilm
    batches = text_batches(tokenizer, SENTENCES, batch_size=4)
    no_ids = [{k: v for k, v in b.items() if k != "idx"} for b in batches]
    shuffled = [9, 3, 0, 1, 4, 8, 2, 7, 6, 5]
    calls = []

    def fwd(m, inputs):
        calls.append(m)
        return m(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], output_hidden_states=True)

    res = compare_models(model, variant, no_ids, metrics=("cka",), stitch=False, forward=(fwd, fwd),
                         sample_ids=shuffled)
    ref = compare_models(model, variant, batches, metrics=("cka",), stitch=False)
    assert len(calls) == 2 * len(batches)
    assert np.allclose(res.metrics["cka"], ref.metrics["cka"], atol=1e-9)  # ids only relabel rows: same CKA
    with pytest.raises(ValueError, match="^sample_ids: has 3 ids"):
        compare_models(model, variant, no_ids, stitch=False, sample_ids=[0, 1, 2])
    with pytest.raises(TypeError, match="^forward: expected a callable"):
        compare_models(model, variant, batches, stitch=False, forward=(fwd,))
    with pytest.raises(ValueError, match="^pool: expected one of"):
        compare_models(model, variant, batches, pool="sum")
