"""Deep SSL losses (spec ssl.md §4, checks 9-12): hand values, direct restatements, lightly."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from latentalign.ssl.linear import joint_embedding_closed_form, principal_angles
from latentalign.ssl.losses import (
    EMA,
    BYOLLoss,
    DenoisingLoss,
    LinearJELoss,
    MaskedReconstructionLoss,
    NTXentLoss,
    VICRegLoss,
    byol_predictor,
    covariance_loss,
    invariance_loss,
    variance_loss,
)

Z1 = torch.tensor([[1.0, 2.0], [3.0, 0.0], [-1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
Z2 = torch.tensor([[0.0, 2.0], [3.0, 1.0], [-1.0, 0.0], [2.0, 1.0]], dtype=torch.float64)


def _randn(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- VICReg
def test_vicreg_hand_computed_example():
    assert invariance_loss(Z1, Z2).item() == pytest.approx(0.5)
    # column 2 of each view has unbiased variance 2/3: relu(1 - sqrt(2/3 + 1e-4)) / 2 dims
    expected_var = (1 - math.sqrt(2 / 3 + 1e-4)) / 2
    assert variance_loss(Z1).item() == pytest.approx(expected_var) == pytest.approx(0.0917211, abs=1e-7)
    assert variance_loss(Z2).item() == pytest.approx(0.0917211, abs=1e-7)
    assert covariance_loss(Z1).item() == pytest.approx(4 / 9) and covariance_loss(Z2).item() == pytest.approx(1 / 9)
    terms = VICRegLoss()(Z1, Z2, return_terms=True)
    loss = terms["loss"]
    assert loss.item() == pytest.approx(25 * 0.5 + 25 * expected_var + 5 / 9) == pytest.approx(15.34858, abs=1e-5)
    summed = VICRegLoss(var_reduction="sum")(Z1, Z2)
    assert summed.item() == pytest.approx(loss.item() + 25 * expected_var)
    assert set(terms) == {"loss", "invariance", "variance", "covariance"}
    assert terms["loss"].item() == pytest.approx(float(25 * terms["invariance"] + 25 * terms["variance"]
                                                       + terms["covariance"]))


def _vicreg_restated(z1, z2, eps=1e-4):
    """Entry-by-entry loops: the definitions of the spec, nothing shared with the library."""
    B, D = len(z1), len(z1[0])
    inv = sum((z1[b][j] - z2[b][j]) ** 2 for b in range(B) for j in range(D)) / (B * D)

    def var(z):
        total = 0.0
        for j in range(D):
            m = sum(z[b][j] for b in range(B)) / B
            v = sum((z[b][j] - m) ** 2 for b in range(B)) / (B - 1)
            total += max(0.0, 1 - math.sqrt(v + eps))
        return total / D

    def cov(z):
        m = [sum(z[b][j] for b in range(B)) / B for j in range(D)]
        total = 0.0
        for i in range(D):
            for j in range(D):
                if i != j:
                    c = sum((z[b][i] - m[i]) * (z[b][j] - m[j]) for b in range(B)) / (B - 1)
                    total += c**2
        return total / D

    return 25 * inv + 25 * (var(z1) + var(z2)) / 2 + cov(z1) + cov(z2)


def test_vicreg_equals_a_direct_restatement():
    z1, z2 = _randn(6, 4, seed=1) * 0.7, _randn(6, 4, seed=2) * 1.3
    expected = _vicreg_restated(z1.tolist(), z2.tolist())
    assert VICRegLoss()(z1, z2).item() == pytest.approx(expected, rel=1e-12)


def _load_lightly_file(relative: str):
    """Load one file of an installed lightly by path, without importing the package
    (lightly's package ``__init__`` chain imports torchvision, broken beside this torch)."""
    spec = importlib.util.find_spec("lightly")  # top-level find_spec does not run __init__
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lightly is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    file_spec = importlib.util.spec_from_file_location(f"_lightly_{path.stem}", path)
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("shape, seed", [((8, 5), 0), ((32, 16), 1), ((256, 128), 2)])
def test_vicreg_equals_lightly(shape, seed):
    lightly_vicreg = _load_lightly_file("loss/vicreg_loss.py").VICRegLoss()
    z1 = _randn(*shape, seed=seed).float() * 0.5
    z2 = (z1 + 0.3 * _randn(*shape, seed=seed + 10).float()).requires_grad_()
    z1.requires_grad_()
    ours = VICRegLoss()(z1, z2)
    ref = lightly_vicreg(z1, z2)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-6, abs=1e-6)
    g_ours = torch.autograd.grad(ours, (z1, z2))
    g_ref = torch.autograd.grad(ref, (z1, z2))
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def test_vicreg_rejects_bad_batches_and_keeps_float32_statistics():
    with pytest.raises(ValueError, match="^z1: needs a batch of at least 2"):
        VICRegLoss()(torch.ones(1, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match="^z2: expected the shape of z1"):
        VICRegLoss()(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match="^z1: expected a \\(batch, dim\\)"):
        VICRegLoss()(torch.ones(4), torch.ones(4))
    with pytest.raises(ValueError, match="^var_reduction"):
        VICRegLoss(var_reduction="median")
    z = (_randn(64, 8, seed=3) * 1e-3).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = VICRegLoss()(z, z.flip(0))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert loss.item() == pytest.approx(VICRegLoss()(z.float(), z.flip(0).float()).item(), rel=1e-6)


# ---------------------------------------------------------------- NT-Xent
def test_nt_xent_hand_value():
    assert NTXentLoss(0.5)(torch.eye(2), torch.eye(2)).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)), abs=1e-7)


def test_nt_xent_equals_a_direct_restatement():
    z1, z2 = _randn(5, 3, seed=4), _randn(5, 3, seed=5)
    t = 0.3
    z = [v / np.linalg.norm(v) for v in np.vstack([z1.numpy(), z2.numpy()])]
    n = len(z)
    terms = []
    for i in range(n):
        partner = (i + 5) % n
        denom = sum(math.exp(float(z[i] @ z[j]) / t) for j in range(n) if j != i)
        terms.append(-math.log(math.exp(float(z[i] @ z[partner]) / t) / denom))
    assert NTXentLoss(t)(z1, z2).item() == pytest.approx(np.mean(terms), rel=1e-12)
    with pytest.raises(ValueError, match="^temperature"):
        NTXentLoss(0.0)


# ---------------------------------------------------------------- BYOL
def test_byol_hand_values_and_stop_gradient():
    z = _randn(6, 4, seed=6)
    other = torch.stack([-z[:, 1], z[:, 0], -z[:, 3], z[:, 2]], dim=1)  # orthogonal to each row of z
    loss = BYOLLoss()
    assert loss(z, z, z, z).item() == pytest.approx(0.0, abs=1e-12)
    assert loss(-z, -z, z, z).item() == pytest.approx(4.0)
    assert loss(other, other, z, z).item() == pytest.approx(2.0)
    p = _randn(6, 4, seed=7).requires_grad_()
    target = z.clone().requires_grad_()
    loss(p, p, target, target).backward()
    assert target.grad is None and p.grad.abs().sum() > 0


def test_ema_momentum_schedule_and_update():
    online = torch.nn.Linear(2, 2)
    ema = EMA(online, base_momentum=0.9)
    assert ema.momentum(0, 10) == pytest.approx(0.9) and ema.momentum(10, 10) == pytest.approx(1.0)
    assert ema.momentum(5, 10) == pytest.approx(0.95)
    before = ema.target.weight.detach().clone()
    with torch.no_grad():
        online.weight.add_(1.0)
    m = ema.update(0, 10)
    assert torch.allclose(ema.target.weight, m * before + (1 - m) * online.weight)
    assert not any(p.requires_grad for p in ema.target.parameters())
    assert byol_predictor(16)(torch.zeros(3, 16)).shape == (3, 16)


# ---------------------------------------------------------------- reconstruction
def test_denoising_loss_is_the_mean_squared_norm():
    x_hat, x = _randn(4, 3, seed=8), _randn(4, 3, seed=9)
    expected = np.mean([float(((x_hat[i] - x[i]) ** 2).sum()) for i in range(4)])
    assert DenoisingLoss()(x_hat, x).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="^x_hat: expected the shape of x"):
        DenoisingLoss()(x_hat, x[:, :2])


@pytest.mark.parametrize("shape, patch, ratio", [((5, 20), None, 0.5), ((5, 20), 4, 0.4), ((3, 2, 8, 8), None, 0.5),
                                                 ((3, 1, 8, 8), 2, 0.75)])
def test_masks_hide_exactly_round_ratio_units(shape, patch, ratio):
    loss = MaskedReconstructionLoss(ratio, patch=patch)
    x = _randn(*shape, seed=10) + 5
    xm, mask = loss.mask(x, torch.Generator().manual_seed(0))
    if len(shape) == 2:
        units = shape[1] // (patch or 1)
        per_sample = mask.reshape(shape[0], units, -1)[:, :, 0].sum(dim=1)
    else:
        p = patch or 1
        units = (shape[2] // p) * (shape[3] // p)
        per_sample = mask[:, 0, ::p, ::p].reshape(shape[0], -1).sum(dim=1)
        assert torch.equal(mask, mask[:, :1].expand_as(mask))  # a pixel hides all its channels
    assert per_sample.tolist() == [round(ratio * units)] * shape[0]
    assert torch.all(xm[mask] == 0) and torch.equal(xm[~mask], x[~mask])
    # the loss only sees hidden units: zero gradient on visible ones
    x_hat = torch.zeros_like(x, requires_grad=True)
    value = loss(x_hat, x, mask)
    value.backward()
    assert torch.all(x_hat.grad[~mask] == 0) and torch.all(x_hat.grad[mask] != 0)
    assert value.item() == pytest.approx(float((x[mask] ** 2).mean()))


def test_masked_loss_with_normalised_patch_targets():
    x = _randn(2, 1, 4, 4, seed=11)
    loss = MaskedReconstructionLoss(0.5, patch=2, norm_target=True)
    _, mask = loss.mask(x, torch.Generator().manual_seed(1))
    target = x.clone()
    for b in range(2):
        for i in range(0, 4, 2):
            for j in range(0, 4, 2):
                patch = x[b, 0, i:i + 2, j:j + 2]
                target[b, 0, i:i + 2, j:j + 2] = (patch - patch.mean()) / (patch.var() + 1e-6).sqrt()
    x_hat = _randn(2, 1, 4, 4, seed=12)
    assert loss(x_hat, x, mask).item() == pytest.approx(float(((x_hat - target)[mask] ** 2).mean()))
    with pytest.raises(ValueError, match="^norm_target"):
        MaskedReconstructionLoss(0.5, norm_target=True)(x_hat, x, mask)
    with pytest.raises(ValueError, match="^mask_ratio"):
        MaskedReconstructionLoss(1.0)


# ---------------------------------------------------------------- linear JE (Thm 3.2)
def test_linear_je_loss_minimiser_spans_the_closed_form_row_space():
    """Views with exact moments: (x̄ + s1·c·L_j, x̄ + s2·c·L_{j+1}), c² = d, all sign pairs, give
    E‖Wτ1 − Wτ2‖² = 2Tr(WΣWᵀ) and E[ττᵀ] = x̄x̄ᵀ + Σ exactly, so LinearJELoss is Thm 3.2's objective."""
    rng = np.random.default_rng(0)
    n, d, k = 300, 6, 2
    X = rng.normal(size=(n, d)) * np.linspace(2.0, 0.5, d)
    A = rng.normal(size=(d, d))
    Sigma = A @ A.T / d + 0.2 * np.eye(d)
    L = np.linalg.cholesky(Sigma) * np.sqrt(d)
    v1, v2 = [], []
    for j in range(d):
        for s1 in (-1, 1):
            for s2 in (-1, 1):
                v1.append(X + s1 * L[:, j])
                v2.append(X + s2 * L[:, (j + 1) % d])
    x1, x2 = torch.as_tensor(np.vstack(v1)), torch.as_tensor(np.vstack(v2))
    W = (0.1 * _randn(k, d, seed=13)).requires_grad_()
    loss = LinearJELoss(whitening_weight=5.0)
    opt = torch.optim.LBFGS([W], max_iter=5000, tolerance_grad=1e-14, tolerance_change=1e-16, history_size=50,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        value = loss(x1 @ W.T, x2 @ W.T)
        value.backward()
        return value

    for _ in range(3):
        opt.step(closure)
    assert principal_angles(W.detach(), joint_embedding_closed_form(X, Sigma, k).W).max() < 1e-3
