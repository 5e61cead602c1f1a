"""Matching and masks: the spec's check 1, the min-cost-flow oracle (check 2), relabelling (check 8)."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentalign.lcc.matching import cluster_masks, contingency, match_clusters, shuffle_communities


def test_hand_made_example():
    y = [0, 0, 0, 0, 1, 1, 1, 2]
    c = [0, 0, 1, 1, 1, 2, 2, 2]
    M = contingency(y, c, 3)
    assert M.tolist() == [[2, 2, 0], [0, 1, 2], [0, 0, 1]]
    m = match_clusters(M)
    assert m.tolist() == [0, 0, 1]
    masks = cluster_masks(y, c, m, 3)
    assert masks.cc.astype(int).tolist() == [1, 1, 1, 1, 0, 1, 1, 0]
    assert (masks.mc == ~masks.cc).all()
    assert masks.cc.sum() / 8 == 0.75  # purity = sum_b max_a M / N
    assert M.max(axis=0).sum() / M.sum() == 0.75
    assert masks.orphans.tolist() == [2]
    assert np.flatnonzero(masks.targetless).tolist() == [7]


def test_tie_goes_to_the_smaller_class():
    assert match_clusters(contingency([0, 1], [0, 0], 2)).tolist() == [0]
    assert match_clusters(contingency([1, 0], [0, 0], 2)).tolist() == [0]


def test_ignored_labels_and_empty_clusters():
    # sample 2 (label -1) is alone in cluster 1: no labelled member -> m = -1; it is neither CC nor MC
    y, c = [0, 1, -1, 1], [0, 0, 1, 2]
    M = contingency(y, c, 2)
    assert M.tolist() == [[1, 0, 0], [1, 0, 1]]
    m = match_clusters(M)
    assert m.tolist() == [0, -1, 1]
    masks = cluster_masks(y, c, m, 2)
    assert masks.cc.tolist() == [True, False, False, True]
    assert masks.mc.tolist() == [False, True, False, False]
    assert masks.orphans.tolist() == [] and not masks.targetless.any()


def _flow_matching(M: np.ndarray):
    """The reference code's formulation: one unit per cluster, uncapacitated classes, cost -M."""
    C, K = M.shape
    G = nx.DiGraph()
    G.add_node("s", demand=-K)
    G.add_node("t", demand=K)
    for b in range(K):
        G.add_edge("s", ("c", b), capacity=1, weight=0)
        for a in range(C):
            G.add_edge(("c", b), ("y", a), capacity=1, weight=-int(M[a, b]))
    for a in range(C):
        G.add_edge(("y", a), "t", weight=0)  # no capacity: uncapacitated
    flow = nx.min_cost_flow(G)
    cost = nx.cost_of_flow(G, flow)
    assign = [next(a for a in range(C) if flow[("c", b)][("y", a)] == 1) for b in range(K)]
    return -cost, assign


def test_argmax_solves_the_min_cost_flow():
    rng = np.random.default_rng(0)
    for _ in range(200):
        C, K = int(rng.integers(1, 7)), int(rng.integers(1, 13))
        M = rng.integers(0, 21, size=(C, K))
        objective, assign = _flow_matching(M)
        m = match_clusters(M)
        assert objective == M.max(axis=0).sum()
        assert objective == sum(M[m[b], b] for b in range(K) if m[b] >= 0)
        for b in range(K):
            if M[:, b].sum() == 0:
                assert m[b] == -1  # no labels: no class, whatever the flow picks at zero cost
            elif (M[:, b] == M[:, b].max()).sum() == 1:
                assert assign[b] == m[b]


@given(
    st.integers(2, 5).flatmap(
        lambda C: st.tuples(
            st.just(C),
            st.lists(st.tuples(st.integers(-1, C - 1), st.integers(0, 6)), min_size=1, max_size=40),
            st.permutations(range(C)),
        )
    )
)
def test_relabelling_classes_permutes_the_matching(case):
    C, pairs, sigma = case
    y = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    sigma = np.array(sigma)
    y2 = np.where(y >= 0, sigma[np.maximum(y, 0)], -1)
    m = match_clusters(contingency(y, c, C))
    m2 = match_clusters(contingency(y2, c, C))
    M = contingency(y, c, C)
    unique = np.array([(M[:, b] == M[:, b].max()).sum() == 1 for b in range(M.shape[1])])
    # where the column maximum is unique the argmax follows sigma; ties may resolve differently
    expect = np.where(m >= 0, sigma[np.maximum(m, 0)], -1)
    assert (m2[unique] == expect[unique]).all()
    cc, cc2 = cluster_masks(y, c, m, C).cc, cluster_masks(y2, c, m2, C).cc
    # the CC count (purity) never depends on tie-breaking; the mask does only on tied clusters
    assert cc.sum() == cc2.sum()
    on_unique = unique[c]
    assert (cc[on_unique] == cc2[on_unique]).all()


def test_shuffle_is_a_seeded_permutation():
    c = np.arange(50) % 7
    a, b = shuffle_communities(c, 3), shuffle_communities(c, 3)
    assert (a == b).all() and sorted(a.tolist()) == sorted(c.tolist())
    assert not (shuffle_communities(c, 4) == a).all()


def test_bad_labels_and_clusters():
    with pytest.raises(ValueError, match="^labels: .*n_classes=2"):
        contingency([0, 2], [0, 0], 2)
    with pytest.raises(ValueError, match="^communities"):
        contingency([0, 1], [0], 2)
    with pytest.raises(ValueError, match="^labels"):
        contingency([0.5, 1.0], [0, 0], 2)
    with pytest.raises(ValueError, match="^matching"):
        cluster_masks([0, 1], [0, 3], [0, 1], 2)
