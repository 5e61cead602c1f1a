"""`latentalign align` and `latentalign compare-models` through the align typer app."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from latentalign import align
from latentalign.align.cli import app
from latentalign.models import MLP

runner = CliRunner()


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(120, 5))
    B = A @ rng.normal(size=(5, 3)) + 0.5 * rng.normal(size=(120, 3))
    np.save(tmp_path / "A.npy", A)
    np.savez(tmp_path / "B.npz", feats=B, other=B[:, :1])
    return tmp_path, A, B


def test_align_prints_a_table_and_writes_json(arrays):
    tmp, A, B = arrays
    out = tmp / "out.json"
    result = runner.invoke(app, ["align", str(tmp / "A.npy"), f"{tmp / 'B.npz'}:feats", "--metrics",
                                 "cka,mutual_knn,procrustes", "--permutations", "99", "--bootstrap", "20",
                                 "-k", "5", "--stitch", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "cka" in result.output and "mutual_knn" in result.output and "stitch A->B" in result.output
    data = json.loads(out.read_text())
    assert data["n"] == 120 and data["permutations"] == 99
    assert data["metrics"]["cka"]["value"] == pytest.approx(align.cka(A, B), abs=1e-12)
    assert data["metrics"]["mutual_knn"]["value"] == pytest.approx(align.mutual_knn(A, B, k=5))
    assert data["metrics"]["mutual_knn"]["options"] == {"k": 5}
    assert data["metrics"]["cka"]["p_value"] == pytest.approx(1 / 100)
    assert len(data["metrics"]["cka"]["ci"]) == 2
    assert data["stitch"]["A->B"]["e_star"] == pytest.approx(align.stitch(A, B).forward.e_star)


def test_align_bad_input_raises_a_named_error(arrays):
    tmp, A, _ = arrays
    np.save(tmp / "short.npy", A[:50])
    result = runner.invoke(app, ["align", str(tmp / "A.npy"), str(tmp / "short.npy")])
    assert isinstance(result.exception, ValueError)  # the metrics' Y is the command's B
    assert str(result.exception) == "B: expected the same number of samples as A (120), got 50"
    result = runner.invoke(app, ["align", str(tmp / "A.npy"), str(tmp / "B.npz")])  # two arrays, no key
    assert isinstance(result.exception, ValueError) and str(result.exception).startswith("B:")
    result = runner.invoke(app, ["align", str(tmp / "A.npy"), str(tmp / "A.npy"), "--metrics", "cka,nope"])
    assert isinstance(result.exception, ValueError)
    assert str(result.exception).startswith("metrics: unknown measure 'nope'")


@pytest.mark.parametrize("command", ["align", "compare-models"])
def test_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and f"Example: latentalign {command}" in result.output


def test_compare_models_from_checkpoints(tmp_path):
    torch.manual_seed(0)
    a, b = MLP(6, (8, 4), 3), MLP(6, (8, 4), 3)
    torch.save(a.state_dict(), tmp_path / "a.pt")
    torch.save({"state_dict": {f"model.{k}": v for k, v in b.state_dict().items()}}, tmp_path / "b.ckpt")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 6)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1))
    out = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare-models", str(tmp_path / "a.pt"), str(tmp_path / "b.ckpt"), "--data",
                                 str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"), "--hidden", "8,4",
                                 "--metrics", "cka", "--ridge", "0.001", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["layers_a"] == ["input", "hidden1", "penultimate", "logits"]
    assert np.array(data["metrics"]["cka"]).shape == (4, 4) and data["n_eval"] == 32 and data["n_fit"] == 48
    assert np.isfinite(np.array(data["stitching"]["a->b"]["delta_ce"], dtype=float)).all()
    assert "delta_ce A->B" in result.output
    bad = runner.invoke(app, ["compare-models", str(tmp_path / "a.pt"), str(tmp_path / "b.ckpt"), "--data",
                              str(tmp_path / "X.npy"), "--hidden", "5"])
    assert isinstance(bad.exception, ValueError) and str(bad.exception).startswith("ckpt_a: checkpoint does not fit")


def test_align_list_prints_every_measure_with_kind_and_range():
    from latentalign.align.measures import MEASURES

    result = runner.invoke(app, ["align", "--list"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(align.METRIC_NAMES) + len(MEASURES)
    assert "procrustes-distance=angular\tdistance\t[0, 1.571]" in lines


def test_align_accepts_standardized_names(arrays):
    tmp, A, B = arrays
    result = runner.invoke(app, ["align", str(tmp / "A.npy"), str(tmp / "B.npz") + ":feats", "--metrics",
                                 "cka-kernel=linear-hsic=gretton-score,procrustes-distance=angular",
                                 "--json", str(tmp / "out.json")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp / "out.json").read_text())["metrics"]
    assert rows["cka-kernel=linear-hsic=gretton-score"]["value"] == pytest.approx(align.cka(A, B), rel=1e-12)
    assert rows["procrustes-distance=angular"]["kind"] == "distance"
