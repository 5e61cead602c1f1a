"""``latentalign ssl`` commands, through the group's typer app."""

import json

import numpy as np
import torch
from typer.testing import CliRunner

from latentalign._manifest import read_manifest
from latentalign.ssl.cli import app

runner = CliRunner()


def test_train_writes_encoder_metrics_and_embeddings(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--method", "dae", "--data", "digits", "--epochs", "2", "--out", str(out),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "dae" and metrics["n_train"] == 1200 and metrics["n_test"] == 597
    assert 0.3 < metrics["logistic_probe"] <= 1 and 0.3 < metrics["knn_probe"] <= 1
    state = torch.load(out / "encoder.pt")
    assert state["hidden1.linear.weight"].shape == (256, 64)  # a models.MLP with named layers
    assert np.load(out / "embeddings.npz")["Z_test"].shape == (597, 16)
    assert set(read_manifest(out, "run")["files"]) == {"encoder.pt", "embeddings.npz", "metrics.json"}


def test_train_rejects_unknown_method(tmp_path):
    result = runner.invoke(app, ["train", "--method", "moco", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "method: expected one of" in str(result.exception)


def test_thresholds_worked_example(tmp_path):
    result = runner.invoke(app, ["thresholds", "--signal-var", "1,1.5,2,2.5,3", "--theta", "0.5", "--gamma", "3",
                                 "--n-noise", "15", "--json", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    assert "alpha^2_RC = 3.3333" in result.output and "preferred: joint_embedding" in result.output
    values = json.loads((tmp_path / "t.json").read_text())
    assert values["regime"] == "high_noise" and abs(values["alpha2_je"] - 1 / 3) < 1e-12


def test_help_has_examples():
    for command in ("train", "thresholds"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example: latentalign ssl" in result.output
