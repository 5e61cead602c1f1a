"""The LCC study on its quick config (fast) and its default config (slow)."""

import pytest
import torch

from latentalign.studies import lcc_study


def _assert_mechanism_and_ablation(result):
    checks = {c.claim.split(" (")[0].split(":")[0]: c for c in result.checks}
    assert checks["mechanism"].passed, checks["mechanism"].detail
    assert checks["shuffled matching makes most samples MC"].passed
    mech = result.numbers["mechanism"]
    assert mech["lcc"] < mech["ce"] and mech["n_mc"] > 0


@pytest.fixture(scope="module")
def quick():
    return lcc_study.run(lcc_study.QUICK_CONFIG)


def test_quick_config_reaches_the_mechanism_checks(quick):
    result = quick
    _assert_mechanism_and_ablation(result)
    assert {c.key for c in result.checks} == set(lcc_study.CLAIMS)  # the accuracy band is reported, not asserted
    rows = result.numbers["cases"]["digits/mlp"]["rows"]
    assert set(rows) == {"CE", "aligned w=1", "shuffled w=1", "randomized w=1"}
    assert rows["shuffled w=1"]["mc_first"] >= 0.8
    assert rows["aligned w=1"]["mc_first"] < 0.5  # the aligned matching leaves most samples CC
    for r in rows.values():
        assert 0.3 < r["acc"][0] <= 1.0 and r["n_seeds"] == 1
    assert {f.name for f in result.figures} == {"accuracy", "cc_share", "stage_times", "robustness"}
    assert "Published claim" in result.summary
    assert "altaris/lcc, commit 2550020" in result.summary and "shuffled arm" in result.summary
    assert "on 2 idle cores" in result.summary and result.numbers["timing"]["idle_2core_estimate_s"] > 0


def test_quick_config_runs_every_robustness_arm_on_the_robustness_case(quick):
    result = quick
    rob = result.numbers["robustness"]
    assert set(rob["rows"]) == {"aligned w=1", "aligned logits w=1", "aligned k_target=50 w=1", "CE no aug",
                                "aligned no aug w=1", "aligned w=0.0001", "aligned w=0.01", "aligned networkx w=1"}
    assert rob["reference"] == "aligned w=1"
    assert rob["rows"]["aligned no aug w=1"]["baseline"] == "CE no aug"
    assert rob["rows"]["CE no aug"]["baseline"] == "CE" and rob["rows"]["CE no aug"]["mc_first"] is None
    # the networkx arm and the default one cluster the same phase-1 latents first
    (agreement,) = rob["agreement"]
    assert -1.0 <= agreement["ari"] <= 1.0 and set(agreement) == {"ari", "louvain", "networkx"}
    assert "vs_reference" in rob["rows"]["aligned networkx w=1"]
    logits = rob["rows"]["aligned logits w=1"]
    assert logits["change"] == "layer logits" and 0.0 <= logits["mc_first"] <= 1.0
    assert {"paper_weights", "logits_layer", "louvain_agreement"} <= {c.key for c in result.checks}
    assert "Robustness on digits/mlp only" in result.summary


def test_every_arm_starts_from_the_same_phase1_optimizer_state():
    """Regression: AdamW.load_state_dict keeps the given moment tensors and steps them in place, so arms run
    one after another used to start where the previous arm stopped."""
    config = lcc_study.QUICK_CONFIG
    split, model, opt_state, _ = lcc_study._phase1("digits", "mlp", 0, config)
    ce = lcc_study.Arm("CE", None, 0.0)
    first, _ = lcc_study._phase2(split, model, opt_state, 0, config, ce)
    lcc_study._phase2(split, model, opt_state, 0, config, lcc_study.Arm("aligned w=1", "aligned", 1.0))
    again, _ = lcc_study._phase2(split, model, opt_state, 0, config, ce)
    assert all(torch.equal(p, q) for p, q in zip(first.parameters(), again.parameters()))


@pytest.mark.slow
def test_default_config():
    result = lcc_study.run(lcc_study.DEFAULT_CONFIG)
    _assert_mechanism_and_ablation(result)
    assert len(result.numbers["cases"]) == 4


def test_seed_jobs_give_the_same_numbers_in_worker_processes():
    config = {**lcc_study.QUICK_CONFIG, "seeds": [0, 1], "epochs": {"digits": [1, 1]}, "randomized_on": [],
              "robustness": {**lcc_study.QUICK_CONFIG["robustness"], "case": []}}
    chosen = {("digits", a): {"w": 1.0} for a in ("aligned", "shuffled")}
    one, _ = lcc_study._run_cases(config, chosen)
    two, _ = lcc_study._run_cases({**config, "workers": 2}, chosen)
    for label, slot in one["digits/mlp"]["arms"].items():
        other = two["digits/mlp"]["arms"][label]
        assert slot["acc"] == other["acc"] and len(slot["acc"]) == 2
        assert [a and a["purity"] for a in slot["after"]] == [a and a["purity"] for a in other["after"]]
