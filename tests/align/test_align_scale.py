"""Scale handling (issue 13 item 2): every measure that declares invariance to isotropic scaling
gives the same value on ``c X, c Y`` for c from 1e-150 to 1e150; kNN ids do not move from
1e-300 to 1e300; a measure that is not scale invariant either computes correctly or refuses
extreme magnitudes with an error naming the argument.

The registry is looped over as it is: a measure added later with ``SCALING`` in its
invariances is tested here without a new line.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from latentalign import kernels, neighbors
from latentalign.align import MEASURES, measure
from latentalign.align.measures import example
from latentalign.align.registry import REGISTRY

_NEEDS_SAME_SHAPE = ("cosine",)  # flat cosine compares inputs of one shape
_NEEDS_RATES = ("rsa-rdm=poisson",)  # the Poisson RDM needs non-negative rates
NAMES = sorted({example(t) for t in MEASURES} | set(REGISTRY))
INVARIANT = [n for n in NAMES if measure(n).scale_invariant]  # isotropic scaling, or any invertible map
NOT_INVARIANT = [n for n in NAMES if not measure(n).scale_invariant]
_SETTINGS = settings(max_examples=3, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


def _pair(name: str, seed: int, n: int, d: int):
    """A correlated pair ``(n, d + 8)``, ``(n, d + 7)`` (wide enough for ``dim=10``), or rates for Poisson."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d + 8))
    Y = X[:, : d + 7] @ rng.normal(size=(d + 7, d + 7)) / 3 + 0.5 * rng.normal(size=(n, d + 7))
    if name.startswith(_NEEDS_SAME_SHAPE):
        Y = X + 0.5 * rng.normal(size=X.shape)
    if name.startswith(_NEEDS_RATES):
        X, Y = np.abs(X), np.abs(Y)
    return X, Y


def _value(v) -> float:
    return float(np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, dtype=float).mean())


def test_the_registry_declares_scale_invariance_somewhere():
    # the loops below must test something: most measures are scale invariant, a few are not
    assert len(INVARIANT) > 100 and len(NOT_INVARIANT) > 20, (len(INVARIANT), len(NOT_INVARIANT))


@pytest.mark.parametrize("name", INVARIANT)
@_SETTINGS
@given(seed=st.integers(0, 2**16), n=st.integers(30, 40), d=st.integers(0, 3))
def test_invariant_measure_same_value_from_1e_150_to_1e150(name, seed, n, d):
    X, Y = _pair(name, seed, n, d)
    fn = measure(name).fn
    try:
        base = _value(fn(X, Y))
    except ValueError:
        assume(False)  # e.g. a score <= 0 under -log: the measure refuses these data at every scale
    for c in (1e-150, 1.0, 1e150):
        got = _value(fn(c * X, c * Y))
        assert math.isclose(got, base, rel_tol=1e-9, abs_tol=1e-9), (name, c, got, base)


@pytest.mark.parametrize("name", NOT_INVARIANT)
@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_measure_that_is_not_scale_invariant_refuses_extreme_magnitudes(name, c):
    X, Y = _pair(name, 0, 30, 3)
    with pytest.raises(ValueError, match=r"^X: values too (large|small)"):
        measure(name).fn(c * X, c * Y)


@_SETTINGS
@given(seed=st.integers(0, 2**16), ex=st.integers(-250, 250), ey=st.integers(-250, 250))
def test_linear_hsic_is_exact_where_its_value_fits_float64(seed, ex, ey):
    # HSIC(a X, b Y) = a^2 b^2 HSIC(X, Y): computed on rescaled inputs, multiplied back exactly
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    base = kernels.hsic(X, Y)
    scale = 2 * ex + 2 * ey
    assume(-1000 < scale + math.frexp(base)[1] < 1000)
    assert math.isclose(kernels.hsic(2.0**ex * X, 2.0**ey * Y), math.ldexp(base, scale), rel_tol=1e-12)


@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_linear_hsic_refuses_a_value_outside_float64(c):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="^X: values too"):
        kernels.hsic(c * X, c * X)


@pytest.mark.parametrize("backend", ["torch", "faiss"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@_SETTINGS
@given(seed=st.integers(0, 2**16), n=st.integers(8, 40), d=st.integers(1, 6), k=st.integers(1, 6))
def test_knn_ids_do_not_move_from_1e_300_to_1e300(backend, metric, seed, n, d, k):
    X = np.random.default_rng(seed).normal(size=(n, d))
    k = min(k, n - 1)
    base = neighbors.knn(X, k, metric=metric, backend=backend)
    for c in (1e-300, 1e300):
        got = neighbors.knn(c * X, k, metric=metric, backend=backend)
        assert torch.equal(got.indices, base.indices), (c, got.indices, base.indices)
        scale = c if metric == "euclidean" else 1.0  # Euclidean distances scale back; cosine ones do not move
        assert torch.allclose(got.distances / scale, base.distances, rtol=1e-12, atol=1e-12)
