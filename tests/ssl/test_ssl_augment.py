"""Plain-torch augmentations (spec ssl.md §5, check 13)."""

import pytest
import torch

from latentalign.ssl.augment import (
    Compose,
    GaussianNoise,
    RandomFlip,
    RandomMask,
    RandomShift,
    StructuredNoise,
    TwoViews,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _pipeline():
    basis = torch.linalg.qr(torch.randn(64, 4, generator=_gen(9)))[0]
    return Compose([RandomShift(1, image_shape=(8, 8)), RandomFlip(0.5, image_shape=(8, 8)), GaussianNoise(0.1),
                    StructuredNoise(basis, scale=2.0), RandomMask(0.25)])


def test_same_seed_gives_bitwise_equal_views():
    x = torch.rand(16, 64, generator=_gen(1))
    a1, a2 = TwoViews(_pipeline())(x, _gen(3))
    b1, b2 = TwoViews(_pipeline())(x, _gen(3))
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, a2)
    assert not torch.equal(TwoViews(_pipeline())(x, _gen(4))[0], a1)


def test_shift_by_zero_is_the_identity_and_shifts_move_pixels():
    x = torch.rand(5, 1, 6, 6, generator=_gen(2))
    assert torch.equal(RandomShift(0)(x, _gen(0)), x)
    out = RandomShift(1)(x, _gen(0))
    for b in range(5):
        # each output equals x moved by one (dy, dx) in {-1, 0, 1}², zeros where it came from the padding
        padded = torch.nn.functional.pad(x[b, 0], (1, 1, 1, 1))
        matches = [(dy, dx) for dy in range(3) for dx in range(3)
                   if torch.equal(out[b, 0], padded[dy:dy + 6, dx:dx + 6])]
        assert len(matches) == 1
    flat = RandomShift(1, image_shape=(6, 6))(x.reshape(5, 36), _gen(0))
    assert torch.equal(flat, out.reshape(5, 36))  # flat input: same draws, same result


def test_structured_noise_covariance():
    basis = torch.linalg.qr(torch.randn(10, 3, generator=_gen(5)))[0] * torch.tensor([1.0, 2.0, 0.5])
    aug = StructuredNoise(basis, scale=1.5, alpha=0.8)
    noise = aug(torch.zeros(20_000, 10), _gen(6)).double()
    emp = noise.T @ noise / noise.shape[0]
    expected = (0.8 * 1.5) ** 2 * (basis @ basis.T).double()
    assert torch.linalg.norm(emp - expected) / torch.linalg.norm(expected) < 0.05


def test_gaussian_noise_and_flip():
    x = torch.zeros(10_000, 4)
    assert GaussianNoise(0.3)(x, _gen(7)).std().item() == pytest.approx(0.3, rel=0.02)
    img = torch.arange(8.0).reshape(1, 1, 2, 4).repeat(3, 1, 1, 1)
    assert torch.equal(RandomFlip(1.0)(img, _gen(0)), img.flip(-1))
    assert torch.equal(RandomFlip(0.0)(img, _gen(0)), img)


def test_augmentations_reject_bad_input():
    with pytest.raises(ValueError, match="^image_shape: RandomShift on flat"):
        RandomShift(1)(torch.zeros(2, 64), _gen())
    with pytest.raises(ValueError, match="^image_shape: \\(1, 8, 8\\) does not match 10"):
        RandomShift(1, image_shape=(8, 8))(torch.zeros(2, 10), _gen())
    with pytest.raises(ValueError, match="^x: expected 10 features"):
        StructuredNoise(torch.zeros(10, 2))(torch.zeros(2, 9), _gen())
    with pytest.raises(ValueError, match="^ratio"):
        RandomMask(1.5)
    with pytest.raises(TypeError, match="^x: expected a torch.Tensor"):
        GaussianNoise()([1.0, 2.0])
