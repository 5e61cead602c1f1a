"""ClusterCorrection (plain loop) and LCCCallback: schedule, same losses from both (check 10),
determinism (check 9), the mechanism (check 12) and bad inputs (check 13)."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback

from latentalign.data import digits
from latentalign.lcc import ClusterCorrection, LCCCallback, lcc_loss
from latentalign.models import MLP
from latentalign.train import ClassifierModule, fit_classifier, make_loader


def _data(n=300):
    ds = digits()
    return torch.from_numpy(ds.X[:n]), torch.from_numpy(ds.y[:n])


def _model(seed=0):
    torch.manual_seed(seed)
    return MLP(64, (32, 16), 10)


def _plain_fit(model, corr, X, y, epochs, *, lr=1e-3, cluster_batch=256):
    """The loop of spec section 4: update at epoch start, CE + corr.loss per batch (Adam, like ClassifierModule)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = make_loader(X, y, batch_size=64, shuffle=True, seed=0)
    cluster_loader = make_loader(X, y, batch_size=cluster_batch)
    losses = []
    for epoch in range(epochs):
        corr.update(model, cluster_loader, epoch)
        loader.sampler.set_epoch(epoch)
        losses += _epoch(model, corr, opt, loader)
    return losses


def _epoch(model, corr, opt, loader):
    """One epoch of CE + corr.loss; the unweighted LCC loss of each batch while corr is active."""
    model.train()
    losses = []
    for x, yb, idx in loader:
        with corr.capture(model) as lat:
            logits = model(x)
        loss = F.cross_entropy(logits, yb) + corr.loss(lat, yb, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if corr.active:
            losses.append(corr.stats["loss"])
    return losses


class _Losses(Callback):
    def __init__(self, corr):
        self.corr, self.values = corr, []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.corr.active:
            self.values.append(self.corr.stats["loss"])


def _callback_fit(model, corr, X, y, epochs):
    record = _Losses(corr)
    module = ClassifierModule(model, lr=1e-3)
    fit_classifier(module, make_loader(X, y, batch_size=64, shuffle=True, seed=0), epochs=epochs, seed=0,
                   callbacks=[LCCCallback(corr, cluster_loader=make_loader(X, y, batch_size=256)), record])
    return record.values


def test_schedule_warmup_interval_and_persist():
    corr = ClusterCorrection("penultimate", 10, warmup=2, interval=3)
    assert [corr.scheduled(e) for e in range(9)] == [False, False, True, False, False, True, False, False, True]
    X, y = _data(120)
    model = _model()
    loader = make_loader(X, y, batch_size=60)
    corr = ClusterCorrection("penultimate", 10, k=5, warmup=1)
    assert corr.update(model, loader) is False and not corr.active  # epoch 0: warm-up
    assert corr.update(model, loader) is True and corr.active  # epoch 1
    assert corr.history[-1]["epoch"] == 1 and "penultimate" in corr.history[-1]["layers"]
    sticky = ClusterCorrection("penultimate", 10, k=5, warmup=0, interval=2, persist=True)
    sticky.update(model, loader, 0)
    sticky.update(model, loader, 1)
    assert sticky.active  # persist keeps the state through an unscheduled epoch
    dropping = ClusterCorrection("penultimate", 10, k=5, warmup=0, interval=2)
    dropping.update(model, loader, 0)
    dropping.update(model, loader, 1)
    assert not dropping.active


def test_loss_before_any_clustering_is_a_connected_zero():
    model = _model()
    corr = ClusterCorrection("penultimate", 10)
    with corr.capture(model) as lat:
        model(torch.zeros(4, 64))
    value = corr.loss(lat, torch.zeros(4, dtype=torch.long), None)
    value.backward()
    assert value.item() == 0.0 and model.penultimate.linear.weight.grad is not None


def test_plain_loop_loss_equals_the_state_formula():
    X, y = _data(200)
    model = _model()
    corr = ClusterCorrection(["hidden1", "penultimate"], 10, weight=0.5, k=5, warmup=0)
    corr.update(model, make_loader(X, y, batch_size=100), 0)
    idx = torch.arange(0, 200, 3)
    with corr.capture(model) as lat:
        model(X[idx])
    value = corr.loss(lat, y[idx], idx)
    expect = []
    for name in ("hidden1", "penultimate"):
        s = corr.state[name]
        mc = s.mc[idx]  # the state's masks are the batch's MC test
        expect.append(lcc_loss(lat[name], y[idx], mc, s.class_banks(), 5))
    assert value.item() == pytest.approx(0.5 * (expect[0].item() + expect[1].item()) / 2, rel=1e-6)
    assert corr.stats["n_mc"] == int(sum(corr.state[n].mc[idx].sum() - corr.state[n].targetless[idx].sum()
                                         for n in ("hidden1", "penultimate")))


def test_callback_and_plain_loop_give_the_same_losses():
    X, y = _data()
    ref = _model()
    plain_model, cb_model = copy.deepcopy(ref), copy.deepcopy(ref)
    plain = _plain_fit(plain_model, ClusterCorrection(["penultimate"], 10, weight=1.0, k=10), X, y, 3)
    via_cb = _callback_fit(cb_model, ClusterCorrection(["model.penultimate"], 10, weight=1.0, k=10), X, y, 3)
    assert len(plain) == len(via_cb) == 2 * 5  # epochs 1 and 2, 5 batches each
    assert max(plain) > 0
    assert np.allclose(plain, via_cb, atol=1e-6, rtol=0)
    for p, q in zip(plain_model.parameters(), cb_model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_two_runs_give_bitwise_equal_weights():
    X, y = _data()
    models = [_model() for _ in range(2)]
    for model in models:
        _callback_fit(model, ClusterCorrection(["model.penultimate"], 10, weight=1.0, k=10), X, y, 3)
    for p, q in zip(*(m.parameters() for m in models)):
        assert torch.equal(p, q)


def test_callback_unwraps_training_step_and_warns_without_cluster_loader():
    X, y = _data(128)
    module = ClassifierModule(_model())
    corr = ClusterCorrection(["model.penultimate"], 10, k=5, warmup=0)
    with pytest.warns(UserWarning, match="augmentation"):
        fit_classifier(module, make_loader(X, y, batch_size=64, shuffle=True), epochs=1,
                       callbacks=[LCCCallback(corr)])
    assert "training_step" not in vars(module)
    assert corr.history and not corr.active  # clustered at epoch 0, dropped at its end


def test_one_epoch_of_lcc_moves_mc_latents_toward_their_targets():
    ds = digits()
    X, y = torch.from_numpy(ds.X[:718]), torch.from_numpy(ds.y[:718])
    model = _model()
    _plain_fit(model, ClusterCorrection("penultimate", 10, warmup=10**6), X, y, 8, lr=3e-3)  # CE only
    corr = ClusterCorrection("penultimate", 10, weight=1.0, k=10, warmup=0, persist=True)
    corr.update(model, make_loader(X, y, batch_size=256), 0)
    state = corr.state["penultimate"]
    S = state.mc & ~state.targetless
    assert S.sum() >= 10

    def mc_distance(weight):
        m = copy.deepcopy(model)
        arm = ClusterCorrection("penultimate", 10, weight=weight, k=10, warmup=0, persist=True)
        arm.state, arm.targets = corr.state, corr.targets  # the same fixed state
        loader = make_loader(X, y, batch_size=64, shuffle=True, seed=1)
        _epoch(m, arm, torch.optim.Adam(m.parameters(), lr=3e-3), loader)
        m.eval()
        with arm.capture(m) as lat, torch.no_grad():
            m(X)
        everyone = torch.ones(int(S.sum()), dtype=torch.bool)
        return lcc_loss(lat["penultimate"][S], y[S], everyone, corr.targets["penultimate"], 10).item()

    ce, lcc = mc_distance(0.0), mc_distance(1.0)
    assert lcc < ce


def test_bad_inputs():
    X, y = _data(60)
    model = _model()
    loader = make_loader(X, y, batch_size=30)
    with pytest.raises(ValueError, match=r"^layers: unknown layer 'body.2'; valid names: \['input'"):
        ClusterCorrection("body.2", 10, warmup=0).update(model, loader, 0)
    with pytest.raises(ValueError, match="^k: must be < n_samples=60"):
        ClusterCorrection("penultimate", 10, k=60, warmup=0).update(model, loader, 0)
    with pytest.raises(ValueError, match="^labels: labels must be < n_classes=5"):
        ClusterCorrection("penultimate", 5, warmup=0).update(model, loader, 0)
    corr = ClusterCorrection("penultimate", 10, k=5, warmup=0)
    corr.update(model, loader, 0)
    with corr.capture(model) as lat:
        model(X[:4])
    with pytest.raises(ValueError, match="^idx: the batch carries no sample ids.*SampleIdDataset"):
        corr.loss(lat, y[:4], None)
    with pytest.raises(ValueError, match=r"^idx: sample ids must lie in \[0, 60\)"):
        corr.loss(lat, y[:4], torch.tensor([0, 1, 2, 60]))
    with pytest.raises(ValueError, match="^labels: labels must be < n_classes=10"):
        corr.loss(lat, torch.tensor([0, 1, 2, 10]), torch.arange(4))
    with pytest.raises(ValueError, match="^latents: expected 16 features"):
        corr.loss({"penultimate": torch.zeros(4, 3)}, y[:4], torch.arange(4))
    with pytest.raises(ValueError, match="^latents: no output captured"):
        corr.loss({}, y[:4], torch.arange(4))
    with pytest.raises(ValueError, match="^weight"):
        ClusterCorrection("penultimate", 10, weight=-1.0)
    with pytest.raises(ValueError, match="^warmup"):
        ClusterCorrection("penultimate", 10, warmup=-1)
    with pytest.raises(ValueError, match="^interval"):
        ClusterCorrection("penultimate", 10, interval=0)
    with pytest.raises(ValueError, match="^resolution"):
        ClusterCorrection("penultimate", 10, resolution=0.0)
    with pytest.raises(ValueError, match="^pca_dim"):
        ClusterCorrection("penultimate", 10, pca_dim=0)
    with pytest.raises(ValueError, match="^loss"):
        ClusterCorrection("penultimate", 10, loss="soft")
    broken = _model()
    with torch.no_grad():
        broken.hidden1.linear.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="^latents: contains .* non-finite value"):
        ClusterCorrection("penultimate", 10, warmup=0).update(broken, loader, 0)
