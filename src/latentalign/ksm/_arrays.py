"""numpy/torch in, the same kind out: the I/O convention of ``docs/ksm.md#ksm-io``.

Work happens in float64 torch on the input's device; results go back as the
input's type (numpy array or torch tensor) and float dtype. Scalars come back
as a Python float for numpy input and a 0-d float64 tensor for torch input.

Examples
--------
>>> import numpy as np
>>> t, like = as_float64(np.ones((2, 3), dtype=np.float32), "X")
>>> t.dtype, restore(t * 2, like).dtype
(torch.float64, dtype('float32'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validate import as_matrix


@dataclass(frozen=True)
class Like:
    """What an input looked like: torch or numpy, its float dtype and device."""

    is_torch: bool
    dtype: object
    device: torch.device


def as_float64(x, name: str, *, min_samples: int = 1, allow_constant: bool = True) -> tuple[torch.Tensor, Like]:
    """Validate ``x`` as a finite 2-D matrix; return it as float64 torch plus how to give results back."""
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        x = np.asarray(x) if hasattr(x, "__array__") else x
    t = as_matrix(x, name, min_samples=min_samples, allow_constant=allow_constant).detach()
    if isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.float64
        return t, Like(True, dtype, x.device)
    arr_dtype = np.asarray(x).dtype if not isinstance(x, np.ndarray) else x.dtype
    dtype = arr_dtype if np.issubdtype(arr_dtype, np.floating) else np.dtype(np.float64)
    return t, Like(False, dtype, torch.device("cpu"))


def restore(t: torch.Tensor, like: Like):
    """A float64 result as the input's kind: numpy array / torch tensor with the input's dtype."""
    if like.is_torch:
        return t.to(device=like.device, dtype=like.dtype)
    return t.detach().cpu().numpy().astype(like.dtype, copy=False)


def scalar(value: torch.Tensor, like: Like):
    """A 0-d result: Python float for numpy input, 0-d float64 tensor for torch input."""
    return value if like.is_torch else float(value)
