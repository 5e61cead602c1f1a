"""The sanity study end to end through the CLI, on its quick config."""

import json

from latentalign.cli import main


def test_quick_report_runs_and_reaches_its_claim(tmp_path):
    assert main(["report", "--only", "sanity", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "sanity" / "result.json").read_text())
    assert result["passed"] and result["error"] is None
    assert [c["key"] for c in result["checks"]] == ["test_accuracy", "penultimate_probe"]
    assert result["checks"][0]["claim"] == "test accuracy >= 0.9"  # the default run's threshold
    probes = result["numbers"]["probes"]
    assert list(probes) == ["input", "hidden1", "penultimate", "logits"]
    assert result["numbers"]["test_accuracy"] >= 0.9 and probes["penultimate"]["linear"] >= 0.9
    assert (tmp_path / "sanity" / "probes.png").exists()
    assert "sanity/penultimate_pca.png" in (tmp_path / "index.html").read_text()

