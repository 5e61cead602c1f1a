"""`latentalign ksm fit / sample` through the capability's typer app, and the model file."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from latentalign.data.synthetic import ring
from latentalign.ksm.cli import app
from latentalign.ksm.io import load_model, save_model

runner = CliRunner()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ksm_cli")
    data = folder / "data.npy"
    np.save(data, ring(n=64, dim=16, seed=0).X)  # 16 features: 4x4 "images"
    result = runner.invoke(app, ["fit", str(data), "--latent-dim", "2", "--kernel", "rbf", "--max-iter", "50",
                                 "--out", str(folder / "model.pt"), "--embedding", str(folder / "z.npy")])
    assert result.exit_code == 0, result.output
    return folder


def test_fit_writes_a_loadable_model(model_file):
    est = load_model(model_file / "model.pt")
    assert est.get_params()["max_iter"] == 50 and est.embedding_.shape == (64, 2)
    np.testing.assert_array_equal(np.load(model_file / "z.npy"), est.embedding_)
    payload = torch.load(model_file / "model.pt", weights_only=True)  # plain tensors and values only
    assert payload["format"] == "latentalign.ksm" and isinstance(payload["state"]["embedding_"], torch.Tensor)
    X = np.load(model_file / "data.npy")
    assert est.transform(X[:4]).shape == (4, 2)
    assert not list(model_file.glob(".*.tmp"))  # atomic write leaves no temporary file


def test_sample_writes_array_and_grid(model_file):
    result = runner.invoke(app, ["sample", str(model_file / "model.pt"), "-n", "9", "--seed", "3",
                                 "--out", str(model_file / "s.npy"), "--png", str(model_file / "grid.png")])
    assert result.exit_code == 0, result.output
    samples = np.load(model_file / "s.npy")
    np.testing.assert_array_equal(samples, load_model(model_file / "model.pt").sample(9, random_state=3))
    assert (model_file / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_save_load_round_trip_keeps_every_output(tmp_path):
    X = ring(n=40, dim=5, seed=1).X
    from latentalign.ksm import KernelSimilarityMatching

    for params in ({"max_iter": 30}, {"kernel": "linear", "max_iter": 30}, {"max_iter": 30, "learn_sigma": True},
                   {"solver": "online", "max_iter": 1, "online_steps": 10}):
        est = KernelSimilarityMatching(random_state=0, init=np.full((40, 2), 0.1) if "kernel" in params else "random",
                                       **params).fit(X)
        save_model(est, tmp_path / "m.pt")
        again = load_model(tmp_path / "m.pt")
        np.testing.assert_array_equal(again.transform(X), est.transform(X))
        np.testing.assert_array_equal(again.sample(5, random_state=0), est.sample(5, random_state=0))
        assert again.history_.keys() == est.history_.keys() and again.sigma_ == est.sigma_


def test_fit_learns_the_bandwidth_when_asked(model_file):
    out = model_file / "learned.pt"
    result = runner.invoke(app, ["fit", str(model_file / "data.npy"), "--sigma", "3", "--learn-sigma",
                                 "--max-iter", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    est = load_model(out)
    assert est.learn_sigma and est.sigma == 3.0 and est.sigma_ != 3.0
    assert f"sigma {est.sigma_:.4g}" in result.output


@pytest.mark.parametrize(
    "args, match",
    [
        (["fit", "{d}/data.npy", "--out", "{d}/m.pkl"], "^out: expected a .pt path"),
        (["fit", "{d}/missing.npy", "--out", "{d}/m.pt"], "^data: file not found"),
        (["fit", "{d}/data.npy", "--latent-dim", "0", "--out", "{d}/m2.pt"], "^n_components: must be >= 1"),
        (["fit", "{d}/data.npy", "--max-iter", "many", "--out", "{d}/m2.pt"], "^max_iter: expected an integer"),
        (["sample", "{d}/model.pt", "-n", "4"], "^out: give --out"),
        (["sample", "{d}/data.npy", "--out", "{d}/s.npy"], "^model: expected a .pt file"),
        (["sample", "{d}/model.pt", "--png", "{d}/g.png", "--image-shape", "3x3"], "^image_shape: 3x3 = 9 pixels"),
    ],
)
def test_bad_input_raises_naming_the_argument(model_file, args, match):
    result = runner.invoke(app, [a.format(d=model_file) for a in args])
    assert isinstance(result.exception, ValueError), result.output
    assert result.exception.args[0].startswith(match.lstrip("^").split(":")[0] + ":")
    import re

    assert re.match(match, str(result.exception))


def test_load_rejects_foreign_files(tmp_path):
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="^model: .* is not a latentalign KSM model"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="^model: cannot read"):
        load_model(tmp_path / "junk.pt")
