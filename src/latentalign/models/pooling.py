r"""Pool token sequences ``(B, T, ...)`` to one row per sequence, over its valid tokens only.

With ``mask[b, t] = 1`` for the valid tokens of sequence ``b`` (``n_b`` of them, at
positions ``t_1 < ... < t_{n_b}``):

- ``"mean"``: :math:`\frac{1}{n_b}\sum_{i} h_{b, t_i}`;
- ``"max"``: the elementwise max over the valid tokens;
- ``"cls"``: :math:`h_{b, t_1}`, the first valid token (position 0 under right padding);
- ``"last"``: :math:`h_{b, t_{n_b}}`, the last valid token (how decoder LLMs are usually compared);
- ``None``: no pooling, the tokens are kept (compare them token by token with the mask).

Each row is reduced over exactly its valid tokens, gathered into a contiguous
``(n_b, ...)`` block: the padding's values, its length and its side (left or right)
cannot change a pooled row, which is bitwise the same however the sequence was padded.
``mask=None`` means every token is valid.

Examples
--------
>>> import torch
>>> h = torch.tensor([[[1.0], [3.0], [99.0]], [[5.0], [7.0], [9.0]]])
>>> mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
>>> pool_tokens(h, mask, "mean").flatten().tolist(), pool_tokens(h, mask, "last").flatten().tolist()
([2.0, 7.0], [3.0, 9.0])
"""

from __future__ import annotations

import torch

from .._validate import check_choice

__all__ = ["POOLS", "pool_tokens", "check_mask"]

POOLS = ("mean", "cls", "last", "max", None)


def check_mask(mask, shape: tuple[int, ...], name: str = "mask") -> torch.Tensor:
    """``mask`` as a bool ``(B, T)`` tensor matching the first two dims of ``shape``, every row non-empty."""
    mask = torch.as_tensor(mask)
    if mask.ndim != 2 or tuple(mask.shape) != tuple(shape[:2]):
        raise ValueError(f"{name}: expected a (batch, tokens) mask of shape {tuple(shape[:2])} matching the "
                         f"sequence output {tuple(shape)}, got shape {tuple(mask.shape)}")
    if mask.is_floating_point() or mask.is_complex():
        raise ValueError(f"{name}: expected a 0/1 integer or bool mask, got dtype {mask.dtype}")
    if mask.dtype != torch.bool:
        if bool(((mask != 0) & (mask != 1)).any()):
            raise ValueError(f"{name}: expected 0/1 values, got values in [{int(mask.min())}, {int(mask.max())}]")
        mask = mask != 0
    empty = torch.nonzero(~mask.any(1)).flatten()
    if empty.numel():
        raise ValueError(f"{name}: sequence {int(empty[0])} of the batch has no valid token; "
                         "a pooled row needs at least one")
    return mask


def _first_last(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pos = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    first = torch.where(mask, pos, mask.shape[1]).amin(1)
    last = torch.where(mask, pos, -1).amax(1)
    return first, last


def pool_tokens(h: torch.Tensor, mask=None, pool: str | None = "mean") -> torch.Tensor:
    """Pool ``h`` ``(B, T, ...)`` over its valid tokens to ``(B, ...)`` (see the module doc).

    ``mask``: ``(B, T)`` 0/1 or bool (``None``: all valid). ``pool=None`` returns ``h`` as is.
    """
    check_choice(pool, "pool", POOLS)
    if not isinstance(h, torch.Tensor) or h.ndim < 3:
        raise ValueError(f"h: expected a (batch, tokens, ...) tensor, got "
                         f"{tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__}")
    if mask is None:
        mask = torch.ones(h.shape[:2], dtype=torch.bool, device=h.device)
    mask = check_mask(mask, tuple(h.shape)).to(h.device)
    if pool is None:
        return h
    if pool in ("cls", "last"):
        first, last = _first_last(mask)
        rows = torch.arange(h.shape[0], device=h.device)
        return h[rows, first if pool == "cls" else last]
    reduce = (lambda t: t.mean(0)) if pool == "mean" else (lambda t: t.amax(0))
    return torch.stack([reduce(h[b][mask[b]].contiguous()) for b in range(h.shape[0])])
