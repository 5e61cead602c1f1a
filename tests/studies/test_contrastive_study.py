"""The contrastive study on its quick config: every published direction holds."""

import pytest

from latentalign.studies import contrastive_study


@pytest.fixture(scope="module")
def result():
    return contrastive_study.run(contrastive_study.QUICK_CONFIG)


def test_quick_study_reaches_the_published_directions(result):
    failed = [f"{c.claim}: {c.detail}" for c in result.checks if not c.passed]
    assert not failed, failed
    assert {c.key for c in result.checks} == set(contrastive_study.CLAIMS)  # the quick run checks every claim
    n = result.numbers
    # (a) SGD angles to the top-r CCA subspace
    assert all(angle < 0.05 for angle in n["sgd_max_angles"].values())
    assert abs(n["table1"]["joint"]["mean_error_u|v"] - 0.302040) < 0.05
    # (b) pix-zer retrieval for every loss, zero-shot for every loss
    for loss, m in n["table2"]["pix,zer"].items():
        assert m["R@1_u_to_v"] > 0.3 and m["R@1_v_to_u"] > 0.3, loss
    assert all(m["zero_shot"] > 0.8 for m in n["table3"].values())
    # inner tilt: the one-sided (0,2) conditional collapses, CLIP's does not
    p02, p11 = n["table4"]["cond:0,2"]["0"], n["table4"]["clip"]["0"]
    assert p02["perplexity"] < 0.3 * p11["perplexity"]
    assert p02["class_mass"] < p11["class_mass"] - 0.2
    # the joint fits the marginals better and the conditionals worse than CLIP (its flatter nu(image | caption))
    pj = n["table4"]["joint"]["0"]
    assert pj["marginal_gap"] < p11["marginal_gap"] and pj["L_cond"] > p11["L_cond"]
    # Thm 3.10 and Thm 2.8 on every trained model's test pairs
    assert all(t["L_joint"] >= t["L_cond"] and t["identity_deviation"] < 1e-9 for t in n["test_losses"].values())
    # CLIP's u-marginal error comes from its canonical gains, inflated at a finite batch
    cm = n["clip_marginal"]
    assert cm["marginal_error_sgd"] > cm["marginal_error_population"] == pytest.approx(1.867282, abs=1e-6)
    assert abs(cm["sgd_gains"][0] - cm["finite_batch_gains"][0]) < 0.02 < cm["sgd_gains"][0] - 0.9


def test_quick_study_has_its_tables_and_figures(result):
    assert len(result.tables) == 6
    assert {f.name for f in result.figures} == {"error_vs_dim", "error_vs_batch", "error_vs_data", "samples"}
    assert set(contrastive_study.QUICK_CONFIG) == set(contrastive_study.DEFAULT_CONFIG)
