r"""Representational similarity analysis (RSA) and distance correlation.

An RDM (representational dissimilarity matrix) holds ``rdm(x_i, x_j)``:

* ``euclidean`` ``||x_i - x_j||``, ``sqeuclidean`` ``||x_i - x_j||^2``;
* ``cosine`` ``1 - cos(x_i, x_j)``; ``correlation`` ``1 - corr(x_i, x_j)`` (rows
  centred across features).

``rsa`` compares the two RDMs on their upper triangles (``i < j``), in row
blocks, never sorting or storing all pairs (except ``spearman``, which ranks
them, ``n <= 5000``): ``pearson``, ``spearman`` (average ranks for ties) or
``cosine``; or ``centered``: biased CKA of the kernels ``-1/2 RDM``. Since
``-1/2 H D^2 H = H K H``, ``rsa(X, Y, rdm="sqeuclidean", compare="centered")``
is linear CKA_b.

``dcor`` is the distance correlation of Szekely et al. (2007):
``dcor^2 = CKA_b(-D_X, -D_Y)`` with Euclidean distances ``D``
(Sejdinovic et al. 2013), i.e. ``sqrt(rsa(X, Y, rdm="euclidean", compare="centered"))``.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(30, 4))
>>> round(rsa(X, 3 * X + 1), 12), round(dcor(X, 3 * X + 1), 12)
(1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from .._validate import as_matrix, check_choice, check_int
from ..kernels import GRAM_BLOCK, GRAM_TRIPLE, gram_sums, squared_distances, unit_rows
from ._common import as_output, check_self_term, paired, safe_sqrt, zero_diagonal

__all__ = ["rsa", "dcor", "dissimilarity_matrix", "rdm_kernel", "RDMS", "COMPARISONS"]

RDMS = ("euclidean", "sqeuclidean", "correlation", "cosine")
COMPARISONS = ("pearson", "spearman", "cosine", "centered")
SPEARMAN_MAX_N = 5000

BlockFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def rdm_kernel(X: torch.Tensor, rdm: str, name: str = "X") -> tuple[torch.Tensor, BlockFn]:
    """Prepared rows ``Z`` and ``f(A, B)`` giving the RDM block between rows ``A`` and ``B`` of ``Z``."""
    check_choice(rdm, "rdm", RDMS)
    if rdm == "euclidean":
        return X, lambda A, B: safe_sqrt(squared_distances(A, B))
    if rdm == "sqeuclidean":
        return X, squared_distances
    if rdm == "correlation":
        Xr = X - X.mean(1, keepdim=True)
        if bool((Xr.detach().abs().amax(1) == 0).any()):
            raise ValueError(f"{name}: correlation distance is undefined for a row with zero variance across features")
        X = Xr
    Z = unit_rows(X, name)
    return Z, lambda A, B: 1.0 - A @ B.T


def dissimilarity_matrix(X, rdm: str = "euclidean"):
    """The full ``n x n`` RDM of ``X`` (float64; for small ``n``, plots and tests).

    >>> dissimilarity_matrix([[0., 0.], [3., 4.]]).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    Xt = as_matrix(X, "X")
    Z, f = rdm_kernel(Xt, rdm)
    return zero_diagonal(f(Z, Z))


def _upper_blocks(Zx, fx, Zy, fy, block_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """RDM values of pairs ``i < j``, one row block at a time."""
    n = Zx.shape[0]
    cols = torch.arange(n, device=Zx.device)
    for start in range(0, n - 1, block_size):
        stop = min(start + block_size, n)
        upper = cols.unsqueeze(0) > torch.arange(start, stop, device=Zx.device).unsqueeze(1)
        yield fx(Zx[start:stop], Zx)[upper], fy(Zy[start:stop], Zy)[upper]


def _pearson(pairs: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Pearson correlation accumulated over chunks (sums shifted by the first chunk's means)."""
    acc = None
    for a, b in pairs:
        if acc is None:
            shift_a, shift_b = a.detach().mean(), b.detach().mean()
            acc = [a.new_zeros(())] * 5 + [0]
        a, b = a - shift_a, b - shift_b
        acc = [acc[0] + a.sum(), acc[1] + b.sum(), acc[2] + (a * a).sum(), acc[3] + (b * b).sum(),
               acc[4] + (a * b).sum(), acc[5] + a.numel()]
    sa, sb, saa, sbb, sab, m = acc
    var_a, var_b = saa - sa * sa / m, sbb - sb * sb / m
    check_self_term(var_a, "X", "variance of the RDM")
    check_self_term(var_b, "Y", "variance of the RDM")
    return (sab - sa * sb / m) / torch.sqrt(var_a * var_b)


def _cosine(pairs) -> torch.Tensor:
    sab = saa = sbb = 0.0
    for a, b in pairs:
        sab, saa, sbb = sab + (a * b).sum(), saa + (a * a).sum(), sbb + (b * b).sum()
    check_self_term(saa, "X", "norm of the RDM")
    check_self_term(sbb, "Y", "norm of the RDM")
    return sab / torch.sqrt(saa * sbb)


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..m of ``values`` (ties share their average rank), as float64."""
    from scipy.stats import rankdata

    return torch.from_numpy(rankdata(values.detach().cpu().numpy(), method="average")).to(values.device)


def rsa(X, Y, *, rdm: str = "euclidean", compare: str = "pearson", block_size: int = GRAM_BLOCK):
    """Compare the RDMs of ``X`` and ``Y`` (same ``rdm`` for both).

    ``compare``: ``"pearson"`` / ``"spearman"`` / ``"cosine"`` on the upper
    triangles, or ``"centered"`` (biased CKA of ``-1/2 RDM``). Values lie in
    ``[-1, 1]`` (``[0, 1]`` for ``centered``).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    rdm : str, default "euclidean"
        The dissimilarity of both RDMs (see :mod:`latentalign.align.rsa`).
    compare : {"pearson", "spearman", "cosine", "centered"}, default "pearson"
        How the two RDMs are compared.
    block_size : int, default 2048
        Rows per RDM block.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(20, 3))
    >>> round(rsa(X, X, rdm="cosine", compare="spearman"), 12)
    1.0
    """
    check_choice(rdm, "rdm", RDMS)
    check_choice(compare, "compare", COMPARISONS)
    block_size = check_int(block_size, "block_size")
    # every RDM here is homogeneous in the input's scale and every comparison is scale free
    Xt, Yt = paired(X, Y, min_samples=3 if compare != "centered" else 2, scale_free=True)
    n = Xt.shape[0]
    Zx, fx = rdm_kernel(Xt, rdm, "X")
    Zy, fy = rdm_kernel(Yt, rdm, "Y")
    if compare == "centered":
        # fx and fy are the same block function (same rdm) on differently prepared rows
        sums = gram_sums(Zx, Zy, lambda A, B: -0.5 * fx(A, B), unbiased=False, sigma=None, seed=0,
                         block_size=block_size, shift=False, hollow=True, pairs=GRAM_TRIPLE)
        xy, xx, yy = (s.hsic(n, False) for s in sums)
        check_self_term(xx, "X")
        check_self_term(yy, "Y")
        return as_output(xy / torch.sqrt(xx * yy), X, Y)
    pairs = _upper_blocks(Zx, fx, Zy, fy, block_size)
    if compare == "cosine":
        return as_output(_cosine(pairs), X, Y)
    if compare == "spearman":
        if n > SPEARMAN_MAX_N:
            raise ValueError(f"compare: 'spearman' ranks all n(n-1)/2 pairs and needs n <= {SPEARMAN_MAX_N}, "
                             f"got n={n}; use 'pearson'")
        a, b = (torch.cat(parts) for parts in zip(*pairs))
        pairs = iter([(average_ranks(a), average_ranks(b))])
    return as_output(_pearson(pairs), X, Y)


def dcor(X, Y, *, block_size: int = GRAM_BLOCK):
    """Distance correlation ``sqrt(CKA_b(-D_X, -D_Y))`` (Euclidean distances), in ``[0, 1]``.

    Zero in the population iff ``X`` and ``Y`` are independent (Szekely et al. 2007).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    block_size : int, default 2048
        Rows per distance block.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(-1, 1, 41)[:, None]
    >>> round(dcor(t, t ** 2), 3)  # uncorrelated, yet dependent
    0.492
    """
    value = rsa(X, Y, rdm="euclidean", compare="centered", block_size=block_size)
    if isinstance(value, torch.Tensor):
        return safe_sqrt(value.clamp_min(0.0))
    return float(np.sqrt(max(value, 0.0)))
