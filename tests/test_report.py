"""The report writer: every study's numbers, figures, config and timing; failures isolated."""

import json
import sys
import types

import matplotlib.pyplot as plt
import pytest

from latentalign._manifest import read_manifest
from latentalign.report import read_report, run_report
from latentalign.studies import base
from latentalign.studies.base import Result, Table


def _fake_study(name, fail=False, claim_holds=True):
    module = types.ModuleType(name)
    module.TITLE = f"Fake {name}"
    module.DEFAULT_CONFIG = {"n": 100}
    module.QUICK_CONFIG = {"n": 3}

    def run(config):
        if fail:
            raise RuntimeError("boom <script>")
        fig, ax = plt.subplots()
        ax.plot(range(config["n"]))
        r = Result(summary=f"n was {config['n']}", numbers={"n": config["n"]})
        r.tables.append(Table("numbers", ["k", "v"], [["a", 0.123456789]]))
        r.figures.append(base.Figure("line", "a line", fig))
        r.check("n is positive", config["n"] > 0 and claim_holds, f"n={config['n']}")
        return r

    module.run = run
    return module


@pytest.fixture()
def fake_registry(monkeypatch):
    for name, fail, holds in (("good", False, True), ("bad", True, True), ("weak", False, False)):
        monkeypatch.setitem(sys.modules, f"fake_{name}", _fake_study(name, fail, holds))
    monkeypatch.setattr(base, "STUDIES", {"good": "fake_good", "bad": "fake_bad", "weak": "fake_weak"})
    monkeypatch.setattr("latentalign.report.STUDIES", base.STUDIES)


def test_report_writes_every_part_and_isolates_failures(tmp_path, fake_registry):
    seen = []
    runs = run_report(tmp_path, quick=True, on_study=lambda n, s: seen.append((n, s)))
    assert [r.name for r in runs] == ["good", "bad", "weak"]
    assert seen == [("good", "start"), ("good", "done"), ("bad", "start"), ("bad", "error"),
                    ("weak", "start"), ("weak", "unreproduced")]
    page = (tmp_path / "index.html").read_text()
    assert "good/line.png" in page and "n was 3" in page and "0.1235" in page
    assert "&lt;script&gt;" in page and "<script>" not in page  # escaped error text
    assert (tmp_path / "good" / "line.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "good" / "result.json").read_text())
    assert saved["config"] == {"n": 3} and saved["checks"][0]["passed"] and saved["seconds"] >= 0
    summary = json.loads((tmp_path / "report.json").read_text())
    assert [s["passed"] for s in summary["studies"]] == [True, False, False]
    assert "claim not reproduced" in page and "ERROR" in page
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob("*.latentalign-tmp"))
    files = read_manifest(tmp_path, "report")["files"]
    assert set(files) == {"index.html", "report.json", "good/line.png", "good/result.json", "bad/result.json",
                          "weak/line.png", "weak/result.json"}
    assert read_report(tmp_path) == summary


def test_a_rerun_marks_the_report_incomplete_until_it_finishes(tmp_path, fake_registry, monkeypatch):
    run_report(tmp_path, only=["good"])

    def interrupted(config):
        assert not (tmp_path / "index.html").exists() and not (tmp_path / "report.json").exists()
        raise KeyboardInterrupt  # a kill mid-study: nothing after it runs

    monkeypatch.setattr(sys.modules["fake_good"], "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_report(tmp_path, only=["good"])
    with pytest.raises(ValueError, match=r"^report: .* is an incomplete output set \(no run.json\)"):
        read_report(tmp_path)


def test_only_runs_the_named_study_and_rejects_unknown(tmp_path, fake_registry):
    runs = run_report(tmp_path, only=["good"])
    assert [r.name for r in runs] == ["good"] and runs[0].config == {"n": 100}
    with pytest.raises(ValueError, match="^only: unknown study 'nope'"):
        run_report(tmp_path / "x", only=["nope"])
    assert not (tmp_path / "x").exists()


def test_cli_exit_status_separates_errors_from_unreproduced_claims(tmp_path, fake_registry, monkeypatch, capsys):
    from latentalign.cli import main

    assert main(["report", "--only", "good", "--out", str(tmp_path / "a")]) == 0
    assert main(["report", "--only", "bad", "--out", str(tmp_path / "b")]) == 1
    assert "studies that raised an error: bad" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules["fake_good"].__dict__, "DEFAULT_CONFIG", {"n": 0})  # check n > 0 fails
    assert main(["report", "--only", "good", "--out", str(tmp_path / "c")]) == 0
    assert "claims not reproduced (see the report): good" in capsys.readouterr().err
