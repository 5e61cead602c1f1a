"""Recall@k, class match, zero-shot and sampling from the conditionals, against hand values and brute force."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from latentalign.contrastive import scores
from latentalign.contrastive.retrieval import (
    class_match_at_k,
    conditional,
    diversity,
    prompt_ensemble,
    recall_at_k,
    sample,
    zero_shot,
)


def test_recall_hand_computed_with_a_tie():
    S = torch.tensor([[3.0, 1.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # u->v ranks: 0, 1 (2 > 1), 0; v->u ranks: 0, 1 (the tie S[0,1] = S[1,1] counts against), 0
    r = recall_at_k(S, ks=(1, 2, 3))
    assert r["u_to_v"] == {1: 2 / 3, 2: 1.0, 3: 1.0}
    assert r["v_to_u"] == {1: 2 / 3, 2: 1.0, 3: 1.0}


def test_recall_is_zero_for_collapsed_embeddings_and_one_for_identity():
    z = torch.ones(10, 4)
    r = recall_at_k(scores(z, z), ks=(1, 5, 9))
    assert all(v == 0.0 for d in r.values() for v in d.values())
    r = recall_at_k(torch.eye(10), ks=(1,))
    assert r == {"u_to_v": {1: 1.0}, "v_to_u": {1: 1.0}}


def brute_ranks(S):
    n = len(S)
    return [sum(1 for j in range(n) if j != i and S[i][j] >= S[i][i]) for i in range(n)]


@given(st.integers(2, 30).flatmap(lambda n: arrays(np.int64, (n, n), elements=st.integers(-3, 3))),
       st.integers(1, 7))
def test_recall_matches_brute_force_with_ties_and_chunks(S, chunk):
    n = len(S)
    ks = tuple(sorted({1, min(2, n), n}))
    r = recall_at_k(torch.from_numpy(S).double(), ks, block_size=chunk)
    ranks_uv, ranks_vu = brute_ranks(S.tolist()), brute_ranks(S.T.tolist())
    for k in ks:
        assert r["u_to_v"][k] == pytest.approx(np.mean([x < k for x in ranks_uv]))
        assert r["v_to_u"][k] == pytest.approx(np.mean([x < k for x in ranks_vu]))


@given(st.integers(1, 12), st.integers(2, 15), st.integers(0, 1000), st.integers(1, 4))
def test_class_match_matches_a_stable_sort(q, m, seed, k):
    rng = np.random.default_rng(seed)
    S = rng.integers(-2, 3, size=(q, m)).astype(float)  # many ties
    yq, yc = rng.integers(0, 3, q), rng.integers(0, 3, m)
    k = min(k, m)
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]  # ties: lower position first
    expected = np.mean([(yc[top[i]] == yq[i]).any() for i in range(q)])
    assert class_match_at_k(S, yq, yc, k, block_size=5) == pytest.approx(expected)


def test_chunk_size_is_a_deprecated_alias_of_block_size():
    S = np.random.default_rng(0).normal(size=(9, 9))
    with pytest.warns(DeprecationWarning, match="recall_at_k: 'chunk_size' is deprecated, use 'block_size'"):
        assert recall_at_k(S, (1, 3), chunk_size=2) == recall_at_k(S, (1, 3), block_size=2)
    y = np.arange(9) % 3
    with pytest.warns(DeprecationWarning, match="class_match_at_k: 'chunk_size' is deprecated"):
        assert class_match_at_k(S, y, y, 2, chunk_size=4) == class_match_at_k(S, y, y, 2, block_size=4)


def test_class_match_breaks_ties_towards_the_lower_position():
    S = np.array([[1.0, 1.0, 0.0]])
    assert class_match_at_k(S, [0], [0, 1, 1], 1) == 1.0
    assert class_match_at_k(S, [1], [0, 1, 1], 1) == 0.0
    assert class_match_at_k(S, [1], [0, 1, 1], 2) == 1.0


def test_prompt_ensemble_and_zero_shot():
    emb = torch.tensor([[[2.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, -3.0]]])  # (C=2, T=2, e=2)
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(prompt_ensemble(emb, "cosine").numpy(), [[s, s], [-s, -s]], atol=1e-7)
    np.testing.assert_allclose(prompt_ensemble(emb, "inner").numpy(), [[1.0, 0.5], [-0.5, -1.5]])
    x = torch.tensor([[1.0, 0.2], [-0.1, -2.0], [0.3, 0.1]])
    assert zero_shot(x, emb).tolist() == [0, 1, 0]
    # the inner tilt keeps norms: class 0 wins iff 1.5 x1 + 2 x2 > 0, the cosine tilt iff x1 + x2 > 0
    x_between = torch.tensor([[1.0, -0.8]])
    assert zero_shot(x_between, emb).tolist() == [0] and zero_shot(x_between, emb, tilt="inner").tolist() == [1]
    assert zero_shot(x, prompt_ensemble(emb)).tolist() == zero_shot(x, emb).tolist()


def test_conditional_is_a_softmax_over_candidates_with_weights():
    g = torch.Generator().manual_seed(0)
    zq, zc = torch.randn(3, 4, generator=g), torch.randn(6, 4, generator=g)
    p = conditional(zq, zc, tilt="inner", scale=2.0)
    expected = torch.softmax(2.0 * zq @ zc.T, dim=1)
    torch.testing.assert_close(p, expected)
    w = torch.tensor([0.0, -math.inf, 0.0, math.log(2.0), 0.0, 0.0])
    pw = conditional(zq, zc, tilt="inner", scale=2.0, log_weights=w)
    assert torch.all(pw[:, 1] == 0)
    expected_w = expected * torch.tensor([1, 0, 1, 2, 1, 1.0])
    torch.testing.assert_close(pw, expected_w / expected_w.sum(1, keepdim=True))


def test_sample_is_seeded_and_follows_the_probabilities():
    p = torch.tensor([[0.7, 0.2, 0.1, 0.0]])
    a, b = sample(p, 20_000, 3), sample(p, 20_000, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (1, 20_000)
    freq = torch.bincount(a[0], minlength=4).double() / 20_000
    assert torch.allclose(freq, p[0].double(), atol=0.015) and freq[3] == 0


def test_diversity_hand_values():
    uniform = torch.full((2, 50), 1 / 50)
    d = diversity(uniform, query_labels=[0, 1], cand_labels=[0] * 10 + [1] * 40, n_draws=100, seed=0)
    torch.testing.assert_close(d["perplexity"], torch.full((2,), 50.0, dtype=torch.float64))
    torch.testing.assert_close(d["class_mass"], torch.tensor([0.2, 0.8], dtype=torch.float64))
    # expected distinct items in 100 uniform draws of 50: 50 (1 - (49/50)^100) = 43.4
    assert 38 <= float(d["distinct"].mean()) <= 48
    one_hot = torch.zeros(1, 50)
    one_hot[0, 7] = 1.0
    d = diversity(one_hot)
    assert float(d["perplexity"]) == pytest.approx(1.0) and float(d["distinct"]) == 1.0 and "class_mass" not in d


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="^ks: k = 6 exceeds the 5 candidates"):
        recall_at_k(torch.eye(5), ks=(1, 6))
    with pytest.raises(ValueError, match="^k: k = 4 exceeds"):
        class_match_at_k(torch.zeros(2, 3), [0, 1], [0, 1, 1], 4)
    with pytest.raises(ValueError, match="^S: expected a square"):
        recall_at_k(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="^S: contains"):
        recall_at_k(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="^cand_labels: expected 3 labels"):
        class_match_at_k(torch.zeros(2, 3), [0, 1], [0, 1], 1)
    with pytest.raises(ValueError, match="^probs: every row must be a probability vector"):
        sample(torch.tensor([[0.5, 0.6]]), 3)
    with pytest.raises(ValueError, match="^class_emb: expected shape"):
        zero_shot(torch.ones(2, 3), torch.ones(2, 2, 2, 3))
    with pytest.raises(ValueError, match="^log_weights: expected shape"):
        conditional(torch.ones(2, 3), torch.ones(4, 3), log_weights=torch.zeros(3))
    with pytest.raises(ValueError, match="^z_v: expected the embedding width"):
        conditional(torch.ones(2, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match="^scale:"):
        conditional(torch.ones(2, 3), torch.ones(4, 3), scale=-1.0)
