"""The Lightning ContrastiveModule: training, clamping, validation recall, alternatives, pair data."""

import math

import numpy as np
import pytest
import torch

from latentalign.contrastive import ClipLoss, JointLoss, SigLipLoss
from latentalign.contrastive.module import ContrastiveModule, PairDataset, pair_loader
from latentalign.contrastive.pairs import load_pair
from latentalign.contrastive.retrieval import recall_at_k
from latentalign.models import MLP
from latentalign.train import fit_classifier


def toy_pairs(n=192, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, 6, generator=g)
    v = torch.tanh(u @ torch.randn(6, 4, generator=g)) + 0.05 * torch.randn(n, 4, generator=g)
    return u, v


def test_training_learns_to_retrieve_and_logs_recall_both_ways():
    u, v = toy_pairs()
    module = ContrastiveModule(MLP(6, 32, 8), MLP(4, 32, 8), ClipLoss(), lr=3e-3)
    train = pair_loader(u[:128], v[:128], batch_size=32, shuffle=True, drop_last=True)
    val = pair_loader(u[128:], v[128:], batch_size=64)
    before = recall_at_k(module.scores(*module.embed(val)[:2]))["u_to_v"][1]
    fit_classifier(module, train, val_loader=val, epochs=60, seed=0)
    after = recall_at_k(module.scores(*module.embed(val)[:2]))
    metrics = module.trainer.callback_metrics
    for key in ("val/R@1_u_to_v", "val/R@5_u_to_v", "val/R@1_v_to_u", "val/R@5_v_to_u", "train/loss_epoch"):
        assert key in metrics, key
    assert float(metrics["val/R@1_u_to_v"]) == pytest.approx(after["u_to_v"][1])
    # 64 held-out pairs: chance R@1 is 1/64
    assert after["u_to_v"][1] > 0.3 and after["v_to_u"][1] > 0.3 and after["u_to_v"][1] > before


def test_scale_is_clamped_after_every_step_and_not_decayed():
    u, v = toy_pairs(64)
    loss = JointLoss()
    with torch.no_grad():
        loss.temperature.log_scale.fill_(7.0)  # above log 100
    module = ContrastiveModule(MLP(6, 16, 4), MLP(4, 16, 4), loss, weight_decay=0.5)
    fit_classifier(module, pair_loader(u, v, batch_size=32), epochs=1, seed=0)
    assert float(loss.temperature.log_scale) <= math.log(100) + 1e-6
    groups = module.configure_optimizers().param_groups
    assert groups[0]["weight_decay"] == 0.5 and groups[1]["weight_decay"] == 0.0
    assert groups[1]["params"] == [loss.temperature.log_scale]
    siglip_groups = ContrastiveModule(MLP(6, 4, 4), MLP(4, 4, 4), SigLipLoss()).configure_optimizers().param_groups
    assert len(siglip_groups[1]["params"]) == 2  # the scale and the bias


def test_alternatives_one_per_step_in_training_ensemble_in_evaluation():
    enc_v = torch.nn.Linear(3, 2, bias=False)
    module = ContrastiveModule(torch.nn.Linear(3, 2), enc_v, ClipLoss(tilt="inner"))
    x_v = torch.randn(5, 4, 3)  # 4 alternatives per sample
    module.train()
    torch.manual_seed(0)
    z = module.encode_v(x_v)
    every = enc_v(x_v)  # (5, 4, 2)
    for i in range(5):
        assert any(torch.allclose(z[i], every[i, t]) for t in range(4))
    module.eval()
    torch.testing.assert_close(module.encode_v(x_v), every.mean(1))  # inner tilt: plain mean


def test_embed_orders_rows_by_sample_id():
    u, v = toy_pairs(40)
    module = ContrastiveModule(MLP(6, 8, 3), MLP(4, 8, 3), ClipLoss())
    z_u, _, y = module.embed(pair_loader(u, v, torch.arange(40) % 3, batch_size=16, shuffle=True))
    module.eval()
    with torch.no_grad():
        torch.testing.assert_close(z_u, module.encoder_u(u))
    assert y.tolist() == (torch.arange(40) % 3).tolist()


def test_pair_data_sets():
    data = load_pair("mfeat:pix,fou")
    assert data.u_train.shape == (1600, 240) and data.v_test.shape == (400, 76)
    np.testing.assert_allclose(data.u_train.mean(0), 0, atol=1e-4)  # z-scored on train
    assert len(np.intersect1d(data.y_train, data.y_test)) == 10
    digits = load_pair("digits:captions")
    assert digits.u_train.shape == (1437, 64) and digits.u_test.shape == (360, 64)
    assert digits.v_train.shape == (1437, 6, 384) and digits.v_test.shape == (360, 2, 384)
    assert digits.class_prompts.shape == (10, 2, 384)
    # a test pair's caption alternatives are the held-out prompts of its class
    np.testing.assert_array_equal(digits.v_test[0], digits.class_prompts[digits.y_test[0]])
    g43 = load_pair("gaussian:g43")
    assert g43.dims == (4, 3) and g43.u_train.shape[0] == 10000


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="^pair: unknown pair"):
        load_pair("cifar:images")
    with pytest.raises(ValueError, match="^pair: expected mfeat"):
        load_pair("mfeat:pix,xyz")
    with pytest.raises(ValueError, match="^x_v: expected the same number of samples"):
        PairDataset(torch.ones(4, 2), torch.ones(3, 2))
    with pytest.raises(ValueError, match="^x_u: contains non-finite"):
        PairDataset(torch.tensor([[float("nan")], [1.0]]), torch.ones(2, 2))
    with pytest.raises(TypeError, match="^loss:"):
        ContrastiveModule(MLP(2, 2, 2), MLP(2, 2, 2), torch.nn.MSELoss())
    with pytest.raises(TypeError, match="^encoder_v:"):
        ContrastiveModule(MLP(2, 2, 2), "mlp", ClipLoss())
