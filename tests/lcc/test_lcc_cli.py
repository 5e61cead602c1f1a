"""``latentalign lcc finetune`` through the lcc typer app, and the package's doctest examples."""

import doctest
import importlib
import json
import re

import pytest
from typer.testing import CliRunner

from latentalign.lcc.cli import app

MODULES = ["collect", "graph", "communities", "matching", "metrics", "state", "losses", "correction", "finetune"]


def test_finetune_writes_accuracies_and_cluster_metrics(tmp_path):
    out = tmp_path / "ft.json"
    args = ["finetune", "--data", "digits", "--model", "mlp", "--layer", "penultimate", "--weight", "1e-2",
            "--pretrain-epochs", "2", "--epochs", "2", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["config"]["layers"] == ["penultimate"] and report["config"]["weight"] == 0.01
    for phase in ("before", "after"):
        assert 0.1 < report[phase]["test_accuracy"] <= 1.0
        m = report[phase]["clusters"]["penultimate"]
        assert m["cc_share"] + m["mc_share"] == pytest.approx(1.0) and m["n_labelled"] == 718
    assert [r["epoch"] for r in report["epochs"]] == [2, 3]
    assert all(r["lcc_loss"] is not None and r["lcc_loss"] >= 0 for r in report["epochs"])
    assert "test accuracy" in result.output


def test_help_has_an_example():
    result = CliRunner().invoke(app, ["finetune", "--help"])
    assert result.exit_code == 0
    assert "Example: latentalign lcc finetune --data digits" in result.output


def test_bad_options_raise_errors_naming_the_option(tmp_path):
    cases = [(["--layer", "nope"], "^layers: unknown layer 'nope'"), (["--data", "cifar"], "^data"),
             (["--weight", "-1"], "^weight"), (["-k", "718"], "^k: must be < n_samples=718")]
    for extra, pattern in cases:
        args = ["finetune", "--pretrain-epochs", "0", "--epochs", "1", "--out", str(tmp_path / "x.json"), *extra]
        result = CliRunner().invoke(app, args)
        assert isinstance(result.exception, ValueError), (extra, result.output)
        assert re.match(pattern, str(result.exception)), str(result.exception)
        assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"latentalign.lcc.{name}")
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
