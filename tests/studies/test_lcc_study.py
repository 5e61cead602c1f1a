"""The LCC study on its quick config (fast) and its default config (slow)."""

import pytest

from latentalign.studies import lcc_study


def _assert_mechanism_and_ablation(result):
    checks = {c.claim.split(" (")[0].split(":")[0]: c for c in result.checks}
    assert checks["mechanism"].passed, checks["mechanism"].detail
    assert checks["shuffled matching makes most samples MC"].passed
    mech = result.numbers["mechanism"]
    assert mech["lcc"] < mech["ce"] and mech["n_mc"] > 0


def test_quick_config_reaches_the_mechanism_checks():
    result = lcc_study.run(lcc_study.QUICK_CONFIG)
    _assert_mechanism_and_ablation(result)
    assert {c.key for c in result.checks} == set(lcc_study.CLAIMS)  # the accuracy band is reported, not asserted
    rows = result.numbers["cases"]["digits/mlp"]["rows"]
    assert set(rows) == {"CE", "aligned w=1", "shuffled w=1", "randomized w=1"}
    assert rows["shuffled w=1"]["mc_first"] >= 0.8
    assert rows["aligned w=1"]["mc_first"] < 0.5  # the aligned matching leaves most samples CC
    for r in rows.values():
        assert 0.3 < r["acc"][0] <= 1.0 and r["n_seeds"] == 1
    assert {f.name for f in result.figures} == {"accuracy", "cc_share", "stage_times"}
    assert "Published claim" in result.summary
    assert "altaris/lcc, commit 2550020" in result.summary and "shuffled arm" in result.summary


@pytest.mark.slow
def test_default_config():
    result = lcc_study.run(lcc_study.DEFAULT_CONFIG)
    _assert_mechanism_and_ablation(result)
    assert len(result.numbers["cases"]) == 4


def test_seed_jobs_give_the_same_numbers_in_worker_processes():
    config = {**lcc_study.QUICK_CONFIG, "seeds": [0, 1], "epochs": {"digits": [1, 1]}, "randomized_on": []}
    one = lcc_study._run_cases(config, {("digits", a): {"w": 1.0} for a in ("aligned", "shuffled")})
    two = lcc_study._run_cases({**config, "workers": 2}, {("digits", a): {"w": 1.0} for a in ("aligned", "shuffled")})
    for label, slot in one["digits/mlp"]["arms"].items():
        other = two["digits/mlp"]["arms"][label]
        assert slot["acc"] == other["acc"] and len(slot["acc"]) == 2
        assert [a["purity"] for a in slot["after"]] == [a["purity"] for a in other["after"]]
