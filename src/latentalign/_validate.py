"""Input checks shared by every public function.

One place decides what a valid representation is: a 2-D array of real numbers,
numpy or torch, ``(n_samples, n_features)``, finite, with enough samples. Every
failure raises ``TypeError`` (wrong kind of object) or ``ValueError`` (wrong
shape or values) whose message starts with the argument's name, so the CLI can
print it as one line.

Examples
--------
>>> import numpy as np
>>> X = as_matrix(np.ones((3, 2)), "X")
>>> X.dtype, tuple(X.shape)
(torch.float64, (3, 2))
>>> as_matrix(np.ones(3), "X")
Traceback (most recent call last):
...
ValueError: X: expected a 2-D array (n_samples, n_features), got shape (3,)
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

ArrayLike = "np.ndarray | torch.Tensor"


def as_matrix(
    x,
    name: str,
    *,
    min_samples: int = 1,
    dtype: torch.dtype | None = torch.float64,
    allow_constant: bool = True,
) -> torch.Tensor:
    """Return ``x`` as a 2-D finite torch tensor, or raise naming ``name``.

    ``dtype=None`` keeps a floating tensor's dtype (integers become float32);
    autograd is kept for torch inputs. ``allow_constant=False`` rejects an
    input whose every column is constant (no variance to compare).
    """
    t = _to_tensor(x, name)
    if t.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array (n_samples, n_features), got shape {tuple(t.shape)}"
        )
    n, d = t.shape
    if n == 0 or d == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {(n, d)}")
    if n < min_samples:
        raise ValueError(f"{name}: needs at least {min_samples} samples, got {n}")
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point():
        t = t.to(torch.float32)
    # one cheap reduction first: any NaN/Inf makes the sum non-finite (an overflow only costs the full scan)
    if not bool(torch.isfinite(t.detach().sum())):
        finite = torch.isfinite(t.detach())
        if not bool(finite.all()):
            bad = int((~finite).sum())
            kind = "NaN" if bool(torch.isnan(t.detach()).any()) else "Inf"
            raise ValueError(f"{name}: contains {bad} non-finite value(s) ({kind}); clean or impute them first")
    if not allow_constant and n > 1:
        spread = (t.detach() - t.detach()[:1]).abs().amax()
        if float(spread) == 0.0:
            raise ValueError(f"{name}: every sample is identical (zero variance); nothing to compare")
    return t


def as_labels(y, name: str, *, n_samples: int | None = None, n_classes: int | None = None) -> torch.Tensor:
    """Return integer class labels ``y`` as a 1-D int64 tensor, or raise naming ``name``."""
    t = _to_tensor(y, name)
    if t.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels, got shape {tuple(t.shape)}")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()) or not bool((t == t.round()).all()):
            raise ValueError(f"{name}: expected integer class labels")
    t = t.to(torch.int64)
    if n_samples is not None and t.shape[0] != n_samples:
        raise ValueError(f"{name}: expected {n_samples} labels, got {t.shape[0]}")
    if t.numel() and int(t.min()) < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {int(t.min())}")
    if n_classes is not None and t.numel() and int(t.max()) >= n_classes:
        raise ValueError(f"{name}: labels must be < n_classes={n_classes}, got {int(t.max())}")
    return t


def check_paired(X: torch.Tensor, Y: torch.Tensor, names: tuple[str, str] = ("X", "Y")) -> int:
    """Check that two representations have the same number of rows; return it."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{names[1]}: expected the same number of samples as {names[0]} "
            f"({X.shape[0]}), got {Y.shape[0]}"
        )
    return X.shape[0]


def check_int(value, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Check an integer (not a bool) with ``minimum <= value <= maximum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: must be <= {maximum}, got {value}")
    return value


def check_ints(values, name: str, *, minimum: int = 1, allow_empty: bool = False) -> tuple[int, ...]:
    """Check an integer or a sequence of integers, each ``>= minimum``; return a tuple."""
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        values = (values,)
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{name}: expected an integer or a sequence of integers, got {type(values).__name__}")
    if not values and not allow_empty:
        raise ValueError(f"{name}: expected at least one value, got an empty sequence")
    return tuple(check_int(v, name, minimum=minimum) for v in values)


def check_seed(seed, name: str = "seed") -> int:
    """A seed numpy accepts: an integer in ``[0, 2**32 - 1]``."""
    return check_int(seed, name, minimum=0, maximum=2**32 - 1)


def check_k(k, n: int, name: str = "k", *, minimum: int = 1) -> int:
    """Check a neighbour count: an integer with ``minimum <= k <= n - 1``."""
    k = check_int(k, name, minimum=minimum)
    if k >= n:
        raise ValueError(f"{name}: must be < n_samples={n} (self is excluded), got {k}")
    return k


def check_positive(value, name: str, *, allow_none: bool = False) -> float | None:
    """Check a strictly positive finite scalar (bandwidth, ridge, temperature...)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a positive finite number, got {value}")
    return value


def check_nonnegative(value, name: str) -> float:
    """Check a finite real ``>= 0`` (noise level, weight decay...)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a non-negative number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: must be a non-negative finite number, got {value}")
    return value


def check_bool(value, name: str) -> bool:
    """Check a flag: ``True`` or ``False`` (numpy bools too), never judged by truthiness.

    >>> check_bool(np.True_, "center")
    True
    >>> check_bool("no", "center")
    Traceback (most recent call last):
    ...
    TypeError: center: expected True or False, got str 'no'
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")


def check_choice(value, name: str, choices) -> str:
    """Check that ``value`` is one of ``choices`` (listed in the message)."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {listed}, got {value!r}")
    return value


def scale_exponent(t: torch.Tensor) -> int:
    """The binary exponent of ``max|t|``.

    Parameters
    ----------
    t : torch.Tensor
        Any shape, floating.

    Returns
    -------
    int
        ``e`` with ``2**(e-1) <= max|t| < 2**e``; 0 for an empty, zero or non-finite tensor.

    Examples
    --------
    >>> scale_exponent(torch.tensor([6.0, -2.0])), scale_exponent(torch.zeros(2))
    (3, 0)
    """
    peak = t.detach().abs().amax() if t.numel() else t.new_zeros(())
    if float(peak) == 0.0 or not bool(torch.isfinite(peak)):
        return 0
    return int(torch.frexp(peak.to(torch.float64)).exponent)


def unit_scale(t: torch.Tensor, exponent: int | None = None) -> torch.Tensor:
    """``t * 2**-e``: the largest magnitude brought to ``[0.5, 1)``, exactly.

    Multiplying by a power of two only changes exponents, so the result is exact (for
    normal numbers) and keeps autograd; squares and exponentials of the result cannot
    overflow. Scale-invariant measures call it (through :func:`rescale_extreme`) on each
    input before squaring, so that ``f(c X) == f(X)`` holds for ``c`` from 1e-300 to 1e300.

    Parameters
    ----------
    t : torch.Tensor
        Any shape, floating.
    exponent : int, optional
        ``e`` to use instead of :func:`scale_exponent` of ``t`` (one factor for several tensors).

    Returns
    -------
    torch.Tensor
        Same shape and dtype; ``t`` itself when ``e = 0`` (a zero tensor is returned as is).

    Examples
    --------
    >>> unit_scale(torch.tensor([3.0, -1e300], dtype=torch.float64)).abs().max().item() < 1
    True
    >>> unit_scale(torch.tensor([6.0, 2.0])).tolist()  # 6 = 0.75 * 2**3
    [0.75, 0.25]
    """
    e = scale_exponent(t) if exponent is None else exponent
    if e == 0:
        return t
    info = torch.finfo(t.dtype)
    if abs(e) < 1000 and info.tiny <= 2.0**-e <= info.max:  # a normal power of two: one exact product
        return t * 2.0**-e
    half = -e // 2  # two representable powers of two: still exact, and autograd flows (ldexp has no gradient)
    return t * 2.0**half * 2.0 ** (-e - half)


MODERATE_EXPONENT = 64  # |x| in [2**-64, 2**64]: squares and their sums are far from float64's limits


def rescale_extreme(t: torch.Tensor) -> torch.Tensor:
    """:func:`unit_scale` where ``max|t|`` lies outside ``[2**-64, 2**64]``, else ``t`` itself.

    What a scale-invariant measure calls on each input: ordinary data pass untouched (one
    reduction, no copy, so the hot paths do not slow down), extreme magnitudes are brought
    to ``[0.5, 1)`` exactly.

    Parameters
    ----------
    t : torch.Tensor
        Any shape, floating.

    Returns
    -------
    torch.Tensor
        ``t`` or ``t * 2**-e``.

    Examples
    --------
    >>> rescale_extreme(torch.tensor([1e300], dtype=torch.float64)).item() < 1
    True
    >>> rescale_extreme(torch.tensor([3.0])).item()
    3.0
    """
    e = scale_exponent(t)
    return t if abs(e) <= MODERATE_EXPONENT else unit_scale(t, e)


SAFE_EXPONENT = 255  # |x| in [2**-255, 2**255] (about 1.7e-77 .. 5.8e76): fourth powers and their sums stay finite


def check_scale(t: torch.Tensor, name: str) -> torch.Tensor:
    """Refuse magnitudes that a measure which is *not* scale invariant cannot square safely.

    The largest ``|x|`` must lie in ``[2**-255, 2**255]`` (about 1.7e-77 .. 5.8e76), so that
    squares, products of squares and their sums neither overflow nor underflow in float64
    (a zero tensor passes). Scale-invariant measures call :func:`rescale_extreme` instead.

    Parameters
    ----------
    t : torch.Tensor
        Any shape, floating.
    name : str
        The argument named by the error.

    Returns
    -------
    torch.Tensor
        ``t`` itself.

    Examples
    --------
    >>> check_scale(torch.tensor([[1e300]], dtype=torch.float64), "X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X: values too large (max |x| = 1e+300): their squares overflow float64 in a measure that is ...
    """
    e = scale_exponent(t)
    if abs(e) > SAFE_EXPONENT:
        peak = float(t.detach().abs().amax())
        size, flow = ("large", "overflow") if e > 0 else ("small", "underflow")
        raise ValueError(f"{name}: values too {size} (max |x| = {peak:.3g}): their squares {flow} float64 in a "
                         "measure that is not scale invariant; rescale the data (e.g. divide by its standard "
                         "deviation)")
    return t


def _to_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, (np.ndarray, list, tuple, numbers.Number)):
        arr = np.asarray(x)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
        ):
            raise TypeError(f"{name}: expected numeric data, got dtype {arr.dtype}")
        if np.iscomplexobj(arr):
            raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:  # longdouble: torch has no such dtype
            arr = arr.astype(np.float64)
        if not arr.dtype.isnative:  # big-endian data from a file: same values, native order
            arr = arr.astype(arr.dtype.newbyteorder("="))
        t = torch.from_numpy(np.ascontiguousarray(arr))
    else:
        raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")
    if t.is_complex():
        raise TypeError(f"{name}: expected real numbers, got dtype {t.dtype}")
    if t.dtype == torch.bool:
        t = t.to(torch.float32)
    return t


def check_real(value, name: str) -> float:
    """Check a finite real scalar (a bias, a shift): a number or a 0-d tensor, never NaN or Inf.

    >>> check_real(-10, "bias")
    -10.0
    >>> check_real(float("nan"), "bias")
    Traceback (most recent call last):
    ...
    ValueError: bias: must be a finite number, got nan
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = float(value.detach())
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value}")
    return value


def finite_peak(t: torch.Tensor, name: str) -> float:
    """``max |t|`` in one reduction (NaN propagates through it), or a ``ValueError`` naming ``name``
    when ``t`` holds NaN or Inf: the one check cheap enough for every training step.

    >>> finite_peak(torch.tensor([[1.0, -3.0]]), "z1")
    3.0
    >>> finite_peak(torch.tensor([[1.0, float("nan")]]), "z1")
    Traceback (most recent call last):
    ...
    ValueError: z1: contains non-finite values (NaN); clean or impute them first
    """
    peak = float(t.detach().abs().amax()) if t.numel() else 0.0
    if not np.isfinite(peak):
        kind = "NaN" if bool(torch.isnan(t.detach()).any()) else "Inf"
        raise ValueError(f"{name}: contains non-finite values ({kind}); clean or impute them first")
    return peak


def check_squares(t: torch.Tensor, name: str, purpose: str) -> float:
    """Refuse NaN/Inf and values whose row sums of squares overflow ``t``'s floating dtype; return ``max |t|``.

    For measures that are not scale-invariant (squared errors, inner products): rescaling would change
    their value, so values too large to square are an error naming ``name`` and ``purpose``.

    >>> check_squares(torch.tensor([[1e200, 0.0]], dtype=torch.float64), "z1", "VICReg's squared terms")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: z1: values up to 1e+200 overflow VICReg's squared terms in torch.float64 (squares above ...
    """
    peak = finite_peak(t, name)
    top = torch.finfo(t.dtype if t.is_floating_point() else torch.float32).max
    if peak > (top / max(t.shape[-1] if t.ndim else 1, 1)) ** 0.5:
        raise ValueError(f"{name}: values up to {peak:.3g} overflow {purpose} in {t.dtype} "
                         f"(squares above {top:.2g}); rescale the input")
    return peak
