r"""Batched augmentations in plain torch (no torchvision), each driven by a ``torch.Generator``.

Every augmentation is an ``nn.Module`` called as ``aug(x, generator)`` on a batch
``(B, C, H, W)`` or a flat batch ``(B, D)``; image operations on flat input need
``image_shape`` (``(H, W)`` or ``(C, H, W)``) and return the input's shape. The
same generator state gives bitwise-equal output; ``generator=None`` draws from
torch's global RNG.

* :class:`RandomShift` ``(max_shift=1)``: zero padding, then a per-sample integer crop
  (a shift of ``-max_shift..max_shift`` pixels in each direction).
* :class:`GaussianNoise` ``(std=0.1)``: ``x + std·ε``.
* :class:`StructuredNoise` ``(basis (D, m), scale, alpha)``: ``x + α·scale·basis·ξ``,
  ``ξ ~ N(0, I_m)`` fresh per call, the paper's noise injection (covariance
  ``α²·scale²·basis·basisᵀ``).
* :class:`RandomMask` ``(ratio)``: :func:`random_mask`, hidden units set to 0.
* :class:`RandomFlip` ``(p=0)``: horizontal flip with probability ``p`` per sample.
* :class:`Compose`, :class:`TwoViews`.

Examples
--------
>>> import torch
>>> aug = Compose([RandomShift(1, image_shape=(8, 8)), GaussianNoise(0.1)])
>>> x = torch.rand(4, 64)
>>> v1, v2 = TwoViews(aug)(x, torch.Generator().manual_seed(0))
>>> v1.shape, bool((v1 == v2).all())
(torch.Size([4, 64]), False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validate import as_matrix, check_int, check_ints, check_nonnegative
from ..train.augment import random_shift

__all__ = [
    "Augmentation",
    "RandomShift",
    "GaussianNoise",
    "StructuredNoise",
    "RandomMask",
    "RandomFlip",
    "Compose",
    "TwoViews",
    "random_mask",
]


def _check_batch(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor batch, got {type(x).__name__}")
    if x.ndim not in (2, 4):
        raise ValueError(f"x: expected a batch (B, D) or (B, C, H, W), got shape {tuple(x.shape)}")
    return x


def random_mask(x: torch.Tensor, ratio: float, *, patch: int | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide exactly ``round(ratio·P)`` of the ``P`` units of every sample; return ``(masked x, mask)``.

    Units: for ``(B, D)`` the entries (or contiguous chunks of ``patch`` entries); for
    ``(B, C, H, W)`` the pixels across channels (or ``patch × patch`` patches). Hidden
    units are set to 0; ``mask`` is a bool tensor shaped like ``x``, True where hidden.

    >>> xm, m = random_mask(torch.ones(3, 10), 0.3, generator=torch.Generator().manual_seed(0))
    >>> m.sum(dim=1).tolist(), float(xm[m].abs().sum())
    ([3, 3, 3], 0.0)
    """
    x = _check_batch(x)
    if isinstance(ratio, bool) or not 0.0 <= float(ratio) <= 1.0:
        raise ValueError(f"ratio: must be in [0, 1], got {ratio!r}")
    p = 1 if patch is None else check_int(patch, "patch")
    if x.ndim == 2:
        if x.shape[1] % p:
            raise ValueError(f"patch: {p} does not divide the {x.shape[1]} features")
        grid = (x.shape[1] // p,)
    else:
        if x.shape[2] % p or x.shape[3] % p:
            raise ValueError(f"patch: {p} does not divide the image size {tuple(x.shape[2:])}")
        grid = (x.shape[2] // p, x.shape[3] // p)
    B, P = x.shape[0], math.prod(grid)
    n_hide = int(round(float(ratio) * P))
    scores = torch.rand(B, P, generator=generator, device="cpu").to(x.device)
    hidden = torch.zeros(B, P, dtype=torch.bool, device=x.device)
    hidden.scatter_(1, scores.argsort(dim=1)[:, :n_hide], True)
    if x.ndim == 2:
        mask = hidden.repeat_interleave(p, dim=1)
    else:
        mask = hidden.reshape(B, 1, *grid).repeat_interleave(p, dim=2).repeat_interleave(p, dim=3).expand_as(x)
    return x.masked_fill(mask, 0.0), mask.contiguous()


class Augmentation(nn.Module):
    """Base: ``forward(x, generator=None)``; image ops reshape flat input with ``image_shape``."""

    def __init__(self, image_shape: Sequence[int] | None = None):
        super().__init__()
        if image_shape is not None:
            image_shape = check_ints(image_shape, "image_shape")
            if len(image_shape) == 2:
                image_shape = (1, *image_shape)
            if len(image_shape) != 3:
                raise ValueError(f"image_shape: expected (H, W) or (C, H, W), got {image_shape}")
        self.image_shape = image_shape

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_batch(x)
        if x.ndim == 4:
            return x
        if self.image_shape is None:
            raise ValueError(f"image_shape: {type(self).__name__} on flat (B, D) input needs image_shape")
        if math.prod(self.image_shape) != x.shape[1]:
            raise ValueError(f"image_shape: {self.image_shape} does not match {x.shape[1]} features")
        return x.reshape(x.shape[0], *self.image_shape)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (B, D) or (B, C, H, W)
            The batch (flat rows need ``image_shape`` for the image augmentations).
        generator : torch.Generator, optional
            The source of randomness (the global one when ``None``).

        Returns
        -------
        torch.Tensor
            The augmented batch, of the shape of ``x``.
        """
        raise NotImplementedError


def _randn(shape, generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=like.dtype, device="cpu").to(like.device)


class RandomShift(Augmentation):
    """Zero-pad by ``max_shift`` and crop back at a per-sample random integer offset."""

    def __init__(self, max_shift: int = 1, image_shape: Sequence[int] | None = None):
        super().__init__(image_shape)
        self.max_shift = check_int(max_shift, "max_shift", minimum=0)

    def forward(self, x, generator=None):
        """Apply the augmentation to a batch ``x`` (see :meth:`Augmentation.forward`)."""
        return random_shift(self._images(x), self.max_shift, generator).reshape(x.shape)


class GaussianNoise(Augmentation):
    """``x + std·ε``, ``ε ~ N(0, I)``."""

    def __init__(self, std: float = 0.1):
        super().__init__()
        self.std = check_nonnegative(std, "std")

    def forward(self, x, generator=None):
        """Apply the augmentation to a batch ``x`` (see :meth:`Augmentation.forward`)."""
        x = _check_batch(x)
        return x + self.std * _randn(x.shape, generator, x)


class StructuredNoise(Augmentation):
    """``x + α·scale·ξ basisᵀ`` with ``ξ ~ N(0, I_m)`` per sample and call (flat features ``D``)."""

    def __init__(self, basis, scale: float = 1.0, alpha: float = 1.0):
        super().__init__()
        self.register_buffer("basis", as_matrix(basis, "basis", dtype=torch.float32).detach().clone())
        self.scale = check_nonnegative(scale, "scale")
        self.alpha = check_nonnegative(alpha, "alpha")

    def forward(self, x, generator=None):
        """Apply the augmentation to a batch ``x`` (see :meth:`Augmentation.forward`)."""
        x = _check_batch(x)
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.basis.shape[0]:
            raise ValueError(f"x: expected {self.basis.shape[0]} features (the rows of basis), got {flat.shape[1]}")
        xi = _randn((x.shape[0], self.basis.shape[1]), generator, flat)
        return (flat + (self.alpha * self.scale) * xi @ self.basis.to(flat.dtype).T).reshape(x.shape)


class RandomMask(Augmentation):
    """:func:`random_mask` with ``ratio`` (and ``patch``) as an augmentation."""

    def __init__(self, ratio: float = 0.5, patch: int | None = None):
        super().__init__()
        random_mask(torch.zeros(1, 1), ratio)  # validates ratio
        self.ratio, self.patch = float(ratio), patch

    def forward(self, x, generator=None):
        """Apply the augmentation to a batch ``x`` (see :meth:`Augmentation.forward`)."""
        return random_mask(x, self.ratio, patch=self.patch, generator=generator)[0]


class RandomFlip(Augmentation):
    """Horizontal flip of each image with probability ``p`` (default 0: digits are not symmetric)."""

    def __init__(self, p: float = 0.0, image_shape: Sequence[int] | None = None):
        super().__init__(image_shape)
        if isinstance(p, bool) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p: must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x, generator=None):
        """Apply the augmentation to a batch ``x`` (see :meth:`Augmentation.forward`)."""
        img = self._images(x)
        flip = (torch.rand(img.shape[0], generator=generator) < self.p).to(x.device)
        return torch.where(flip[:, None, None, None], img.flip(-1), img).reshape(x.shape)


class Compose(Augmentation):
    """Apply ``augmentations`` in order, all from the same generator."""

    def __init__(self, augmentations: Sequence[Augmentation]):
        super().__init__()
        self.augmentations = nn.ModuleList(augmentations)

    def forward(self, x, generator=None):
        """Apply the augmentation to a batch ``x`` (see :meth:`Augmentation.forward`)."""
        for aug in self.augmentations:
            x = aug(x, generator)
        return x


class TwoViews(nn.Module):
    """``(aug(x), aug(x))``: two independent views from consecutive draws of one generator."""

    def __init__(self, augmentation: nn.Module):
        super().__init__()
        self.augmentation = augmentation

    def forward(self, x, generator=None):
        """Two independent views of a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (B, D) or (B, C, H, W)
            The batch.
        generator : torch.Generator, optional
            Drawn from twice, one view after the other.

        Returns
        -------
        tuple of torch.Tensor
            ``(view1, view2)``, each of the shape of ``x``.
        """
        return self.augmentation(x, generator), self.augmentation(x, generator)
