"""LCC loss values on the spec's hand-made example (checks 3, 4) and their invariances (check 8)."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from latentalign.lcc import ExactLCCLoss, RandomizedLCCLoss, cluster_latents, lcc_loss
from latentalign.lcc.losses import lcc_distances, pack_banks

BANK_A = torch.tensor([[0.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
BANK_B = torch.tensor([[10.0, 0.0]], dtype=torch.float64)
TARGETS = {0: [BANK_A, BANK_B]}


def _mc_latents():
    return torch.tensor([[4.0, 0.0], [9.0, 0.0]], dtype=torch.float64, requires_grad=True)


def test_exact_loss_value_and_gradient():
    u = _mc_latents()
    L = ExactLCCLoss(k_target=2)(u, torch.tensor([0, 0]), torch.tensor([True, True]), TARGETS)
    # (4,0): target (1,0) at 3, (10,0) at 6 -> 3/sqrt2; (9,0): (1,0) at 8, (10,0) at 1 -> 1/sqrt2; mean sqrt2
    assert L.item() == pytest.approx(math.sqrt(2), abs=1e-6)
    L.backward()
    g = 1 / (2 * math.sqrt(2))  # d/du of ||u - t|| / (|S| sqrt D) = unit vector / (2 sqrt 2)
    assert torch.allclose(u.grad, torch.tensor([[g, 0.0], [-g, 0.0]], dtype=torch.float64), atol=1e-8)
    assert g == pytest.approx(0.35355339, abs=1e-8)


def test_divides_by_the_mc_count_not_the_batch():
    u = torch.tensor([[4.0, 0.0], [9.0, 0.0], [1.0, 0.0], [50.0, 0.0]], dtype=torch.float64)
    mc = torch.tensor([True, True, False, False])
    assert lcc_loss(u, torch.tensor([0, 0, 0, 0]), mc, TARGETS, 2).item() == pytest.approx(math.sqrt(2))
    # an ignored label and a targetless class (1: no bank) leave S as well
    labels = torch.tensor([0, 0, -1, 1])
    assert lcc_loss(u, labels, torch.ones(4, dtype=torch.bool), TARGETS, 2).item() == pytest.approx(math.sqrt(2))


def test_no_mc_sample_gives_zero_loss_and_zero_gradient():
    u = _mc_latents()
    L = ExactLCCLoss(2)(u, torch.tensor([0, 0]), torch.tensor([False, False]), TARGETS)
    L.backward()
    assert L.item() == 0.0 and u.grad is not None and (u.grad == 0).all()


def test_gradient_is_finite_at_zero_distance():
    u = torch.tensor([[10.0, 0.0]], dtype=torch.float64, requires_grad=True)
    L = ExactLCCLoss(1)(u, torch.tensor([0]), torch.tensor([True]), TARGETS)
    L.backward()
    assert L.item() == 0.0 and torch.isfinite(u.grad).all()


class _State:
    """The two fields ``RandomizedLCCLoss.targets`` reads."""

    banks = {0: BANK_A, 1: BANK_B}
    matching = torch.tensor([0, 0])


def test_randomized_loss_value_and_seeded_draws():
    loss = RandomizedLCCLoss(n_per_cluster=1000, seed=3)
    targets = loss.targets(_State(), epoch=2)
    assert targets[0][0].shape == (2000, 2)
    L = loss(_mc_latents(), torch.tensor([0, 0]), torch.tensor([True, True]), targets)
    # nearest draws: (2,0) at 2 and (10,0) at 1 -> (2 + 1) / (2 sqrt 2)
    assert L.item() == pytest.approx(1.5 / math.sqrt(2), abs=1e-6)
    again = RandomizedLCCLoss(n_per_cluster=1000, seed=3).targets(_State(), epoch=2)
    assert torch.equal(again[0][0], targets[0][0])
    other = RandomizedLCCLoss(n_per_cluster=1000, seed=3).targets(_State(), epoch=3)
    assert not torch.equal(other[0][0], targets[0][0])  # generator seeded with seed + epoch


def test_randomized_draws_do_not_touch_the_global_rng():
    torch.manual_seed(0)
    expect = torch.rand(3)
    torch.manual_seed(0)
    RandomizedLCCLoss(50).targets(_State(), epoch=0)
    assert torch.equal(torch.rand(3), expect)


@given(st.integers(0, 10_000), st.integers(1, 4))
def test_loss_is_nonnegative_and_invariant_to_duplicated_features(seed, k):
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(60, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (60,), generator=g)
    state = cluster_latents(Z, y, 3, k=5, metrics=False)
    u = torch.randn(12, 3, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (12,), generator=g)
    mc = torch.rand(12, generator=g) < 0.7
    targets = state.class_banks()
    L = lcc_loss(u, labels, mc, targets, k)
    assert L.item() >= 0
    doubled = {a: [torch.cat([b, b], 1) for b in banks] for a, banks in targets.items()}
    L2 = lcc_loss(torch.cat([u, u], 1), labels, mc, doubled, k)
    assert L2.item() == pytest.approx(L.item(), rel=1e-9, abs=1e-12)


def _loss_one_bank_at_a_time(u, labels, mc, targets, k):
    """The spec's formula written out: per MC sample, per bank of its class, mean of the k nearest, then min."""
    terms = []
    for i in range(u.shape[0]):
        banks = targets.get(int(labels[i]), [])
        if not mc[i] or labels[i] < 0 or not banks:
            continue
        per_bank = []
        for bank in banks:
            near = torch.argsort(((bank - u[i].detach()) ** 2).sum(1))[: min(k, bank.shape[0])]
            per_bank.append(torch.linalg.vector_norm(u[i] - bank[near].mean(0)) / math.sqrt(u.shape[1]))
        terms.append(torch.stack(per_bank).min())
    return torch.stack(terms).mean() if terms else u.sum() * 0


@given(st.integers(0, 10_000), st.integers(1, 6))
def test_batched_loss_equals_the_formula_one_bank_at_a_time(seed, k):
    g = torch.Generator().manual_seed(seed)
    # classes 0..3 own 1-3 banks of 1-9 members (some smaller than k); class 4 owns none; label -1 is ignored
    targets = {a: [torch.randn(int(torch.randint(1, 10, (1,), generator=g)), 3, generator=g, dtype=torch.float64)
                   for _ in range(int(torch.randint(1, 4, (1,), generator=g)))] for a in range(4)}
    u = torch.randn(20, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(-1, 6, (20,), generator=g)
    mc = torch.rand(20, generator=g) < 0.8
    L = lcc_loss(u, labels, mc, targets, k)
    (grad,) = torch.autograd.grad(L, u)
    v = u.detach().clone().requires_grad_(True)
    expect = _loss_one_bank_at_a_time(v, labels, mc, targets, k)
    (expect_grad,) = torch.autograd.grad(expect, v)
    assert L.item() == pytest.approx(expect.item(), rel=1e-12, abs=1e-12)
    assert torch.allclose(grad, expect_grad, atol=1e-12)
    assert lcc_loss(u, labels, mc, pack_banks(targets), k).item() == L.item()  # packed once, same value


def test_distances_to_a_plain_list_of_banks():
    d = lcc_distances(_mc_latents(), [BANK_A, BANK_B], 2)
    expect = torch.tensor([[3.0, 6.0], [8.0, 1.0]], dtype=torch.float64) / math.sqrt(2)
    assert torch.allclose(d, expect)
    with pytest.raises(ValueError, match="^banks: expected non-empty"):
        pack_banks([BANK_A, torch.zeros(0, 2)])
    with pytest.raises(ValueError, match="^banks: expected at least one"):
        pack_banks({})


def test_latent_dimension_must_match_the_banks():
    with pytest.raises(ValueError, match="^latents: expected 2 features"):
        ExactLCCLoss(2)(torch.zeros(2, 3), torch.tensor([0, 0]), torch.tensor([True, True]), TARGETS)
    with pytest.raises(ValueError, match="^k_target"):
        ExactLCCLoss(0)
    with pytest.raises(ValueError, match="^n_per_cluster"):
        RandomizedLCCLoss(0)
