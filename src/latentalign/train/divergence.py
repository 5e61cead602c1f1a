"""Guards of a training run: a learning rate the parameters can hold, a loss that stays finite.

``check_lr`` refuses a learning rate that is not positive, or too large for float32 parameters
(the optimiser would fail deep inside torch). ``check_loss`` is one scalar test per step that
names the epoch and step where training diverged, instead of writing NaN results.

Examples
--------
>>> import torch
>>> check_lr(1e-3)
0.001
>>> check_loss(torch.tensor(float("nan")), epoch=2, step=5)
Traceback (most recent call last):
...
ValueError: lr: training diverged at epoch 2, step 5 (loss nan); lower the learning rate or check the inputs
"""

from __future__ import annotations

import torch

from .._validate import check_positive

__all__ = ["check_lr", "check_loss", "diverged"]

_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def check_lr(lr, name: str = "lr") -> float:
    """A learning rate: positive, finite and representable in float32.

    Parameters
    ----------
    lr : float
        The learning rate.
    name : str
        The argument's name in errors.

    Returns
    -------
    float
        ``lr`` as a float.

    Examples
    --------
    >>> check_lr(1e300)
    Traceback (most recent call last):
    ...
    ValueError: lr: must be at most 3.4e+38 (float32 parameters), got 1e+300
    """
    lr = check_positive(lr, name)
    if lr > _FLOAT32_MAX:
        raise ValueError(f"{name}: must be at most {_FLOAT32_MAX:.2g} (float32 parameters), got {lr:g}")
    return lr


def check_loss(loss: torch.Tensor, *, epoch: int, step: int) -> None:
    """Raise a ``ValueError`` naming ``epoch`` and ``step`` when the scalar ``loss`` is NaN or Inf.

    Parameters
    ----------
    loss : torch.Tensor
        The step's loss, a 0-d tensor.
    epoch, step : int
        Where training is, for the message.

    Examples
    --------
    >>> check_loss(torch.tensor(0.5), epoch=0, step=0)
    """
    if not bool(torch.isfinite(loss.detach())):
        raise diverged(epoch, step, f"loss {float(loss.detach()):g}")


def diverged(epoch: int, step: int, detail: str) -> ValueError:
    """The error of a run whose loss or activations became NaN/Inf at ``epoch``, ``step`` (``detail``: what).

    Parameters
    ----------
    epoch, step : int
        Where training is.
    detail : str
        What was found non-finite.

    Returns
    -------
    ValueError
        To raise; its message starts with ``lr:``, the usual cause.

    Examples
    --------
    >>> str(diverged(1, 7, "z_u: contains NaN"))
    'lr: training diverged at epoch 1, step 7 (z_u: contains NaN); lower the learning rate or check the inputs'
    """
    return ValueError(f"lr: training diverged at epoch {epoch}, step {step} ({detail}); "
                      "lower the learning rate or check the inputs")
