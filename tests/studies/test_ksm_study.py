"""The KSM study: its quick config checks every claim at its own threshold (one seed at full size,
minutes: slow); the tiling part alone runs in the fast suite."""

import pytest

from latentalign.studies import _ksm_tiling, ksm_study
from latentalign.studies._ksm_common import RingFits
from latentalign.studies.base import Result


@pytest.fixture(scope="module")
def quick():
    return ksm_study.run(ksm_study.QUICK_CONFIG)


def test_tiling_claims_hold_on_one_seed():
    result = Result("", claims=ksm_study.CLAIMS)
    config = {**ksm_study.QUICK_CONFIG, "max_iter": "auto"}
    worst = _ksm_tiling.run(config, result, RingFits(config))["worst"]
    assert [c.key for c in result.checks] == ["tiling_active", "tiling_cv", "tiling_cc"]
    assert all(c.passed for c in result.checks), [(c.claim, c.detail) for c in result.checks]
    assert worst["active_units"] == 16  # every unit of the non-negative code tiles the ring


@pytest.mark.slow
def test_quick_run_reproduces_every_claim(quick):
    failed = [f"{c.claim}: {c.detail}" for c in quick.checks if not c.passed]
    assert not failed, failed
    assert {c.key for c in quick.checks} == set(ksm_study.CLAIMS)


@pytest.mark.slow
def test_quick_numbers_point_the_spec_way(quick):
    n = quick.numbers
    assert n["manifolds"]["ring"]["circular_correlation_min"] > 0.95
    errors = n["digits"]["errors"]
    assert errors["KSM Gaussian (minibatch)"]["4"] < errors["PCA"]["4"]  # KSM wins at small latent size
    assert abs(errors["KSM linear a=0"]["4"] - errors["PCA"]["4"]) < 0.02  # linear KSM is PCA
    gen = n["generation"]
    assert gen["PCA-Gaussian"]["nn_ratio"] > 1.0 > gen["KSM sample_bandwidth=0.1"]["nn_ratio"]
    assert n["inpainting"]["KSM complete"] < n["inpainting"]["training mean"] == pytest.approx(1.0)
    assert {f.name for f in quick.figures} >= {"manifold_latents", "objective", "ring_sweep", "tuning_curves",
                                                "generation_distance", "online_vs_batch", "digits_error",
                                                "digit_samples", "inpainting", "budget_prior"}
    assert all(len(row) == len(t.columns) for t in quick.tables for row in t.rows)


@pytest.mark.slow
def test_default_config_reproduces_every_claim():
    result = ksm_study.run(ksm_study.DEFAULT_CONFIG)
    failed = [f"{c.claim}: {c.detail}" for c in result.checks if not c.passed]
    assert not failed, failed
