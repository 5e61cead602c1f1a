"""random_shift: every sample is its input moved by one integer offset per axis, zeros filled in."""

import pytest
import torch

from latentalign.train.augment import random_shift


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(7, 2, 9), (7, 1, 5, 6)])  # signals (B, C, L) and images (B, C, H, W)
def test_each_sample_is_one_shift_of_itself(shape):
    x = torch.rand(shape, generator=_gen(1)) + 1.0  # no zeros: padding is recognisable
    out = random_shift(x, 2, _gen(0))
    spatial = shape[2:]
    padded = torch.nn.functional.pad(x, [2] * (2 * len(spatial)))
    offsets = [(a,) for a in range(5)] if len(spatial) == 1 else [(a, b) for a in range(5) for b in range(5)]
    seen = set()
    for i in range(shape[0]):
        hits = [o for o in offsets
                if torch.equal(out[i], padded[(i, slice(None), *(slice(a, a + s) for a, s in zip(o, spatial)))])]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 1  # offsets differ between samples
    assert torch.equal(random_shift(x, 2, _gen(0)), out)  # same generator state, same batch


def test_zero_shift_and_bad_input():
    x = torch.rand(3, 1, 4)
    assert torch.equal(random_shift(x, 0, _gen()), x)
    with pytest.raises(ValueError, match="^x: expected a batch"):
        random_shift(torch.rand(3, 4), 1, _gen())
    with pytest.raises(ValueError, match="^max_shift: must be >= 0"):
        random_shift(x, -1, _gen())


@pytest.mark.parametrize("shape, m", [((64, 1, 8, 8), 1), ((64, 1, 40), 3), ((5, 3, 4, 6, 3), 2)])
def test_sample_i_takes_the_window_at_the_generators_ith_offset(shape, m):
    """The offsets are ``randint(0, 2m + 1, (B, d))`` from ``generator``, row i for sample i: the batches
    (and so the studies' numbers) depend only on the generator state, not on how the crop is computed."""
    x = torch.rand(shape, generator=_gen(1)) + 1.0
    out = random_shift(x, m, _gen(3))
    offsets = torch.randint(0, 2 * m + 1, (shape[0], len(shape) - 2), generator=_gen(3))
    padded = torch.nn.functional.pad(x, [m] * (2 * (len(shape) - 2)))
    for i in range(shape[0]):
        window = tuple(slice(int(o), int(o) + s) for o, s in zip(offsets[i], shape[2:]))
        assert torch.equal(out[i], padded[(i, slice(None), *window)])
