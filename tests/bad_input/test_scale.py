"""Scale handling (issue 13 item 2) of the training side.

Cosine losses and scores are invariant to a global rescaling of their embeddings: they rescale
by exact powers of two before taking norms, so ``f(c z_u, c z_v) == f(z_u, z_v)`` for ``c`` in
{1e-150, 1, 1e150} (and beyond). Losses of squared terms are not invariant: they refuse values
whose squares overflow. KSM normalises its data after the same exact rescaling.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latentalign import contrastive as con
from latentalign.ksm import KernelSimilarityMatching
from latentalign.ssl import losses as ssl

SCALES = (1e-150, 1.0, 1e150)

COSINE_LOSSES = {
    "clip": lambda a, b: con.ClipLoss(temperature=0.07)(a, b),
    "conditional-2-0": lambda a, b: con.ConditionalLoss(2.0, 0.0, temperature=0.5)(a, b),
    "joint-all": lambda a, b: con.JointLoss("all", temperature=0.2)(a, b),
    "siglip": lambda a, b: con.SigLipLoss(temperature=0.1)(a, b),
    "ntxent": lambda a, b: ssl.NTXentLoss(0.3)(a, b),
    "byol": lambda a, b: ssl.BYOLLoss()(a, b, b, a),
    "scores": lambda a, b: con.scores(a, b, scale=3.0).sum(),
}


def _pair(seed: int, n: int, e: int):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, e, generator=g, dtype=torch.float64)
    return a, a + 0.5 * torch.randn(n, e, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(COSINE_LOSSES))
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 9), e=st.integers(1, 6), c=st.sampled_from(SCALES))
def test_cosine_losses_are_scale_invariant(name, seed, n, e, c):
    loss = COSINE_LOSSES[name]
    a, b = _pair(seed, n, e)
    assert math.isclose(float(loss(c * a, c * b)), float(loss(a, b)), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_cosine_losses_hold_at_the_ends_of_float64(c):
    a, b = _pair(0, 6, 3)
    for name, loss in COSINE_LOSSES.items():
        assert math.isclose(float(loss(c * a, c * b)), float(loss(a, b)), rel_tol=1e-9, abs_tol=1e-12), name


def test_rescaling_keeps_the_gradient():
    a, b = _pair(1, 5, 3)
    grads = []
    for c in (1.0, 2.0**40):
        x = (c * a).requires_grad_()
        con.ClipLoss(temperature=0.1)(x, b).backward()
        grads.append(x.grad * c)  # d l(c a) / d(c a) = grad_a l(a) / c
    assert grads[0].abs().sum() > 0 and torch.allclose(grads[0], grads[1], rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), exponent=st.integers(155, 300))
def test_squared_losses_refuse_overflow_and_name_the_input(seed, exponent):
    a, b = _pair(seed, 4, 3)
    for call, arg in ((lambda: ssl.VICRegLoss()(a * 10.0**exponent, b), "z1"),
                      (lambda: ssl.DenoisingLoss()(a, b * 10.0**exponent), "x"),
                      (lambda: con.ClipLoss(tilt="inner", temperature=1.0)(a * 10.0**exponent, b), "z_u")):
        with pytest.raises(ValueError, match=f"^{arg}: values up to .* overflow"):
            call()


def test_squared_losses_are_exact_below_the_overflow_limit():
    a, b = _pair(2, 6, 3)
    c = 2.0**500  # squares 2**1000: representable, and a power of two keeps every rounding
    assert float(ssl.invariance_loss(c * a, c * b)) == float(ssl.invariance_loss(a, b)) * c * c


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 50 iterations: the same on both
@pytest.mark.parametrize("c", [1e-150, 1e150, 1e300])
def test_ksm_fit_is_scale_invariant(c):
    X = np.random.default_rng(3).normal(size=(25, 4))
    ref = KernelSimilarityMatching(random_state=0, max_iter=50).fit(X)
    est = KernelSimilarityMatching(random_state=0, max_iter=50).fit(X * c)
    assert np.allclose(est.embedding_, ref.embedding_, atol=1e-8)
    assert math.isclose(est.scale_ / c, ref.scale_, rel_tol=1e-12)
    assert np.allclose(est.inverse_transform(est.embedding_[:3]) / c, ref.inverse_transform(ref.embedding_[:3]),
                       atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ksm_fit_command_writes_the_same_latents_for_data_scaled_by_1e300(tmp_path):
    from latentalign.cli import main

    X = np.random.default_rng(4).normal(size=(20, 3))
    latents = []
    for c in (1.0, 1e300):
        np.save(tmp_path / f"x{c:g}.npy", X * c)
        argv = ["ksm", "fit", str(tmp_path / f"x{c:g}.npy"), "--out", str(tmp_path / f"m{c:g}.pt"), "--max-iter", "30",
                "--embedding", str(tmp_path / f"z{c:g}.npy")]
        assert main(argv) == 0
        latents.append(np.load(tmp_path / f"z{c:g}.npy"))
    assert np.isfinite(latents[1]).all() and np.allclose(latents[1], latents[0], atol=1e-8)
