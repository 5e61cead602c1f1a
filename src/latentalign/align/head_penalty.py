r"""Task-level cost of stitching: a frozen classifier head fed stitched instead of native features.

For a head ``h`` (features -> logits), native features ``x2`` and stitched ones
``f(x1)``, on labelled rows::

    delta_ce  = CE(h(f(x1)), y) - CE(h(x2), y)
    delta_acc = acc(h(x2)) - acc(h(f(x1)))          (accuracy lost)
    |delta_ce| <= sqrt(2) L_h sqrt(e_abs)

``L_h`` is the product of the spectral norms of the head's ``Linear`` layers (valid
when the head is a chain of ``Linear`` layers and 1-Lipschitz activations; ``None``
otherwise), ``sqrt 2`` the Lipschitz constant of cross-entropy in the logits, and
``e_abs`` the mean squared residual ``(1/n) sum ||x2_i - f(x1_i)||^2`` (Jensen turns
the per-sample Lipschitz bound into this one).

Examples
--------
>>> import torch
>>> head = torch.nn.Linear(3, 2)
>>> with torch.no_grad(): _ = head.weight.copy_(torch.tensor([[3., 0, 0], [0, 4., 0]]))
>>> head_lipschitz(torch.nn.Sequential(head, torch.nn.ReLU()))
4.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import as_labels
from ._common import paired

__all__ = ["TaskPenalty", "head_lipschitz", "task_penalty", "attach_task_penalties"]

_ONE_LIPSCHITZ = (nn.ReLU, nn.Identity, nn.Dropout, nn.Tanh, nn.Sigmoid, nn.Flatten, nn.Hardtanh, nn.ReLU6)


@dataclass
class TaskPenalty:
    """Cross-entropy and accuracy of a frozen head on native vs stitched features, and the CE bound.

    Attributes
    ----------
    delta_ce : float
        ``ce_stitched - ce_native``.
    delta_acc : float
        ``acc_native - acc_stitched``.
    ce_native, ce_stitched : float
        The head's cross-entropy on native and on stitched features.
    acc_native, acc_stitched : float
        Its accuracy on each.
    e_abs : float
        Mean squared distance between native and stitched rows.
    lipschitz : float or None
        The head's Lipschitz constant (:func:`head_lipschitz`), ``None`` when unknown.
    ce_bound : float or None
        ``sqrt(2) lipschitz sqrt(e_abs)``, the bound on ``|delta_ce|``.
    """

    delta_ce: float
    delta_acc: float
    ce_native: float
    ce_stitched: float
    acc_native: float
    acc_stitched: float
    e_abs: float
    lipschitz: float | None
    ce_bound: float | None

    @property
    def bound_holds(self) -> bool | None:
        """Whether ``|delta_ce| <= ce_bound`` (``None`` without a Lipschitz constant)."""
        return None if self.ce_bound is None else abs(self.delta_ce) <= self.ce_bound * (1 + 1e-9) + 1e-12


def head_lipschitz(head: nn.Module) -> float | None:
    """Product of spectral norms of the ``Linear`` layers of a ``Linear``/1-Lipschitz-activation chain.

    ``None`` when the head holds any other kind of module (its constant is unknown here).

    Parameters
    ----------
    head : torch.nn.Module
        A ``Linear`` layer, or a chain of them with 1-Lipschitz activations.

    Returns
    -------
    float or None
        The product of the layers' spectral norms; ``None`` for any other module.

    Examples
    --------
    >>> from torch import nn
    >>> layer = nn.Linear(2, 2)
    >>> _ = nn.init.eye_(layer.weight)
    >>> head_lipschitz(nn.Sequential(layer, nn.ReLU(), layer))
    1.0
    """
    if isinstance(head, nn.Linear):
        return float(torch.linalg.matrix_norm(head.weight.detach().double(), ord=2))
    if isinstance(head, nn.LeakyReLU):
        return 1.0 if abs(head.negative_slope) <= 1 else None
    if isinstance(head, _ONE_LIPSCHITZ):
        return 1.0
    if isinstance(head, nn.Sequential):
        total = 1.0
        for part in head:
            factor = head_lipschitz(part)
            if factor is None:
                return None
            total *= factor
        return total
    return None


def _run_head(head: nn.Module, Z: torch.Tensor) -> torch.Tensor:
    param = next(head.parameters(), None)
    dtype, device = (param.dtype, param.device) if param is not None else (torch.float32, Z.device)
    was_training = head.training
    head.eval()
    try:
        with torch.no_grad():
            return head(Z.detach().to(device, dtype)).double()
    finally:
        head.train(was_training)


def task_penalty(head: nn.Module, native, stitched, y) -> TaskPenalty:
    """Compare ``head`` on ``native`` and ``stitched`` features (same rows, labels ``y``).

    Parameters
    ----------
    head : torch.nn.Module
        A frozen head mapping features ``(n, d)`` to logits ``(n, n_classes)``.
    native : array-like of shape (n, d)
        The features the head was trained on.
    stitched : array-like of shape (n, d)
        The stitched features of the same rows.
    y : array-like of shape (n,)
        Their labels.

    Returns
    -------
    TaskPenalty
        Cross-entropy and accuracy on both, and the bound.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> head = nn.Linear(2, 2)
    >>> X = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    >>> task_penalty(head, X, X, torch.arange(10) % 2).delta_ce
    0.0
    """
    if not isinstance(head, nn.Module):
        raise TypeError(f"head: expected a torch.nn.Module mapping features to logits, got {type(head).__name__}")
    native, stitched = paired(native, stitched, min_samples=1, allow_constant=True, names=("native", "stitched"))
    if stitched.shape[1] != native.shape[1]:
        raise ValueError(f"stitched: expected {native.shape[1]} features like native, got {stitched.shape[1]}")
    labels = as_labels(y, "y", n_samples=native.shape[0]).to(native.device)
    try:
        out_native, out_stitched = _run_head(head, native), _run_head(head, stitched)
    except RuntimeError as err:
        raise ValueError(f"head: cannot be applied to features of shape {tuple(native.shape)}: "
                         f"{str(err).splitlines()[0]}") from None
    if out_native.ndim != 2 or int(labels.max()) >= out_native.shape[1]:
        raise ValueError(f"head: expected logits (n, n_classes > max label), got shape {tuple(out_native.shape)}")
    labels = labels.to(out_native.device)
    ce_n, ce_s = (float(F.cross_entropy(o, labels)) for o in (out_native, out_stitched))
    acc_n, acc_s = (float((o.argmax(1) == labels).double().mean()) for o in (out_native, out_stitched))
    e_abs = float((native - stitched).square().sum(1).mean())
    lip = head_lipschitz(head)
    bound = None if lip is None else math.sqrt(2.0) * lip * math.sqrt(e_abs)
    return TaskPenalty(ce_s - ce_n, acc_n - acc_s, ce_n, ce_s, acc_n, acc_s, e_abs, lip, bound)


def attach_task_penalties(forward, backward, head, eval_pair, y) -> None:
    """Set ``.task`` of each stitching direction that has a head (``head`` or ``(head_on_2, head_on_1)``)."""
    if y is None:
        raise ValueError("y: labels of the evaluated rows are needed to score a head")
    heads = tuple(head) if isinstance(head, (tuple, list)) else (head, None)
    if len(heads) != 2:
        raise ValueError(f"head: expected a module or a pair (head_on_X2, head_on_X1), got {len(heads)} items")
    Z1, Z2 = eval_pair
    if forward is not None and heads[0] is not None:
        forward.task = task_penalty(heads[0], Z2, forward.stitcher(Z1), y)
    if backward is not None and heads[1] is not None:
        backward.task = task_penalty(heads[1], Z1, backward.stitcher(Z2), y)
