"""The command line: one line and exit status 2 for every bad input; outputs written."""

import json

import numpy as np
import pytest

from latentalign.cli import main
from latentalign.kernels import hsic


@pytest.fixture()
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    np.save(tmp_path / "A.npy", X)
    np.save(tmp_path / "B.npy", X @ rng.normal(size=(4, 3)))
    np.save(tmp_path / "short.npy", X[:30])
    np.save(tmp_path / "nan.npy", np.where(X > 2, np.nan, X))
    np.save(tmp_path / "flat.npy", X[:, 0])
    np.savez(tmp_path / "two.npz", a=X, b=X[:, :2])
    (tmp_path / "notes.txt").write_text("1 2 3")
    (tmp_path / "broken.npy").write_bytes(b"not an array")
    return tmp_path, X


def test_hsic_prints_and_writes_json(arrays, capsys):
    path, X = arrays
    out = path / "res" / "hsic.json"
    assert main(["hsic", str(path / "A.npy"), str(path / "B.npy"), "--unbiased", "--json", str(out)]) == 0
    value = json.loads(out.read_text())["hsic"]
    assert value == pytest.approx(hsic(X, np.load(path / "B.npy"), unbiased=True), rel=1e-12)
    assert f"{value:.10g}" in capsys.readouterr().out


def test_npz_key_syntax(arrays, capsys):
    path, X = arrays
    assert main(["hsic", f"{path}/two.npz:a", f"{path}/two.npz:b"]) == 0
    assert f"{hsic(X, X[:, :2]):.10g}" in capsys.readouterr().out


def test_knn_writes_npz(arrays):
    path, X = arrays
    assert main(["knn", str(path / "A.npy"), "-k", "3", "--out", str(path / "nb.npz")]) == 0
    with np.load(path / "nb.npz") as nb:
        assert nb["indices"].shape == (40, 3) and nb["distances"].shape == (40, 3)
        d = np.linalg.norm(X - X[nb["indices"][:, 0]], axis=1)
        np.testing.assert_allclose(nb["distances"][:, 0], d, rtol=1e-6)


@pytest.mark.parametrize(
    "args, words",
    [
        (["hsic", "{p}/A.npy", "{p}/missing.npy"], "B: file not found"),
        (["hsic", "{p}/notes.txt", "{p}/A.npy"], "A: unsupported file type '.txt'"),
        (["hsic", "{p}/broken.npy", "{p}/A.npy"], "A: cannot read"),
        (["hsic", "{p}/A.npy", "{p}/short.npy"], "B: expected the same number of samples as A"),
        (["hsic", "{p}/nan.npy", "{p}/A.npy"], "A: contains"),
        (["hsic", "{p}/flat.npy", "{p}/A.npy"], "A: expected a 2-D array"),
        (["hsic", "{p}/two.npz", "{p}/A.npy"], "A: {p}/two.npz holds 2 arrays"),
        (["hsic", "{p}/two.npz:zz", "{p}/A.npy"], "A: no array 'zz'"),
        (["hsic", "{p}/A.npy", "{p}/B.npy", "--kernel", "poly"], "kernel: expected one of"),
        (["hsic", "{p}/A.npy"], "Missing argument"),
        (["knn", "{p}/A.npy", "-k", "40", "--out", "{p}/nb.npz"], "k: must be < n_samples=40"),
        (["knn", "{p}/A.npy", "--out", "{p}/nb.txt"], "out: expected a .npz path"),
        (["report", "--only", "nope", "--out", "{p}/r"], "only: unknown study 'nope'"),
        (["nosuch"], "No such command"),
    ],
)
def test_bad_input_one_line_exit_2(arrays, capsys, args, words):
    path, _ = arrays
    code = main([a.format(p=path) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("latentalign: error: ")
    assert words.format(p=path) in err


def test_help_has_an_example_for_every_command(capsys):
    for command in ("report", "hsic", "knn"):
        assert main([command, "--help"]) == 0
        assert "Example: latentalign " + command in capsys.readouterr().out
