"""The glossary's words in ssl: ``return_terms`` dicts, ``gather``, ``*_loss`` terms, and the deprecated old names."""

import numpy as np
import pytest
import torch

from latentalign import ssl
from latentalign.ssl import losses
from latentalign.ssl.evaluate import KNN_SETTINGS, lstsq_probe_loss
from latentalign.ssl.module import make_loss
from latentalign.train import knn_probe, linear_probe


def _views(seed=0, n=8, d=4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("make", [losses.VICRegLoss, losses.NTXentLoss, losses.LinearJELoss])
def test_joint_embedding_losses_return_their_terms_with_the_loss(make):
    z1, z2 = _views()
    loss = make()
    terms = loss(z1, z2, return_terms=True)
    assert isinstance(terms, dict) and terms["loss"].item() == pytest.approx(loss(z1, z2).item())


def test_vicreg_and_linear_je_terms_add_up():
    z1, z2 = _views(1)
    t = losses.VICRegLoss(inv_weight=2.0, var_weight=3.0, cov_weight=0.5)(z1, z2, return_terms=True)
    assert t["loss"].item() == pytest.approx((2 * t["invariance"] + 3 * t["variance"] + 0.5 * t["covariance"]).item())
    t = losses.LinearJELoss(whitening_weight=0.3)(z1, z2, return_terms=True)
    assert t["loss"].item() == pytest.approx((t["invariance"] + 0.3 * t["whitening"]).item())


def test_byol_and_reconstruction_losses_return_their_terms():
    p1, p2 = _views(2)
    z1, z2 = _views(3)
    t = losses.BYOLLoss()(p1, p2, z1, z2, return_terms=True)
    assert t["loss"].item() == pytest.approx(((t["p1_z2"] + t["p2_z1"]) / 2).item())
    assert t["p1_z2"].item() == pytest.approx(losses.byol_loss(p1, z2).item())
    assert losses.DenoisingLoss()(p1, z1, return_terms=True)["loss"].item() == pytest.approx(
        ((p1 - z1) ** 2).sum(1).mean().item())
    masked = losses.MaskedReconstructionLoss(0.5)
    mask = torch.zeros_like(z1, dtype=torch.bool)
    mask[:, :2] = True
    assert masked(p1, z1, mask, return_terms=True)["loss"].item() == pytest.approx(
        ((p1 - z1)[:, :2] ** 2).mean().item())


def test_gather_values_are_checked_and_auto_is_the_default():
    assert losses.VICRegLoss().gather == "auto" and losses.NTXentLoss().gather == "auto"
    with pytest.raises(ValueError, match="^gather: expected 'auto', True or False"):
        losses.VICRegLoss(gather="yes")
    z1, z2 = _views(4)
    # one process: every gather value computes the same loss
    values = {g: losses.NTXentLoss(gather=g)(z1, z2).item() for g in ("auto", True, False)}
    assert values["auto"] == values[True] == values[False]


@pytest.mark.parametrize("old, new, args", [
    ("invariance", "invariance_loss", 2), ("variance", "variance_loss", 1), ("covariance", "covariance_loss", 1),
    ("nt_xent", "nt_xent_loss", 2), ("byol_term", "byol_loss", 2),
])
def test_old_term_function_names_warn_and_agree(old, new, args):
    z = _views(5)[:args]
    with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated, use '{new}'.*0.3"):
        fn = getattr(losses, old)
    assert fn(*z).item() == getattr(losses, new)(*z).item()


def test_old_masked_mse_name_warns_and_agrees():
    x_hat, x = _views(6)
    mask = torch.ones_like(x, dtype=torch.bool)
    with pytest.warns(DeprecationWarning, match="'masked_mse' is deprecated, use 'masked_reconstruction_loss'"):
        old = losses.masked_mse(x_hat, x, mask)
    assert old.item() == losses.masked_reconstruction_loss(x_hat, x, mask).item()


def test_old_keywords_warn_and_agree():
    z1, z2 = _views(7)
    with pytest.warns(DeprecationWarning, match="VICRegLoss: 'gather_distributed' is deprecated, use 'gather'"):
        old = losses.VICRegLoss(gather_distributed=True)
    assert old.gather is True and old(z1, z2).item() == losses.VICRegLoss(gather=True)(z1, z2).item()
    with pytest.warns(DeprecationWarning, match="NTXentLoss: 'gather_distributed' is deprecated"):
        assert losses.NTXentLoss(gather_distributed=False).gather is False
    with pytest.warns(DeprecationWarning, match="'gather_distributed' is deprecated"):
        assert losses.nt_xent_loss(z1, z2, gather_distributed=False).item() == losses.nt_xent_loss(z1, z2).item()
    with pytest.warns(DeprecationWarning, match="make_loss: 'gather_distributed' is deprecated"):
        assert make_loss("vicreg", gather_distributed=False).gather is False
    with pytest.warns(DeprecationWarning, match="LinearJELoss: 'lam' is deprecated, use 'whitening_weight'"):
        old = losses.LinearJELoss(lam=5.0)
    assert old(z1, z2).item() == losses.LinearJELoss(whitening_weight=5.0)(z1, z2).item()
    with pytest.raises(TypeError, match="^gather: got both 'gather_distributed'"):
        losses.VICRegLoss(gather_distributed=True, gather=True)


def _split(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=300)
    Z = rng.normal(size=(300, 5)) + np.eye(3, 5)[y] * 1.5
    return Z[:200], y[:200], Z[200:], y[200:]


def test_old_probe_functions_warn_and_agree_with_the_shared_probes():
    Ztr, ytr, Zte, yte = _split()
    with pytest.warns(DeprecationWarning, match="'linear_probe' is deprecated, use 'latentalign.train.linear_probe'"):
        old = ssl.linear_probe(Ztr, ytr, Zte, yte, ridge=1e-3)
    assert old.accuracy == linear_probe(Ztr, ytr, Zte, yte, kind="lstsq", ridge=1e-3)
    assert old.train_loss == lstsq_probe_loss(Ztr, ytr, ridge=1e-3)
    with pytest.warns(DeprecationWarning, match="'linear_probe' is deprecated"):
        old = ssl.linear_probe(Ztr, ytr, Zte, yte, kind="logistic")
    assert old.train_loss is None and old.accuracy == linear_probe(Ztr, ytr, Zte, yte, kind="logistic")
    with pytest.warns(DeprecationWarning, match="'knn_accuracy' is deprecated, use 'latentalign.train.knn_probe'"):
        old = ssl.knn_accuracy(Ztr, ytr, Zte, yte, k=5)
    assert old == knn_probe(Ztr, ytr, Zte, yte, **{**KNN_SETTINGS, "k": 5})
    assert KNN_SETTINGS == {"k": 20, "temperature": 0.1, "metric": "cosine", "weights": "exp"}
