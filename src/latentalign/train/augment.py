r"""Batch augmentation shared by the capabilities: a random integer shift of any spatial rank.

:func:`random_shift` zero-pads every spatial axis of a ``(B, C, *spatial)`` batch by
``max_shift`` and crops it back at a per-sample offset drawn uniformly from
``0 .. 2 max_shift`` per axis, i.e. shifts each sample by ``-max_shift .. max_shift``
pixels (1-d signals, 2-d images, ...), by one ``gather`` per axis. The offsets are drawn on the CPU from
``generator``, so the same generator state gives the same batch on every device.

>>> import torch
>>> x = torch.arange(1.0, 5.0).reshape(1, 1, 4)
>>> random_shift(x, 1, torch.Generator().manual_seed(2)).tolist()  # shifted right by one
[[[0.0, 1.0, 2.0, 3.0]]]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_int

__all__ = ["random_shift"]


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` ``(B, C, *spatial)`` with each sample shifted by a random integer per spatial axis (zero fill)."""
    m = check_int(max_shift, "max_shift", minimum=0)
    if x.ndim < 3:
        raise ValueError(f"x: expected a batch (B, C, *spatial), got shape {tuple(x.shape)}")
    if m == 0:
        return x.clone()
    spatial = x.shape[2:]
    out = F.pad(x, [m] * (2 * len(spatial)))
    offsets = torch.randint(0, 2 * m + 1, (x.shape[0], len(spatial)), generator=generator).to(x.device)
    for axis, size in enumerate(spatial):  # crop one axis at a time: sample i keeps offsets[i, axis] + 0 .. size - 1
        dim = 2 + axis
        start = offsets[:, axis].view(-1, *[1] * (out.ndim - 1))
        window = torch.arange(size, device=x.device).view(*[1] * dim, size, *[1] * (out.ndim - dim - 1))
        shape = list(out.shape)
        shape[dim] = size
        out = out.gather(dim, (start + window).expand(shape))
    return out
