"""The align study on its QUICK_CONFIG: the published claim's direction on tiny settings."""

import numpy as np

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
    assert {f.name for f in result.figures} >= {"rf_bound", "rf_sweep", "digits_heatmaps", "digits_scatter", "mfeat"}
    write_json(tmp_path / "numbers.json", result.numbers)  # every number is JSON-able
