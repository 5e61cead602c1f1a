"""The SSL studies on their quick configs: the published direction on a tiny run."""

import numpy as np
import pytest

from latentalign.studies import ssl_deep, ssl_linear


def test_linear_study_quick_config_reproduces_the_shape():
    result = ssl_linear.run(ssl_linear.QUICK_CONFIG)
    assert {c.key for c in result.checks} == set(ssl_linear.CLAIMS)
    # one seed: at gamma_max=1000 (near chance) the kept-components probe misorders RC and JE, so that claim
    # is reported as measured; every other claim holds
    failed = [(c.claim, c.detail) for c in result.checks if not c.passed and c.key != "alpha0_kept_signal"]
    assert not failed, failed
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
    # α = 0 at gamma_max=10: RC keeps fewer signal components than JE, but the larger-variance ones, and wins
    kept = result.numbers["alpha0_kept_signal"]["gamma_max=10"]
    assert kept["kept_reconstruction"] < kept["kept_joint_embedding"]
    assert kept["kept_acc_reconstruction"] > kept["kept_acc_joint_embedding"]
    assert acc["gamma_max=10|alpha2=0|reconstruction"] > acc["gamma_max=10|alpha2=0|joint_embedding"]
    alpha0 = next(c for c in result.checks if c.key == "alpha0_kept_signal")
    assert "α²_RC; 2 gamma_max values" in alpha0.claim and "10: +" in alpha0.detail
    draws = result.numbers["threshold_draws"]
    assert draws["draws"] == ssl_linear.QUICK_CONFIG["variance_draws"]
    # α²_RC ≈ gamma_max · (largest noise draw / (gamma_max·u)) · (u/η²): the leading term, up to the
    # −λ^Θ/λ^Γ − 1 corrections and the mean of a product
    lead = draws["max_gamma_factor_mean"] * draws["eta_factor_mean"]
    assert abs(draws["rc_per_gamma_mean"] / lead - 1) < 0.1


def test_deep_study_quick_config_direction():
    result = ssl_deep.run(ssl_deep.QUICK_CONFIG)
    drops = result.numbers["drop_percent"]
    assert np.mean(drops["dae|sigma=1.0"]) > np.mean(drops["vicreg|sigma=1.0"]) > 0
    assert {c.key for c in result.checks} == set(ssl_deep.CLAIMS)
    # at 20 epochs the spec's 1.9-2.2 ratio, BYOL's advantage and a twofold injection gain do not hold (they
    # need the 100 epochs of the default); they are reported as measured, every other claim holds
    late = {"dae_vicreg_ratio", "byol_drops_less", "injection_cuts_drop"}
    failed = [(c.claim, c.detail) for c in result.checks if not c.passed and c.key not in late]
    assert not failed, failed
    ratio = next(c for c in result.checks if c.key == "dae_vicreg_ratio")
    assert "[1.9, 2.2]" in ratio.claim and ratio.passed == (
        1.9 <= result.numbers["dae_vicreg_drop_ratio_sigma1"] <= 2.2
    )
    # the ablation: without injection (α = 0) both VICReg and DAE lose more, already at 20 epochs
    cuts = result.numbers["injection_drop_ratio"]
    assert set(cuts) == {"vicreg|sigma=1.0", "dae|sigma=1.0"} and min(cuts.values()) > 1
    for c in (c for c in result.checks if c.key == "injection_cuts_drop"):
        assert c.passed == (cuts[f"{c.claim.split(', ')[1].split(':')[0]}|sigma=1.0"] > 2.0)
    assert np.mean(drops["vicreg|alpha=0.0|sigma=1.0"]) > np.mean(drops["vicreg|sigma=1.0"])
    table = result.tables[0]
    assert table.columns == ["method", "σ = 0.0", "σ = 1.0"]
    assert [row[0] for row in table.rows] == ["vicreg", "byol", "dae", "vicreg (α = 0.0)", "dae (α = 0.0)"]
    assert "2 idle cores" in result.summary and result.numbers["idle_2core_estimate_s"] > 0
    assert result.tables[1].columns == ["method", "effective rank", "corruption R²"] and len(result.tables[1].rows) == 5


@pytest.mark.slow
def test_deep_study_at_100_epochs():
    """Spec §8(2) slow test: 1 seed, σ ∈ {0, 1}, VICReg vs DAE, 100 epochs."""
    result = ssl_deep.run({**ssl_deep.QUICK_CONFIG, "epochs": 100})
    drops = result.numbers["drop_percent"]
    assert np.mean(drops["dae|sigma=1.0"]) > np.mean(drops["vicreg|sigma=1.0"])


def test_embedding_diagnostics_by_hand():
    Z = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])  # covariance diag(1/2, 1/2): entropy log 2, rank 2
    xi_free = np.array([[1.0], [1], [-1], [-1]])  # orthogonal to both coordinates and the intercept
    d = ssl_deep.embedding_diagnostics(Z, xi_free)
    assert d["effective_rank"] == pytest.approx(2.0) and d["corruption_r2"] == pytest.approx(0.0, abs=1e-12)
    d = ssl_deep.embedding_diagnostics(Z * [3.0, 0.0], 2 * Z[:, :1] + 5)  # one direction left; xi is linear in it
    assert d["effective_rank"] == pytest.approx(1.0) and d["corruption_r2"] == pytest.approx(1.0)
    assert np.isnan(ssl_deep.embedding_diagnostics(Z, np.zeros((4, 3)))["corruption_r2"])
