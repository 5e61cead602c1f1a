import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from latentalign.train import EpochSampler, IndexedDataset, make_loader, seed_everything, torch_generator

torch.set_num_threads(1)


def _order(loader):
    return torch.cat([idx for _, _, idx in loader]).tolist()


def test_indexed_dataset_items():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    ds = IndexedDataset(X, [0, 1, 1, 0])
    x, y, i = ds[2]
    assert x.dtype == torch.float32 and x.tolist() == [6.0, 7.0, 8.0]
    assert y.dtype == torch.int64 and int(y) == 1 and int(i) == 2 and len(ds) == 4
    _, y, _ = IndexedDataset(X)[0]
    assert int(y) == -1
    assert IndexedDataset(np.zeros((5, 1, 8, 8)))[4][0].shape == (1, 8, 8)


def test_indexed_dataset_errors():
    with pytest.raises(ValueError, match="^y"):
        IndexedDataset(np.zeros((4, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="^X"):
        IndexedDataset(np.array([1.0, np.nan]).reshape(2, 1))
    with pytest.raises(ValueError, match="^X"):
        IndexedDataset(np.zeros(3))
    with pytest.raises(TypeError, match="^X"):
        IndexedDataset("data")
    with pytest.raises(ValueError, match="^y"):
        IndexedDataset(np.zeros((2, 2)), [0, -3])


def test_make_loader_order_and_reproducibility():
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    assert _order(make_loader(X, y, batch_size=6)) == list(range(20))
    a, b = make_loader(X, y, batch_size=6, shuffle=True, seed=1), make_loader(X, y, batch_size=6, shuffle=True, seed=1)
    ea = [_order(a) for _ in range(3)]
    eb = [_order(b) for _ in range(3)]
    assert ea == eb  # same seed, same sequence of epochs
    assert ea[0] != ea[1] and sorted(ea[0]) == list(range(20))  # a new permutation every epoch
    assert _order(make_loader(X, y, shuffle=True, seed=2)) != ea[0]
    # set_epoch (what Lightning calls) picks the permutation, whatever happened before
    c = make_loader(X, y, batch_size=6, shuffle=True, seed=1)
    c.sampler.set_epoch(2)
    assert _order(c) == ea[2]
    c.sampler.set_epoch(0)
    assert _order(c) == ea[0]


@pytest.mark.parametrize("workers", [0, 1])
def test_a_plain_dataloader_over_the_loaders_dataset_gets_the_same_batches(workers):
    X, y = np.random.default_rng(3).normal(size=(10, 3)).astype(np.float32), np.arange(10) % 3
    ours = list(make_loader(X, y, batch_size=4, num_workers=workers))
    plain = list(DataLoader(make_loader(X, y).dataset, batch_size=4, num_workers=workers))  # default collate
    assert len(ours) == len(plain) == 3
    for a, b in zip(ours, plain):
        assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert [tuple(t.shape) for t in plain[0]] == [(4, 3), (4,), (4,)]


def test_loader_does_not_touch_global_rng():
    X = np.zeros((10, 2))
    torch.manual_seed(0)
    ref = torch.rand(3)
    torch.manual_seed(0)
    for _ in make_loader(X, shuffle=True):
        pass
    assert torch.equal(torch.rand(3), ref)


def test_epoch_sampler_and_loader_errors():
    s = EpochSampler(5, shuffle=False)
    assert list(s) == list(range(5)) and len(s) == 5
    with pytest.raises(ValueError, match="^n"):
        EpochSampler(0)
    with pytest.raises(ValueError, match="^batch_size"):
        make_loader(np.zeros((4, 2)), batch_size=0)
    with pytest.raises(ValueError, match="^seed"):
        make_loader(np.zeros((4, 2)), seed=-1)
    with pytest.raises(ValueError, match="^num_workers"):
        make_loader(np.zeros((4, 2)), num_workers=-1)


def test_seed_everything_and_generator():
    assert seed_everything(11) == 11
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(11)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    g1, g2 = torch_generator(4), torch_generator(4)
    assert torch.equal(torch.rand(5, generator=g1), torch.rand(5, generator=g2))
    with pytest.raises(TypeError, match="^seed"):
        seed_everything(1.5)
    with pytest.raises(ValueError, match="^seed"):
        torch_generator(2**32)


def test_rng_state_roundtrip_weights_only(tmp_path):
    from latentalign.train.seed import rng_state, set_rng_state

    seed_everything(3)
    random.random(), np.random.normal(), torch.rand(1)  # numpy now holds a cached gauss
    torch.save({"rng": rng_state()}, tmp_path / "s.pt")
    ref = (random.random(), np.random.normal(), np.random.rand(), torch.rand(2).tolist())
    seed_everything(99)
    set_rng_state(torch.load(tmp_path / "s.pt", weights_only=True)["rng"])
    assert (random.random(), np.random.normal(), np.random.rand(), torch.rand(2).tolist()) == ref
