r"""The estimator's hyper-parameters: what each may be (:data:`CONSTRAINTS`), and what ``"auto"`` becomes.

:func:`check_params` runs the constraint table (one checker per parameter, each raising a
``ValueError``/``TypeError`` that starts with the parameter's name) and the checks that tie
two parameters together. :func:`resolve` then turns the checked values into the settings of
one fit of ``n_samples`` rows (``docs/ksm.md#ksm-estimator``):

* ``budget_radius="auto"``: ``2 sigma`` (Gaussian), ``1`` (linear);
* ``batch_size="auto"``: full batch up to 1000 samples, else 256 (always full batch for the
  linear kernel or a batch as large as the data);
* ``max_iter="auto"``: 1500 full-batch iterations, 200 minibatch epochs, 20 online epochs;
* ``decoder="auto"``: exact up to 5000 samples, else Nystroem.

Examples
--------
>>> from latentalign.ksm import KernelSimilarityMatching
>>> values = check_params(KernelSimilarityMatching(sigma=0.5).get_params())
>>> p = resolve(values, n_samples=2000)
>>> p.radius, p.batch_size, p.max_iter, p.decoder
(1.0, 256, 200, 'exact')
>>> check_params({"ridge": 0.0})
Traceback (most recent call last):
...
ValueError: ridge: must be a positive finite number, got 0.0
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from .._deprecate import renamed_value
from .._validate import check_bool, check_choice, check_int, check_nonnegative, check_positive
from .objective import KERNELS, OLD_KERNELS
from .prox import Prior, check_budget

SOLVERS = ("admm", "online")
INITS = ("random", "pca")
DECODERS = ("auto", "exact", "nystrom")
VERBOSITY = (0, 1, 2, False, True)
EXACT_LIMIT = 5000  # above this many samples the Gaussian decoder is Nystroem
FULL_BATCH_LIMIT = 1000  # batch_size="auto": full batch up to this many samples, else 256
AUTO_BATCH = 256
AUTO_ITER = {"full": 1500, "minibatch": 200, "online": 20}


def is_auto(value) -> bool:
    """``value == "auto"`` without comparing arrays elementwise."""
    return isinstance(value, str) and value == "auto"


def _or_auto(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, name: value if is_auto(value) else check(value, name)


def _kernel(value, name):
    return check_choice(renamed_value(value, name, OLD_KERNELS, where="KernelSimilarityMatching"), name, KERNELS)


def _batch(value, name):
    return value if value is None or is_auto(value) else check_int(value, name)


def _init(value, name):
    return check_choice(value, name, INITS) if isinstance(value, str) else value  # an array: checked at fit


def _choices(choices):
    return lambda value, name: check_choice(value, name, choices)


# parameter -> checker(value, name) -> checked value; random_state is check_random_state's
CONSTRAINTS: dict[str, Callable[[Any, str], Any]] = {
    "n_components": check_int,
    "kernel": _kernel,
    "sigma": check_positive,
    "ridge": check_positive,
    "alpha": check_nonnegative,
    "latent_l2": check_nonnegative,
    "nonneg": check_bool,
    "budget": lambda value, name: check_budget(value),
    "budget_radius": _or_auto(check_positive),
    "solver": _choices(SOLVERS),
    "batch_size": _batch,
    "max_iter": _or_auto(check_int),
    "step_size": check_positive,
    "rho": check_positive,
    "tol": check_positive,
    "init": _init,
    "decoder": _choices(DECODERS),
    "n_landmarks": check_int,
    "transform_max_iter": check_int,
    "sample_bandwidth": check_nonnegative,
    "n_random_features": check_int,
    "online_steps": check_int,
    "online_rate": check_positive,
    "online_lr": check_positive,
    "verbose": _choices(VERBOSITY),
    "learn_sigma": check_bool,
}


def check_params(params: dict) -> dict:
    """Check each given parameter against :data:`CONSTRAINTS`, then the pairs that must agree.

    Parameters
    ----------
    params : dict
        Parameter name -> value (any subset of :data:`CONSTRAINTS`; others pass unchecked).

    Returns
    -------
    dict
        The checked values (numbers as ``int``/``float``, kernel names in the glossary's words).

    Examples
    --------
    >>> check_params({"kernel": "linear", "nonneg": True})
    {'kernel': 'linear', 'nonneg': True}
    """
    values = {name: CONSTRAINTS[name](value, name) if name in CONSTRAINTS else value
              for name, value in params.items()}
    if values.get("learn_sigma") and (values.get("kernel") != "rbf" or values.get("solver") != "admm"):
        raise ValueError(f"learn_sigma: needs kernel='rbf' and solver='admm', got kernel={values.get('kernel')!r}, "
                         f"solver={values.get('solver')!r}")
    return values


def resolve(values: dict, n_samples: int) -> SimpleNamespace:
    """The settings of one fit on ``n_samples`` rows: ``"auto"`` values resolved and the prior built.

    Parameters
    ----------
    values : dict
        Output of :func:`check_params` on every parameter of the estimator.
    n_samples : int
        Rows of the data about to be fitted.

    Returns
    -------
    types.SimpleNamespace
        ``m, kernel, sigma, learn_sigma, ridge, prior, radius, solver, batch_size`` (None: full batch),
        ``max_iter, step_size, rho, tol, decoder`` (``"exact"`` or ``"nystrom"``).

    Examples
    --------
    >>> from latentalign.ksm import KernelSimilarityMatching
    >>> resolve(check_params(KernelSimilarityMatching(kernel="linear").get_params()), n_samples=50).radius
    1.0
    """
    v = values
    kernel, sigma, solver = v["kernel"], v["sigma"], v["solver"]
    radius = (2.0 * sigma if kernel == "rbf" else 1.0) if is_auto(v["budget_radius"]) else v["budget_radius"]
    prior = Prior(v["alpha"], v["latent_l2"], v["nonneg"], v["budget"], radius)
    if kernel == "linear" and v["budget"] is None and prior.l2 == 0:
        warnings.warn("budget: the linear kernel with no budget and latent_l2=0 is unbounded; latents keep "
                      "growing", UserWarning, stacklevel=4)
    batch = v["batch_size"]
    if is_auto(batch):
        batch = None if n_samples <= FULL_BATCH_LIMIT else AUTO_BATCH
    if kernel == "linear" or (batch is not None and batch >= n_samples):
        batch = None
    mode = "online" if solver == "online" else ("full" if batch is None else "minibatch")
    decoder = v["decoder"]
    if decoder == "auto":
        decoder = "exact" if n_samples <= EXACT_LIMIT else "nystrom"
    return SimpleNamespace(
        m=v["n_components"], kernel=kernel, sigma=sigma, learn_sigma=v["learn_sigma"], ridge=v["ridge"],
        prior=prior, radius=radius, solver=solver, batch_size=batch,
        max_iter=AUTO_ITER[mode] if is_auto(v["max_iter"]) else v["max_iter"], step_size=v["step_size"],
        rho=v["rho"], tol=v["tol"], decoder=decoder)

