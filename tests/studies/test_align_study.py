"""The align study on its QUICK_CONFIG: the published claim's direction on tiny settings."""

import itertools

import numpy as np
import pytest
from scipy.stats import spearmanr

from latentalign._io import write_json
from latentalign.studies import align_study


def test_quick_align_study_reproduces_the_claims_direction(tmp_path):
    result = align_study.run(align_study.QUICK_CONFIG)
    failed = [f"{c.claim}: {c.detail}" for c in result.checks if not c.passed]
    assert not failed, failed
    assert {c.key for c in result.checks} == set(align_study.CLAIMS)  # the quick run checks every claim
    rf = result.numbers["random_features"]
    assert rf["spearman_cka_estar"]["1->2"] < 0 and rf["spearman_cka_estar"]["2->1"] < 0  # more aligned, less error
    assert all(p["lower_12"] <= p["e_star_12"] + 1e-9 <= p["upper_12"] + 2e-9 for p in rf["points"])
    nets = result.numbers["trained_networks"]["digits"]
    assert nets["spearman_pooled"] > 0 and nets["bound_spearman"] > 0
    mv = result.numbers["multiview"]
    idx = {v: i for i, v in enumerate(mv["views"])}
    cka = np.array(mv["cka_b"])
    assert cka[idx["kar"], idx["pix"]] > cka[idx["mor"], idx["pix"]]
    estar = np.array(mv["e_star"])
    assert estar[idx["pix"], idx["mor"]] < estar[idx["mor"], idx["pix"]]  # the stitching asymmetry
    assert np.diag(mv["stitched_accuracy"]).min() > 0.3  # each view's own head beats chance (0.1)
    for tb in nets["task_bound"]:  # the CE bound as recorded: |dCE| <= sqrt(2) L_h sqrt(e_abs), every pair
        assert np.all(np.abs(tb["dce"]) <= tb["bound"] + 1e-9) and tb["max_ratio"] <= 1
    xm = result.numbers["cross_modal"]
    assert (
        xm["chance"] < min(r["mutual_knn"] for r in xm["encoders"]) <= max(r["mutual_knn"] for r in xm["encoders"]) <= 1
    )
    assert {f.name for f in result.figures} >= {"rf_bound", "rf_sweep", "digits_heatmaps", "digits_scatter", "mfeat",
                                                "ce_bound", "cross_modal"}
    write_json(tmp_path / "numbers.json", result.numbers)  # every number is JSON-able


@pytest.mark.parametrize("seed", [0, 1])
def test_spearman_trend_p_matches_exact_enumeration(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=6)
    y = x + rng.normal(size=6)
    rho, p = align_study._spearman_trend(x, y, 20000, seed)
    assert rho == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    exact = np.mean([spearmanr(x, y[list(q)]).statistic >= rho - 1e-12 for q in itertools.permutations(range(6))])
    assert p == pytest.approx(exact, abs=0.01)  # Monte Carlo sd at B = 20000 is <= 0.0036


def test_task_bound_summary_by_hand():
    """eta^2 is 1 when dCE depends on the source layer alone (a->b: A's layer = row; b->a: B's layer = column)."""
    f = np.array([0.0, 0.1, 0.4])
    a_to_b, b_to_a = np.repeat(f[:, None], 3, 1), np.repeat(f[None, :], 3, 0)
    bound = np.full((3, 3), 0.8)
    pair = {"stitching": {"a->b": {"delta_ce": a_to_b, "ce_bound": bound},
                          "b->a": {"delta_ce": b_to_a, "ce_bound": bound}}}
    t = align_study._task_bound(pair)
    assert t["eta2_source"] == pytest.approx(1.0) and t["holds"] and t["n"] == 18
    assert (t["max_ratio"], t["median_ratio"]) == pytest.approx((0.5, 0.125))
    pair["stitching"]["b->a"]["delta_ce"] = a_to_b  # now b->a depends on its target (the row): eta^2 drops
    assert align_study._task_bound(pair)["eta2_source"] < 0.6
    pair["stitching"]["a->b"]["ce_bound"] = np.full((3, 3), 0.3)  # 0.4 > 0.3: the bound fails somewhere
    assert not align_study._task_bound(pair)["holds"]
