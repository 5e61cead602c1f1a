"""Crash tests: SIGKILL a command just before each atomic rename (the writer's test-only fault hook),
then rerun or resume it; the result equals an uninterrupted run and no temporary file or
manifest-less set remains.

Every command runs in a subprocess (``python -m latentalign.cli``), as a user would run it.
One kill point per command runs by default; the others are marked ``slow``.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from latentalign._io import FAULT_ENV, TMP_SUFFIX
from latentalign._manifest import MANIFEST, read_manifest

SSL = ["ssl", "train", "--method", "dae", "--data", "digits", "--epochs", "2", "--no-progress"]
CONTRASTIVE = ["contrastive", "train", "--pair", "mfeat:pix,zer", "--hidden", "32", "--epochs", "3", "--no-progress"]
REPORT = ["report", "--only", "sanity", "--quick"]


def cli(args, out, fault_at=None):
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault_at is not None:
        env[FAULT_ENV] = str(fault_at)
    return subprocess.run([sys.executable, "-m", "latentalign.cli", *args, "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=600)


def finished(args, out):
    proc = cli(args, out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def killed(args, out, at):
    proc = cli(args, out, fault_at=at)
    assert proc.returncode == -9, (proc.returncode, proc.stderr[-2000:])  # SIGKILL, no clean-up ran
    with pytest.raises(ValueError, match="incomplete output set"):  # the set is not taken as finished
        read_manifest(out, "run")


def assert_clean_and_complete(out):
    assert not list(out.rglob(f"*{TMP_SUFFIX}")), "a temporary file was left behind"
    read_manifest(out, "run")  # present, and every listed file has its recorded hash


def _json(path, drop=("train_seconds", "seconds", "date")):
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in drop}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj
    return strip(json.loads(path.read_text()))


def renames(out) -> int:
    """Renames of an uninterrupted run: every file of its set, then the manifest."""
    return len(read_manifest(out, "run")["files"]) + 1


# -- ssl train: rerun after the kill ----------------------------------------------------------
@pytest.fixture(scope="module")
def ssl_reference(tmp_path_factory):
    return finished(SSL, tmp_path_factory.mktemp("ssl_reference"))


def assert_same_ssl(out, ref):
    assert _json(out / "metrics.json") == _json(ref / "metrics.json")
    a, b = torch.load(out / "encoder.pt"), torch.load(ref / "encoder.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert np.array_equal(np.load(out / "embeddings.npz")["Z_test"], np.load(ref / "embeddings.npz")["Z_test"])


@pytest.mark.parametrize("at", [pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow),
                                3, pytest.param(4, marks=pytest.mark.slow)])
def test_ssl_train_killed_at_each_rename_then_rerun(tmp_path, ssl_reference, at):
    assert renames(ssl_reference) == 4  # encoder.pt, embeddings.npz, metrics.json, run.json
    shutil.copytree(ssl_reference, tmp_path, dirs_exist_ok=True)  # an older complete run: its manifest must go
    killed(SSL, tmp_path, at)  # at=3: encoder.pt and embeddings.npz written, metrics.json not
    finished(SSL, tmp_path)
    assert_clean_and_complete(tmp_path)
    assert_same_ssl(tmp_path, ssl_reference)


# -- contrastive train --resume: resume after the kill ----------------------------------------
@pytest.fixture(scope="module")
def contrastive_reference(tmp_path_factory):
    return finished(CONTRASTIVE, tmp_path_factory.mktemp("contrastive_reference"))


@pytest.mark.slow
@pytest.mark.parametrize("at", [1, 2, 3, 4, 5])  # last.ckpt after epochs 1-3, metrics.json, run.json
def test_contrastive_train_killed_at_each_rename_then_resumed(tmp_path, contrastive_reference, at):
    assert renames(contrastive_reference) == 3 and at <= 5
    killed(CONTRASTIVE, tmp_path, at)
    finished([*CONTRASTIVE, "--resume"], tmp_path)
    assert_clean_and_complete(tmp_path)
    assert _json(tmp_path / "metrics.json") == _json(contrastive_reference / "metrics.json")
    a, b = (torch.load(p / "last.ckpt", weights_only=False)["state_dict"] for p in (tmp_path, contrastive_reference))
    assert all(torch.equal(a[k], b[k]) for k in b)


# -- report: rerun after the kill --------------------------------------------------------------
@pytest.fixture(scope="module")
def report_reference(tmp_path_factory):
    return finished(REPORT, tmp_path_factory.mktemp("report_reference"))


@pytest.mark.slow
def test_report_killed_at_each_rename_then_rerun(tmp_path, report_reference):
    for at in range(1, renames(report_reference) + 1):
        out = tmp_path / str(at)
        shutil.copytree(report_reference, out)
        killed(REPORT, out, at)
        finished(REPORT, out)
        assert_clean_and_complete(out)
        assert _json(out / "report.json")["studies"] == _json(report_reference / "report.json")["studies"]
        assert _json(out / "sanity" / "result.json") == _json(report_reference / "sanity" / "result.json")
        assert (out / MANIFEST).stat().st_mtime_ns >= (out / "index.html").stat().st_mtime_ns
