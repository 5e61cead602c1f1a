"""The `latentalign contrastive train` command, through its typer app."""

import json
import re

import pytest
import torch
from typer.testing import CliRunner

from latentalign._manifest import read_manifest
from latentalign.contrastive.cli import app

runner = CliRunner()


def test_help_has_an_example():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "Example: latentalign contrastive train --pair mfeat:pix,fou" in result.output


def test_train_writes_metrics_and_a_resumable_checkpoint(tmp_path):
    args = ["--pair", "mfeat:pix,zer", "--loss", "cond:2,0", "--out", str(tmp_path), "--no-progress"]
    result = runner.invoke(app, ["train", *args, "--epochs", "2"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["loss"] == "cond:2,0" and metrics["n_test"] == 400
    recall = metrics["test"]["recall"]
    assert set(recall) == {"u_to_v", "v_to_u"} and set(recall["u_to_v"]) == {"1", "5"}
    assert recall["u_to_v"]["1"] > 10 / 400  # two epochs already beat chance (1/400) by far
    ckpt = torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 1
    result = runner.invoke(app, ["train", *args, "--epochs", "3", "--resume"])
    assert result.exit_code == 0, result.output
    assert torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=False)["epoch"] == 2
    assert set(read_manifest(tmp_path, "run")["files"]) == {"metrics.json", "last.ckpt"}


@pytest.mark.parametrize("change, message", [
    (["--embed-dim", "8"], r"another architecture: encoder_u.logits.bias has shape \(8,\) there, \(64,\) in this run"),
    (["--lr", "0.01"], r"another configuration: lr=0.01 there, 0.001 now"),
    ("garbage", r"cannot read .*last.ckpt as a checkpoint"),
])
def test_resume_refuses_a_checkpoint_it_cannot_continue(tmp_path, change, message):
    args = ["--pair", "mfeat:pix,zer", "--out", str(tmp_path), "--no-progress", "--hidden", "0"]
    if change == "garbage":
        (tmp_path / "last.ckpt").write_bytes(b"not a checkpoint")
    else:
        assert runner.invoke(app, ["train", *args, "--epochs", "1", *change]).exit_code == 0
    result = runner.invoke(app, ["train", *args, "--epochs", "2", "--resume"])
    assert isinstance(result.exception, ValueError)
    assert re.match(f"^resume: .*{message}", str(result.exception)), str(result.exception)
    assert not (tmp_path / "run.json").exists()  # the refused rerun left the set marked incomplete


def test_digits_captions_report_zero_shot(tmp_path):
    result = runner.invoke(app, ["train", "--pair", "digits:captions", "--epochs", "3", "--out", str(tmp_path),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["zero_shot"] > 0.3  # chance 0.1
    assert "TEMPLATED" in metrics["data"]


@pytest.mark.parametrize("args, message", [
    (["--pair", "mfeat:pix"], "^pair:"),
    (["--pair", "mfeat:pix,zer", "--loss", "hinge"], "^loss:"),
    (["--pair", "mfeat:pix,zer", "--temperature", "-1"], "^temperature:"),
    (["--pair", "mfeat:pix,zer", "--tilt", "dot"], "^tilt:"),
    (["--pair", "mfeat:pix,zer", "--batch-size", "5000"], "^batch_size:"),
])
def test_bad_options_raise_errors_naming_them(tmp_path, args, message):
    result = runner.invoke(app, ["train", *args, "--epochs", "1", "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError)
    assert re.match(message, str(result.exception))
