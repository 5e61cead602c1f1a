import logging
import os

import pytest
import torch
from torch import nn

from latentalign.models import MLP
from latentalign.train import (
    ClassifierModule,
    evaluate_classifier,
    fit_classifier,
    make_loader,
    predict_logits,
    seed_everything,
)

torch.set_num_threads(1)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _data(n=96, d=6, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % c
    X = torch.randn(n, d, generator=g) + 3.0 * nn.functional.one_hot(y, d).float()
    return X, y


class DropoutNet(nn.Module):
    """Dropout makes the run depend on the global RNG, so resume must restore it."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3))
        self.logits = nn.Linear(16, 3)

    def forward(self, x):
        return self.logits(self.body(x))


def _model(kind):
    seed_everything(123)
    return MLP(6, (16, 8), 3) if kind == "mlp" else DropoutNet()


def _assert_same_weights(a: nn.Module, b: nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("kind", ["mlp", "dropout"])
def test_resume_equals_uninterrupted(tmp_path, kind):
    X, y = _data()
    kw = dict(lr=1e-2, optimizer="adamw", weight_decay=1e-3, seed=5)

    full = _model(kind)
    fit_classifier(full, make_loader(X, y, batch_size=16, shuffle=True, seed=1), epochs=4, **kw)

    first = _model(kind)
    fit_classifier(first, make_loader(X, y, batch_size=16, shuffle=True, seed=1), epochs=2,
                   ckpt_dir=tmp_path, **kw)
    assert (tmp_path / "last.ckpt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "last.ckpt"]  # no temp files left
    assert (tmp_path / "last.ckpt").stat().st_mode & 0o777 == 0o666 & ~_umask()  # not private 0o600

    resumed = _model(kind)  # fresh process-like start: new model, new loader
    fit_classifier(resumed, make_loader(X, y, batch_size=16, shuffle=True, seed=1), epochs=4,
                   ckpt_dir=tmp_path, **kw)
    _assert_same_weights(full, resumed)
    with pytest.raises(AssertionError):  # and the first run really stopped early
        _assert_same_weights(full, first)


def test_finished_run_returns_checkpoint_weights(tmp_path):
    X, y = _data()
    a = _model("mlp")
    fit_classifier(a, make_loader(X, y, batch_size=32, shuffle=True), epochs=1, ckpt_dir=tmp_path)
    b = _model("mlp")
    fit_classifier(b, make_loader(X, y, batch_size=32, shuffle=True), epochs=1, ckpt_dir=tmp_path)
    _assert_same_weights(a, b)
    c = _model("mlp")  # resume=False trains again from c's own weights, same seed -> same result
    fit_classifier(c, make_loader(X, y, batch_size=32, shuffle=True), epochs=1, ckpt_dir=tmp_path, resume=False)
    _assert_same_weights(a, c)


def test_seed_determinism_and_learning():
    X, y = _data()
    models = []
    for _ in range(2):
        m = _model("mlp")
        fit_classifier(m, make_loader(X, y, batch_size=16, shuffle=True, seed=3), epochs=3, lr=3e-2, seed=7)
        models.append(m)
    _assert_same_weights(*models)
    other = _model("mlp")
    fit_classifier(other, make_loader(X, y, batch_size=16, shuffle=True, seed=4), epochs=3, lr=3e-2, seed=7)
    with pytest.raises(AssertionError):
        _assert_same_weights(models[0], other)
    assert evaluate_classifier(models[0], make_loader(X, y))["acc"] > 0.8


def test_validation_metrics_and_flags_restored():
    X, y = _data()
    det = torch.are_deterministic_algorithms_enabled()
    level = logging.getLogger("lightning.pytorch").level
    m = _model("mlp")
    module = fit_classifier(m, make_loader(X, y, batch_size=32, shuffle=True), val_loader=make_loader(X, y),
                            epochs=2, optimizer="sgd", lr=0.1)
    assert isinstance(module, ClassifierModule) and module.model is m
    metrics = module.trainer.callback_metrics
    assert {"train/loss", "train/acc", "val/loss", "val/acc"} <= set(metrics)
    ev = evaluate_classifier(m, make_loader(X, y))
    assert abs(ev["acc"] - float(metrics["val/acc"])) < 1e-6
    assert abs(ev["loss"] - float(metrics["val/loss"])) < 1e-5
    assert torch.are_deterministic_algorithms_enabled() == det
    assert logging.getLogger("lightning.pytorch").level == level


def test_quiet_by_default(capsys, caplog):
    X, y = _data(n=32)
    with caplog.at_level(logging.INFO):
        fit_classifier(_model("mlp"), make_loader(X, y, batch_size=32), epochs=1)
    out = capsys.readouterr()
    assert "GPU available" not in out.out + out.err + caplog.text
    assert "Trainer.fit" not in out.out + out.err + caplog.text


def test_predict_logits_orders_by_id():
    X, y = _data(n=40)
    m = _model("mlp")
    m.train()
    out = predict_logits(m, make_loader(X, y, batch_size=7, shuffle=True))
    with torch.no_grad():
        ref = m.eval()(X)
    assert torch.allclose(out, ref, atol=1e-6)
    m.train()
    predict_logits(m, make_loader(X, y))
    assert m.training
    plain = predict_logits(m, [(X[:10], y[:10]), (X[10:], y[10:])])  # no ids: loader order
    assert torch.allclose(plain, ref, atol=1e-6)


def test_bad_arguments():
    X, y = _data(n=16)
    loader = make_loader(X, y)
    with pytest.raises(ValueError, match="^epochs"):
        fit_classifier(_model("mlp"), loader, epochs=0)
    with pytest.raises(ValueError, match="^optimizer"):
        ClassifierModule(_model("mlp"), optimizer="rmsprop")
    with pytest.raises(ValueError, match="^lr"):
        ClassifierModule(_model("mlp"), lr=-1.0)
    with pytest.raises(ValueError, match="^weight_decay"):
        ClassifierModule(_model("mlp"), weight_decay=-1.0)
    with pytest.raises(TypeError, match="^model"):
        fit_classifier("mlp", loader, epochs=1)
    with pytest.raises(ValueError, match="^seed"):
        fit_classifier(_model("mlp"), loader, epochs=1, seed=-1)
