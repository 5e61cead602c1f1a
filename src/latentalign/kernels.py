r"""Gram matrices, centring and HSIC: the core every alignment metric stands on.

Conventions (``docs/align.md#align-conventions``, ``docs/align.md#eq-hsic-b``):

* ``K = k(X, X)``, ``L = k(Y, Y)``; ``K~`` is ``K`` with a zero diagonal;
  ``r_K = K 1``; ``sum K = 1^T K 1``.
* Biased HSIC  ``HSIC_b = tr(K H L H) / (n-1)^2
  = [sum K*L - (2/n) r_K . r_L + sum K sum L / n^2] / (n-1)^2``.
* Unbiased HSIC (Song et al., JMLR 2012), ``n >= 4``::

      HSIC_u = [sum K~*L~ + sum K~ sum L~ / ((n-1)(n-2)) - 2 (K~ 1).(L~ 1) / (n-2)] / (n(n-3))

* Linear kernels have an exact feature-space form in ``O(n d1 d2)``:
  ``HSIC_b = ||Xc^T Yc||_F^2 / (n-1)^2`` and the unbiased sums of
  :func:`hsic_linear` (:mod:`latentalign.moments`). Both are evaluated on
  mean-shifted data (HSIC is translation invariant; raw sums lose digits when
  ``|mean| >> std``).
* Other kernels: :func:`gram_sums` accumulates the four sums over row blocks
  (:class:`GramSums`), so only ``block_size x n`` of each Gram exists at once.

The centring matrix ``H = I - 11^T/n`` is never formed. Everything is
accumulated in float64. Inputs are numpy arrays or torch tensors; numpy in
gives a Python float, torch in gives a 0-d float64 tensor with autograd kept.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
>>> Y = X @ np.array([[1., 2.], [0., 1.]])
>>> round(hsic(X, Y), 10), round(hsic(X, Y, unbiased=True), 10)
(1.6666666667, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._validate import (
    MODERATE_EXPONENT,
    as_matrix,
    check_bool,
    check_choice,
    check_int,
    check_paired,
    check_positive,
    check_scale,
    check_seed,
    rescale_extreme,
    scale_exponent,
    unit_scale,
)
from .moments import centered, hsic_from_sums, linear_hsic

__all__ = ["KERNELS", "gram", "kernel_fn", "squared_distances", "median_sq_distance", "center_gram", "hsic",
           "hsic_gram", "hsic_linear"]

KERNELS = ("linear", "cosine", "rbf")
KernelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PATHS = ("auto", "feature", "gram")
GRAM_BLOCK = 2048
_MEDIAN_ROWS = 2000


# --------------------------------------------------------------------------- Grams
def squared_distances(X: torch.Tensor, Y: torch.Tensor, *, y_sq: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances ``||x_i - y_j||^2``, clamped at 0 (tensors, no checks).

    Computed as ``||x||^2 - 2 x.y + ||y||^2`` with one matrix product.

    Parameters
    ----------
    X : torch.Tensor of shape (n, d)
        Rows ``x_i``.
    Y : torch.Tensor of shape (m, d)
        Rows ``y_j``.
    y_sq : torch.Tensor of shape (m,), optional
        ``||y_j||^2`` when the caller already has it.

    Returns
    -------
    torch.Tensor of shape (n, m)
        The squared distances, in the inputs' dtype.

    Examples
    --------
    >>> import torch
    >>> squared_distances(torch.tensor([[0., 0.], [1., 1.]]), torch.tensor([[1., 0.]])).tolist()
    [[1.0], [1.0]]
    """
    if y_sq is None:
        y_sq = (Y * Y).sum(1)
    d2 = (X * X).sum(1, keepdim=True) - 2.0 * (X @ Y.T) + y_sq.unsqueeze(0)
    return d2.clamp_min_(0.0) if not d2.requires_grad else d2.clamp_min(0.0)


def median_sq_distance(X, *, seed: int = 0, max_rows: int = _MEDIAN_ROWS) -> float:
    """Median of ``||x_i - x_j||^2`` over the pairs ``i < j``: the RBF kernel's default ``sigma^2``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows (at least 2).
    seed : int, default 0
        Seed of the subsample of ``max_rows`` rows drawn when ``n_samples > max_rows``.
    max_rows : int, default 2000
        Rows above which the median is taken over a subsample.

    Returns
    -------
    float
        The median squared distance; a ``ValueError`` when it is 0 (mostly duplicated rows).

    Examples
    --------
    >>> median_sq_distance([[0., 0.], [1., 0.], [3., 0.]])
    4.0
    """
    max_rows = check_int(max_rows, "max_rows", minimum=2)
    return _median_sq_distance(check_scale(as_matrix(X, "X", min_samples=2).detach(), "X"), "X", check_seed(seed),
                               max_rows)


def _median_sq_distance(X: torch.Tensor, name: str, seed: int, max_rows: int = _MEDIAN_ROWS) -> float:
    if X.shape[0] > max_rows:
        gen = torch.Generator().manual_seed(seed)
        X = X[torch.randperm(X.shape[0], generator=gen)[:max_rows].to(X.device)]
    d2 = squared_distances(X, X)
    iu = torch.triu_indices(X.shape[0], X.shape[0], offset=1, device=X.device)
    med = float(d2[iu[0], iu[1]].median())
    if med <= 0:
        raise ValueError(f"{name}: median pairwise distance is 0 (mostly duplicated rows); pass sigma explicitly")
    return med


def kernel_fn(
    X, kernel: str | KernelFn = "linear", *, sigma: float | None = None, seed: int = 0, name: str = "X"
) -> KernelFn:
    """Return the cross-kernel ``k(A, B) -> (len A, len B)`` for ``X``'s kernel.

    ``rbf``: ``exp(-||a - b||^2 / (2 sigma^2))``, ``sigma^2`` the median squared
    distance of ``X`` unless given (median heuristic, tau = 1). ``cosine``:
    ``a.b / (||a|| ||b||)``. A callable is returned unchanged.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data the bandwidth is estimated on (``rbf`` without ``sigma``).
    kernel : {"linear", "cosine", "rbf"} or callable, default "linear"
        The kernel, or a function ``k(A, B)`` returning the ``(len A, len B)`` block.
    sigma : float, optional
        RBF bandwidth; ``None`` takes the median heuristic of ``X``.
    seed : int, default 0
        Seed of the median's subsample (above 2000 rows).
    name : str, default "X"
        The argument name errors start with.

    Returns
    -------
    callable
        ``k(A, B)``: tensors ``(a, d)`` and ``(b, d)`` to the ``(a, b)`` kernel block.

    Examples
    --------
    >>> import torch
    >>> k = kernel_fn(None, "rbf", sigma=1.0)
    >>> round(float(k(torch.zeros(1, 2), torch.ones(1, 2))), 6)
    0.367879
    """
    if callable(kernel):
        return _checked_kernel(kernel)
    check_choice(kernel, "kernel", KERNELS)
    if kernel == "linear":
        return lambda A, B: A @ B.T
    if kernel == "cosine":
        return lambda A, B: unit_rows(A, name) @ unit_rows(B, name).T
    if sigma is None:
        two_s2 = 2.0 * _median_sq_distance(as_matrix(X, name, min_samples=2).detach(), name, seed)
    else:
        two_s2 = 2.0 * check_positive(sigma, "sigma") ** 2
    return lambda A, B: torch.exp(-squared_distances(A, B) / two_s2)


def _checked_kernel(k: KernelFn) -> KernelFn:
    """A user's ``k(A, B)`` whose every answer must be a finite ``(len A, len B)`` tensor."""
    def checked(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        out = k(A, B)
        want = (A.shape[0], B.shape[0])
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            got = tuple(out.shape) if hasattr(out, "shape") else type(out).__name__
            raise ValueError(f"kernel: expected kernel(A, B) to return a tensor of shape {want}, got {got}")
        if not bool(torch.isfinite(out.detach().sum())) and not bool(torch.isfinite(out.detach()).all()):
            raise ValueError("kernel: kernel(A, B) returned non-finite values")
        return out
    return checked


def check_kernel_options(kernel, sigma, seed, block_size) -> int:
    """Check the kernel options of an HSIC-like score up front, whichever path uses them.

    Parameters
    ----------
    kernel : str or callable
        One of :data:`KERNELS`, or ``k(A, B) -> (len A, len B)``.
    sigma : float or None
        RBF bandwidth (``None``: the median heuristic).
    seed : int
        Seed of the median's subsample.
    block_size : int
        Rows per Gram block, ``>= 1``.

    Returns
    -------
    int
        ``block_size``.

    Examples
    --------
    >>> check_kernel_options("rbf", None, 0, 0)
    Traceback (most recent call last):
    ...
    ValueError: block_size: must be >= 1, got 0
    """
    if not callable(kernel):
        check_choice(kernel, "kernel", KERNELS)
    check_positive(sigma, "sigma", allow_none=True)
    check_seed(seed)
    return check_int(block_size, "block_size")


def hsic_degree(kernel, sigma) -> int | None:
    """How HSIC of ``kernel`` scales when each input is multiplied by ``c``: as ``c^(2p)``.

    Parameters
    ----------
    kernel : str or callable
        The kernel.
    sigma : float or None
        Its RBF bandwidth (``None``: the median heuristic, which scales with the data).

    Returns
    -------
    int or None
        ``p = 1`` (linear), ``0`` (cosine; RBF with the median bandwidth: scale invariant),
        ``None`` when HSIC is not homogeneous (a fixed RBF bandwidth, a callable).

    Examples
    --------
    >>> hsic_degree("linear", None), hsic_degree("rbf", None), hsic_degree("rbf", 1.0)
    (1, 0, None)
    """
    if kernel == "linear":
        return 1
    if kernel == "cosine" or (kernel == "rbf" and sigma is None):
        return 0
    return None


def _scaled_pair(Xt: torch.Tensor, Yt: torch.Tensor, kernel, sigma):
    """``(X', Y', e)``: inputs rescaled by powers of two when the kernel's HSIC is homogeneous
    (then ``HSIC(X, Y) = 2**e HSIC(X', Y')``), else the inputs checked by ``check_scale`` and ``e = None``.
    """
    p = hsic_degree(kernel, sigma)
    if p is None:
        return check_scale(Xt, "X"), check_scale(Yt, "Y"), None
    ex, ey = scale_exponent(Xt), scale_exponent(Yt)
    if max(abs(ex), abs(ey)) <= MODERATE_EXPONENT:  # ordinary data: nothing to do
        return Xt, Yt, 0
    return unit_scale(Xt, ex), unit_scale(Yt, ey), 2 * p * (ex + ey)


def _unscaled(value: torch.Tensor, e: int | None, what: str = "HSIC") -> torch.Tensor:
    """``value * 2**e``, or ``ValueError`` naming ``X`` when that leaves float64's normal range."""
    if not e:
        return value
    out = torch.ldexp(value, torch.tensor(e, device=value.device))
    v, o = float(value.detach()), abs(float(out.detach()))
    if v != 0 and (o == float("inf") or o < torch.finfo(torch.float64).tiny):
        size, flow = ("large", "overflows") if e > 0 else ("small", "underflows")
        raise ValueError(f"X: values too {size}: {what} of these inputs (about 2**{e} x {v:.3g}) {flow} float64; "
                         "rescale the data")
    return out


def gram(X, kernel: str | KernelFn = "linear", *, sigma: float | None = None, seed: int = 0) -> torch.Tensor:
    """The ``n x n`` Gram matrix ``K_ij = k(x_i, x_j)`` in float64.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows.
    kernel : {"linear", "cosine", "rbf"} or callable, default "linear"
        See :func:`kernel_fn`.
    sigma : float, optional
        RBF bandwidth; ``None`` takes the median heuristic.
    seed : int, default 0
        Seed of the median's subsample (above 2000 rows).

    Returns
    -------
    torch.Tensor of shape (n_samples, n_samples)
        ``K`` in float64.

    Examples
    --------
    >>> gram([[1., 0.], [0., 2.]]).tolist()
    [[1.0, 0.0], [0.0, 4.0]]
    """
    X = as_matrix(X, "X")
    if hsic_degree(kernel, sigma) == 0:  # the Gram itself is scale invariant
        X = rescale_extreme(X)
    else:
        check_scale(X, "X")
    return kernel_fn(X, kernel, sigma=sigma, seed=seed)(X, X)


def center_gram(K) -> torch.Tensor:
    """Double-centre a Gram matrix: ``H K H`` with ``H = I - 11^T/n``, never forming ``H``.

    Parameters
    ----------
    K : array-like of shape (n, n)
        A square kernel matrix.

    Returns
    -------
    torch.Tensor of shape (n, n)
        ``K`` minus its row and column means plus its grand mean (float64).

    Examples
    --------
    >>> center_gram([[2., 0.], [0., 2.]]).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    K = _square(K, "K")
    row = K.mean(1, keepdim=True)
    col = K.mean(0, keepdim=True)
    return K - row - col + K.mean()


# --------------------------------------------------------------------------- HSIC
def hsic_gram(K, L, *, unbiased: bool = False):
    """HSIC from two ``n x n`` kernel matrices in ``O(n^2)`` (formulas in the module doc).

    Parameters
    ----------
    K, L : array-like of shape (n, n)
        Kernel matrices of the same ``n`` samples.
    unbiased : bool, default False
        The unbiased estimator ``HSIC_u`` (``n >= 4``) instead of ``HSIC_b``.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
    >>> round(hsic_gram(X @ X.T, X @ X.T), 10) == round(hsic(X, X), 10)
    True
    """
    unbiased = check_bool(unbiased, "unbiased")
    K_t, L_t = _square(K, "K"), _square(L, "L")
    n = check_paired(K_t, L_t, ("K", "L"))
    _check_n(n, unbiased, "K")
    ek, el = scale_exponent(K_t), scale_exponent(L_t)  # HSIC is bilinear in (K, L)
    if max(abs(ek), abs(el)) <= MODERATE_EXPONENT:
        ek = el = 0
    K_t, L_t = unit_scale(K_t, ek), unit_scale(L_t, el)
    sums = GramSums(K_t)
    sums.add_block(K_t, L_t, 0, unbiased)
    return as_output(_unscaled(sums.hsic(n, unbiased), ek + el), K, L)


def hsic_linear(X, Y, *, unbiased: bool = False):
    """Linear-kernel HSIC in feature space, ``O(n d1 d2)`` time, ``O(d1 d2)`` memory.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    unbiased : bool, default False
        ``HSIC_u`` (``n >= 4``) instead of ``HSIC_b``.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Notes
    -----
    With ``k_i = ||x_i||^2``, ``l_i = ||y_i||^2``, ``s_x = X^T 1``, ``s_y = Y^T 1``
    (rows shifted by their mean first)::

        sum K~*L~   = ||X^T Y||_F^2 - sum k_i l_i
        sum K~      = ||s_x||^2 - sum k
        (K~1).(L~1) = s_x^T X^T Y s_y - s_x^T X^T l - (Y^T k)^T s_y + k.l

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
    >>> round(hsic_linear(X, X, unbiased=True), 10) == round(hsic(X, X, unbiased=True, path="gram"), 10)
    True
    """
    unbiased = check_bool(unbiased, "unbiased")
    Xt, Yt, e = _scaled_pair(*_pair(X, Y, unbiased), "linear", None)
    return as_output(_unscaled(linear_hsic(centered(Xt), centered(Yt), unbiased), e), X, Y)


def hsic(
    X,
    Y,
    *,
    kernel: str | KernelFn = "linear",
    unbiased: bool = False,
    sigma: float | None = None,
    path: str = "auto",
    seed: int = 0,
    block_size: int = GRAM_BLOCK,
):
    """HSIC of two representations, picking the cheaper exact path.

    ``path="feature"`` (linear kernel only) is :func:`hsic_linear`;
    ``path="gram"`` accumulates the Gram sums over row blocks of ``block_size``
    so only ``block_size x n`` of each Gram exists at once; ``"auto"`` takes
    the feature path for a linear kernel when ``d1 d2 + d1^2 + d2^2 < n (d1 + d2)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    kernel : {"linear", "cosine", "rbf"} or callable, default "linear"
        The kernel of both inputs (see :func:`kernel_fn`).
    unbiased : bool, default False
        ``HSIC_u`` (``n >= 4``) instead of ``HSIC_b``.
    sigma : float, optional
        RBF bandwidth of both inputs; ``None`` takes the median heuristic of each.
    path : {"auto", "feature", "gram"}, default "auto"
        How to compute it (same value up to rounding).
    seed : int, default 0
        Seed of the median's subsample (above 2000 rows).
    block_size : int, default 2048
        Rows per Gram block on the Gram path.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor (autograd kept) for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
    >>> round(hsic(X, X, kernel="rbf", sigma=1.0), 6) == round(hsic(X, X, kernel="rbf", sigma=1.0, path="gram"), 6)
    True
    """
    unbiased = check_bool(unbiased, "unbiased")
    block_size = check_kernel_options(kernel, sigma, seed, block_size)
    Xt, Yt = _pair(X, Y, unbiased)
    return as_output(hsic_tensors(Xt, Yt, kernel=kernel, unbiased=unbiased, sigma=sigma, path=path, seed=seed,
                                  block_size=block_size), X, Y)


def hsic_tensors(Xt: torch.Tensor, Yt: torch.Tensor, *, kernel, unbiased: bool, sigma=None, path: str = "auto",
                 seed: int = 0, block_size: int = GRAM_BLOCK) -> torch.Tensor:
    """:func:`hsic` of validated tensors, as a 0-d float64 tensor (the cheaper exact path)."""
    n = Xt.shape[0]
    feature = resolve_path(path, kernel, n, Xt.shape[1], Yt.shape[1]) == "feature"
    Xt, Yt, e = _scaled_pair(Xt, Yt, kernel, sigma)
    if feature:
        value = linear_hsic(centered(Xt), centered(Yt), unbiased)
    else:
        (sums,) = gram_sums(Xt, Yt, kernel, unbiased=unbiased, sigma=sigma, seed=seed, block_size=block_size)
        value = sums.hsic(n, unbiased)
    return _unscaled(value, e)


def resolve_path(path: str, kernel, n: int, d1: int, d2: int) -> str:
    """``"feature"`` or ``"gram"``: ``"auto"`` takes the feature path for a linear kernel
    when ``d1 d2 + d1^2 + d2^2 < n (d1 + d2)`` (cheaper than the Grams).
    """
    check_choice(path, "path", PATHS)
    if path == "feature" and kernel != "linear":
        raise ValueError(f"path: 'feature' needs kernel='linear', got kernel={kernel!r}")
    if path == "auto":
        cheaper = d1 * d2 + d1 * d1 + d2 * d2 < n * (d1 + d2)
        return "feature" if kernel == "linear" and cheaper else "gram"
    return path


class GramSums:
    """Sample sums of two Grams ``(K, L)`` accumulated over row blocks (diagonal dropped if unbiased):
    ``kl = sum K*L`` and the row sums ``r_k``, ``r_l`` (one tensor per block).
    """

    def __init__(self, like: torch.Tensor):
        self.kl = like.new_zeros((), dtype=torch.float64)
        self.r_k: list[torch.Tensor] = []
        self.r_l: list[torch.Tensor] = []

    def add_block(self, Kb: torch.Tensor, Lb: torch.Tensor, start: int, unbiased: bool) -> None:
        """Rows ``start, start + 1, ...`` of ``K`` and ``L``."""
        kl, r_k, r_l = torch.dot(Kb.reshape(-1), Lb.reshape(-1)), Kb.sum(1), Lb.sum(1)
        if unbiased:  # drop the diagonal entries (i, start + i) without copying the block
            dk, dl = torch.diagonal(Kb, offset=start), torch.diagonal(Lb, offset=start)
            kl, r_k, r_l = kl - dk @ dl, r_k - dk, r_l - dl
        self.kl = self.kl + kl
        self.r_k.append(r_k)
        self.r_l.append(r_l)

    def hsic(self, n: int, unbiased: bool) -> torch.Tensor:
        """HSIC of the accumulated sums over ``n`` rows (biased or unbiased)."""
        r_k, r_l = torch.cat(self.r_k), torch.cat(self.r_l)
        return hsic_from_sums(self.kl, r_k.sum(), r_l.sum(), r_k @ r_l, n, unbiased)


_PAIRS = {"xy": (0, 1), "xx": (0, 0), "yy": (1, 1)}
GRAM_TRIPLE = tuple(_PAIRS)  # the cross term and both self terms, as CKA-like scores need


def gram_sums(Xt, Yt, kernel, *, unbiased: bool, sigma=None, seed: int = 0, block_size: int = GRAM_BLOCK,
              shift: bool = True, hollow: bool = False, pairs=("xy",)) -> list[GramSums]:
    """One pass over row blocks of ``K = k(X, X)`` and ``L = k(Y, Y)``: a :class:`GramSums` per
    requested pair (``"xy"``: (K, L), ``"xx"``: (K, K), ``"yy"``: (L, L)).

    Each Gram block is computed once and shared by the pairs. ``shift`` (linear kernel)
    subtracts column means first (exact for centred statistics, and more accurate).
    ``hollow`` sets the diagonal to exactly 0 (dissimilarities of a row to itself,
    which ``||a||^2 - 2 a.b + ||b||^2`` only gets to within rounding).
    """
    block_size = check_int(block_size, "block_size")
    kx = kernel_fn(Xt, kernel, sigma=sigma, seed=seed, name="X")
    ky = kernel_fn(Yt, kernel, sigma=sigma, seed=seed, name="Y")
    if shift and kernel == "linear":
        Xt, Yt = centered(Xt), centered(Yt)
    sums = [GramSums(Xt) for _ in pairs]
    n = Xt.shape[0]
    for start in range(0, n, block_size):
        rows = slice(start, min(start + block_size, n))
        blocks = [kx(Xt[rows], Xt), ky(Yt[rows], Yt)]
        if hollow:
            keep = torch.ones_like(blocks[0])
            keep[torch.arange(keep.shape[0]), torch.arange(rows.start, rows.stop)] = 0.0
            blocks = [B * keep for B in blocks]
        for s, pair in zip(sums, pairs):
            a, b = _PAIRS[pair]
            s.add_block(blocks[a], blocks[b], start, unbiased)
    return sums


# --------------------------------------------------------------------------- helpers
def _pair(X, Y, unbiased: bool):
    Xt = as_matrix(X, "X", min_samples=2)
    Yt = as_matrix(Y, "Y", min_samples=2)
    n = check_paired(Xt, Yt)
    _check_n(n, unbiased, "X")
    return Xt, Yt


def _check_n(n: int, unbiased: bool, name: str) -> None:
    if unbiased and n < 4:
        raise ValueError(f"{name}: unbiased HSIC needs at least 4 samples, got {n}")


def _square(K, name: str) -> torch.Tensor:
    K = as_matrix(K, name)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name}: expected a square kernel matrix, got shape {tuple(K.shape)}")
    return K


def unit_rows(A: torch.Tensor, name: str = "X") -> torch.Tensor:
    """Rows scaled to unit norm; an all-zero row raises naming ``name``.

    Each row is first brought to ``max|a| in [0.5, 1)`` by a power of two, so rows of any
    finite magnitude (1e-300 .. 1e300) normalise without overflow or underflow.
    """
    peak = A.detach().abs().amax(1, keepdim=True)
    if bool((peak == 0).any()):
        raise ValueError(f"{name}: cosine similarity is undefined for an all-zero row")
    A = torch.ldexp(A, -torch.frexp(peak).exponent)
    return A / A.norm(dim=1, keepdim=True)


def as_output(value: torch.Tensor, *inputs):
    """Numpy inputs give a Python float; torch inputs keep the 0-d float64 tensor."""
    if any(isinstance(x, torch.Tensor) for x in inputs):
        return value
    return float(value)
