"""The study's data split and its accuracy helper."""

import numpy as np
import pytest
import torch

from latentalign.lcc.finetune import load_split, make_model


def test_split_accuracy_is_the_argmax_hit_rate_and_keeps_training_mode():
    split = load_split("digits", 0)
    model = make_model("mlp", split)
    model.train()
    with torch.no_grad():
        model.eval()
        expect = (model(torch.from_numpy(split.X_val)).argmax(1).numpy() == split.y_val).mean()
        model.train()
    assert split.accuracy(model, "val") == pytest.approx(float(expect), abs=1e-7)
    assert model.training
    with pytest.raises(ValueError, match="^part: expected one of"):
        split.accuracy(model, "tests")


def test_digits_split_is_stratified_disjoint_and_seeded():
    a, b = load_split("digits", 0), load_split("digits", 1)
    sizes = [len(a.y_train), len(a.y_val), len(a.y_test)]
    assert sum(sizes) == 1797 and sizes[0] == pytest.approx(0.4 * 1797, abs=2)
    rows = {tuple(r) for r in np.concatenate([a.X_train, a.X_val, a.X_test])}
    assert len(rows) >= 1797 - 5  # disjoint up to the few duplicated digits in the dataset
    assert not np.array_equal(a.X_train, b.X_train)
    assert np.bincount(a.y_train).min() >= 65  # about 72 per class
