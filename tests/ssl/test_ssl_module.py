"""Lightning SSL training (spec ssl.md §6, check 15): every method trains, the probe is detached."""

import numpy as np
import pytest
import torch

from latentalign.models import MLP
from latentalign.ssl.augment import GaussianNoise
from latentalign.ssl.evaluate import KNN_SETTINGS, embed
from latentalign.ssl.losses import DenoisingLoss, VICRegLoss
from latentalign.ssl.module import METHODS, SSLModule, build_networks, fit_ssl, split_dataset
from latentalign.train import knn_probe, linear_probe


@pytest.fixture(scope="module")
def digits_split():
    return split_dataset("digits", seed=0)


@pytest.mark.parametrize("method", METHODS)
def test_two_epoch_smoke_run_per_method(digits_split, method):
    d = digits_split
    X, y = d.X_train[:300], d.y_train[:300]
    before = build_networks(method, 64)["encoder"]
    module = fit_ssl(method, X, y, epochs=2, seed=0, image_shape=d.image_shape, batch_size=64)
    Z = embed(module.encoder, d.X_test)
    assert Z.shape == (len(d.X_test), 16) and np.isfinite(Z).all()
    assert module.probe is not None
    # the encoder learned something: its embedding is not the untrained one
    assert not np.allclose(Z, embed(before, d.X_test))
    if method == "byol":  # the EMA target moved towards the online network but is not it
        online = torch.nn.utils.parameters_to_vector(module.online.parameters())
        target = torch.nn.utils.parameters_to_vector(module.target.parameters())
        assert 0 < (online - target).abs().max() and not any(p.requires_grad for p in module.target.parameters())


def test_same_seed_same_weights(digits_split):
    d = digits_split
    runs = [fit_ssl("simclr", d.X_train[:200], d.y_train[:200], epochs=1, seed=3, image_shape=(8, 8), batch_size=64)
            for _ in range(2)]
    a, b = (torch.nn.utils.parameters_to_vector(r.encoder.parameters()) for r in runs)
    assert torch.equal(a, b)


def test_online_probe_sees_detached_features_only():
    torch.manual_seed(0)
    encoder = MLP(8, [16], 4, batch_norm=True)
    module = SSLModule(encoder, VICRegLoss(), GaussianNoise(0.1), head=MLP(4, [8], 8, batch_norm=True), n_classes=3)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    loss, features = module.ssl_loss(x, torch.Generator().manual_seed(0))
    probe_loss = torch.nn.functional.cross_entropy(module.probe(features.detach()), y)
    grads = torch.autograd.grad(probe_loss, list(encoder.parameters()) + list(module.probe.parameters()),
                                allow_unused=True)
    assert all(g is None for g in grads[: len(list(encoder.parameters()))])
    assert all(g is not None for g in grads[len(list(encoder.parameters())):])
    assert not any(p.requires_grad and p.grad is not None for p in module.probe.parameters())
    ssl_grads = torch.autograd.grad(loss, list(module.probe.parameters()), allow_unused=True)
    assert all(g is None for g in ssl_grads)
    opts = module.configure_optimizers()
    assert len(opts) == 2
    assert {id(p) for p in opts[1].param_groups[0]["params"]} == {id(p) for p in module.probe.parameters()}


def test_module_rejects_incomplete_setups():
    with pytest.raises(ValueError, match="^decoder: a DenoisingLoss needs a decoder"):
        SSLModule(MLP(4, [], 2), DenoisingLoss(), GaussianNoise())
    with pytest.raises(ValueError, match="^loss: expected one of"):
        SSLModule(MLP(4, [], 2), torch.nn.MSELoss(), GaussianNoise())
    with pytest.raises(ValueError, match="^method: expected one of"):
        fit_ssl("moco", np.zeros((10, 4)), epochs=1)


def test_trained_embedding_beats_chance_with_knn_and_probe(digits_split):
    d = digits_split
    module = fit_ssl("dae", "digits", epochs=5, seed=0)  # the training split of split_dataset("digits", 0)
    Ztr, Zte = embed(module.encoder, d.X_train), embed(module.encoder, d.X_test)
    assert knn_probe(Ztr, d.y_train, Zte, d.y_test, **KNN_SETTINGS) > 0.6
    assert linear_probe(Ztr, d.y_train, Zte, d.y_test, kind="logistic") > 0.6


@pytest.mark.parametrize("method", ["simclr", "dae"])
def test_resume_equals_uninterrupted(digits_split, tmp_path, method):
    """The augmentation generator is checkpointed: 1 epoch + resume to 3 gives the weights of 3 straight."""
    d = digits_split
    X, y = d.X_train[:192], d.y_train[:192]
    kw = dict(seed=4, image_shape=(8, 8), batch_size=64)
    full = fit_ssl(method, X, y, epochs=3, **kw)
    first = fit_ssl(method, X, y, epochs=1, ckpt_dir=tmp_path, **kw)
    resumed = fit_ssl(method, X, y, epochs=3, ckpt_dir=tmp_path, **kw)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, c) for a, c in zip(full.state_dict().values(), first.state_dict().values()))
