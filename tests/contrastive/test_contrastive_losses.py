"""Tilts, temperature and losses against plain-loop restatements, theorems and open_clip."""

import importlib.metadata
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from latentalign.contrastive import (
    ClipLoss,
    ConditionalLoss,
    JointLoss,
    SigLipLoss,
    Temperature,
    clip_loss,
    conditional_loss,
    joint_loss,
    scores,
    siglip_loss,
)

# float(loss) on a loss with learnable parameters is how these tests read values
pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True:UserWarning")


# --------------------------------------------------------------------------- plain-loop restatements
def loop_score(a, b, tilt, c):
    if tilt == "cosine":
        a, b = a / max(np.linalg.norm(a), 1e-8), b / max(np.linalg.norm(b), 1e-8)
        return c * sum(x * y for x, y in zip(a, b))
    if tilt == "inner":
        return c * sum(x * y for x, y in zip(a, b))
    return -0.5 * c * sum((x - y) ** 2 for x, y in zip(a, b))


def loop_scores(U, V, tilt, c):
    return [[loop_score(U[i], V[k], tilt, c) for k in range(len(V))] for i in range(len(U))]


def loop_conditional(S, lu, lv):
    N = len(S)
    total = 0.0
    for i in range(N):
        log_p_v_given_u = S[i][i] - math.log(sum(math.exp(S[i][k]) for k in range(N)))
        log_p_u_given_v = S[i][i] - math.log(sum(math.exp(S[k][i]) for k in range(N)))
        total += lu / 2 * log_p_u_given_v + lv / 2 * log_p_v_given_u
    return -total / N


def loop_joint(S, negatives):
    N = len(S)
    if negatives == "all":
        pairs = [(i, j) for i in range(N) for j in range(N)]
    elif negatives == "offdiag":
        pairs = [(i, j) for i in range(N) for j in range(N) if i != j]
    else:
        pairs = [(i, (i + 1) % N) for i in range(N)]
    mean_exp = sum(math.exp(S[i][j]) for i, j in pairs) / len(pairs)
    return -sum(S[i][i] for i in range(N)) / N + math.log(mean_exp)


def loop_siglip(S, b):
    N = len(S)
    total = 0.0
    for i in range(N):
        for k in range(N):
            y = 1.0 if i == k else -1.0
            total += math.log(1.0 / (1.0 + math.exp(-y * (S[i][k] + b))))
    return -total / N


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(5, 3)), rng.normal(size=(5, 3))


@pytest.mark.parametrize("tilt", ["cosine", "inner", "l2"])
def test_every_loss_equals_its_plain_loop_restatement(batch, tilt):
    U, V = batch
    tau = 0.5
    S = loop_scores(U, V, tilt, 1 / tau)
    zu, zv = torch.from_numpy(U), torch.from_numpy(V)
    np.testing.assert_allclose(scores(zu, zv, tilt, 1 / tau).numpy(), np.array(S), rtol=0, atol=1e-12)
    cases = [
        (ClipLoss(tilt=tilt, temperature=tau), loop_conditional(S, 1, 1)),
        (ConditionalLoss(2, 0, tilt=tilt, temperature=tau), loop_conditional(S, 2, 0)),
        (ConditionalLoss(0, 2, tilt=tilt, temperature=tau), loop_conditional(S, 0, 2)),
        (ConditionalLoss(0.3, 1.1, tilt=tilt, temperature=tau), loop_conditional(S, 0.3, 1.1)),
        (ConditionalLoss(tilt=tilt, temperature=tau, centered=True), loop_conditional(S, 1, 1) - math.log(5)),
        *[(JointLoss(neg, tilt=tilt, temperature=tau), loop_joint(S, neg)) for neg in ("offdiag", "all", "shuffle")],
    ]
    for loss, expected in cases:
        assert float(loss(zu, zv)) == pytest.approx(expected, abs=1e-12), loss
    siglip = SigLipLoss(tilt=tilt, temperature=tau, init_bias=-1.5).double()
    assert siglip(zu, zv).item() == pytest.approx(loop_siglip(S, -1.5), abs=1e-12)
    # the same values as plain functions of S
    St = torch.tensor(S, dtype=torch.float64)
    assert float(clip_loss(St)) == pytest.approx(loop_conditional(S, 1, 1), abs=1e-12)
    assert float(conditional_loss(St, 2, 0)) == pytest.approx(loop_conditional(S, 2, 0), abs=1e-12)
    assert float(joint_loss(St, "shuffle")) == pytest.approx(loop_joint(S, "shuffle"), abs=1e-12)
    assert float(siglip_loss(St, -1.5)) == pytest.approx(loop_siglip(S, -1.5), abs=1e-12)


def test_hand_computed_values():
    z = torch.eye(3, dtype=torch.float64)
    # S = I: p(v_i|u_i) = e / (e + 2) in both directions
    assert float(ClipLoss(temperature=1.0)(z, z)) == pytest.approx(-math.log(math.e / (math.e + 2)), abs=1e-15)
    # joint, offdiag: -1 + log(mean of six e^0) = -1
    assert float(JointLoss(temperature=1.0)(z, z)) == pytest.approx(-1.0, abs=1e-15)
    # SigLIP, b = 0: 3 positives log(1 + e^-1), 6 negatives log 2, divided by N = 3
    expected = (3 * math.log1p(math.exp(-1)) + 6 * math.log(2)) / 3
    assert float(siglip_loss(torch.eye(3))) == pytest.approx(expected, rel=1e-6)


def test_clip_minus_centred_conditional_is_log_n():  # Thm 2.8
    g = torch.Generator().manual_seed(1)
    for N in (2, 7, 64):
        zu = torch.randn(N, 4, generator=g, dtype=torch.float64)
        zv = torch.randn(N, 4, generator=g, dtype=torch.float64)
        diff = ClipLoss(temperature=0.2)(zu, zv) - ConditionalLoss(temperature=0.2, centered=True)(zu, zv)
        assert float(diff) == pytest.approx(math.log(N), abs=1e-10)


def test_conditional_weights_swap_with_the_modalities(batch):
    U, V = map(torch.from_numpy, batch)
    for lu, lv in [(2.0, 0.0), (0.5, 1.5), (1.0, 1.0)]:
        for tilt in ("cosine", "inner", "l2"):
            a = ConditionalLoss(lu, lv, tilt=tilt, temperature=0.3)(U, V)
            b = ConditionalLoss(lv, lu, tilt=tilt, temperature=0.3)(V, U)
            assert float(a) == pytest.approx(float(b), abs=1e-12)


def test_one_sided_losses_split_clip():
    """CLIP is the mean of the two one-sided losses (2, 0) and (0, 2)."""
    g = torch.Generator().manual_seed(2)
    zu, zv = torch.randn(9, 5, generator=g), torch.randn(9, 5, generator=g)
    clip = ClipLoss(temperature=0.1)(zu, zv)
    one_sided = ConditionalLoss(2, 0, temperature=0.1)(zu, zv) + ConditionalLoss(0, 2, temperature=0.1)(zu, zv)
    assert float(clip) == pytest.approx(float(one_sided) / 2, rel=1e-6)
    assert float(ConditionalLoss(2, 0, temperature=0.1)(zu, zv)) != pytest.approx(float(clip), rel=1e-3)


# --------------------------------------------------------------------------- properties
square_scores = st.integers(2, 64).flatmap(
    lambda n: arrays(np.float64, (n, n), elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False))
)


@given(square_scores, st.randoms(use_true_random=False))
def test_losses_are_invariant_to_permuting_pairs(S, rnd):
    perm = list(range(len(S)))
    rnd.shuffle(perm)
    P = S[np.ix_(perm, perm)]
    St, Pt = torch.from_numpy(S), torch.from_numpy(P)
    for fn in (clip_loss, lambda s: conditional_loss(s, 2, 0), lambda s: conditional_loss(s, 0.5, 1.0),
               lambda s: joint_loss(s, "offdiag"), lambda s: joint_loss(s, "all"), lambda s: siglip_loss(s, -3.0)):
        assert float(fn(St)) == pytest.approx(float(fn(Pt)), rel=1e-10, abs=1e-9)


@given(square_scores, st.floats(-100, 100))
def test_adding_a_constant_to_scores_changes_no_tilted_loss(S, c):
    St = torch.from_numpy(S)
    for fn in (clip_loss, lambda s: conditional_loss(s, 2, 0), lambda s: joint_loss(s, "offdiag"),
               lambda s: joint_loss(s, "all"), lambda s: joint_loss(s, "shuffle")):
        assert float(fn(St + c)) == pytest.approx(float(fn(St)), rel=1e-9, abs=1e-9)


@given(square_scores)
def test_centred_conditional_never_exceeds_joint_with_all_pairs(S):  # Jensen, Thm 3.10 empirically
    St = torch.from_numpy(S)
    joint = float(joint_loss(St, "all"))
    for lu, lv in [(1, 1), (2, 0), (0, 2), (0.4, 1.6)]:
        assert float(conditional_loss(St, lu, lv, centered=True)) <= joint + 1e-9
    assert float(clip_loss(St)) >= 0.0


@given(st.integers(2, 40), st.integers(1, 6), st.integers(0, 10_000), st.floats(0.05, 5.0))
def test_l2_tilt_on_unit_vectors_equals_cosine(n, e, seed, tau):
    g = torch.Generator().manual_seed(seed)
    zu = torch.nn.functional.normalize(torch.randn(n, e, generator=g, dtype=torch.float64), dim=1)
    zv = torch.nn.functional.normalize(torch.randn(n, e, generator=g, dtype=torch.float64), dim=1)
    for make in (lambda t: ClipLoss(tilt=t, temperature=tau), lambda t: ConditionalLoss(0, 2, tilt=t, temperature=tau),
                 lambda t: JointLoss("offdiag", tilt=t, temperature=tau)):
        assert float(make("l2")(zu, zv)) == pytest.approx(float(make("cosine")(zu, zv)), abs=1e-9)
    # the score matrices differ by exactly the constant c = 1 / tau
    diff = scores(zu, zv, "cosine", 1 / tau) - scores(zu, zv, "l2", 1 / tau)
    assert torch.allclose(diff, torch.full_like(diff, 1 / tau), atol=1e-10)


# --------------------------------------------------------------------------- temperature
def test_learnable_temperature_is_log_parameterised_and_clamped():
    t = Temperature()
    assert t.learnable and float(t.log_scale) == pytest.approx(2.659260, abs=1e-6)
    assert float(t()) == pytest.approx(1 / 0.07, rel=1e-6)
    with torch.no_grad():
        t.log_scale.fill_(6.0)
    assert float(t()) == pytest.approx(100.0, rel=1e-6)  # forward caps at max_scale
    t.clamp_()
    assert float(t.log_scale) == pytest.approx(math.log(100), rel=1e-6)
    with torch.no_grad():
        t.log_scale.fill_(-2.0)
    t.clamp_()
    assert float(t.log_scale) == 0.0
    # the scale is learned through the loss
    loss = ClipLoss()
    g = torch.Generator().manual_seed(0)
    loss(torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)).backward()
    assert loss.temperature.log_scale.grad is not None and float(loss.temperature.log_scale.grad) != 0.0


def test_fixed_temperature_is_a_buffer():
    loss = ClipLoss(temperature=0.25)
    assert float(loss.scale()) == pytest.approx(4.0, rel=1e-15)
    assert not list(loss.parameters())
    loss.clamp_()  # no-op
    assert float(loss.scale()) == pytest.approx(4.0, rel=1e-15)
    assert float(Temperature(200.0)()) == pytest.approx(0.005)  # a fixed scale below 1 is honoured


def test_siglip_initialisation_and_parameters():
    loss = SigLipLoss()
    assert float(loss.scale()) == pytest.approx(10.0, rel=1e-6) and float(loss.bias) == -10.0
    assert {n for n, _ in loss.named_parameters()} == {"temperature.log_scale", "bias"}


def test_cli_loss_names():
    from latentalign.contrastive.cli import parse_loss

    assert isinstance(parse_loss("clip"), ClipLoss)
    cond = parse_loss("cond:2,0", tilt="inner", temperature=1.0)
    assert (cond.lambda_u, cond.lambda_v, cond.tilt) == (2.0, 0.0, "inner")
    assert parse_loss("joint").negatives == "offdiag" and parse_loss("joint:shuffle").negatives == "shuffle"
    assert isinstance(parse_loss("siglip"), SigLipLoss)
    for bad in ("clips", "cond:1", "cond:a,b", "joint:none"):
        with pytest.raises(ValueError, match="^(loss|negatives):"):
            parse_loss(bad)


@pytest.mark.parametrize("home", ["latentalign.contrastive", "latentalign.contrastive.losses"])
def test_build_loss_is_a_deprecated_alias_of_the_cli_parser(home):
    import importlib

    from latentalign.contrastive.cli import parse_loss

    message = "'build_loss' is deprecated, use 'latentalign.contrastive.cli.parse_loss'"
    with pytest.warns(DeprecationWarning, match=message):
        build_loss = importlib.import_module(home).build_loss
    assert build_loss is parse_loss


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make, z_u, z_v, match",
    [
        (ClipLoss, torch.zeros(4), torch.zeros(4, 2), "^z_u: expected a 2-D"),
        (ClipLoss, torch.ones(4, 2), torch.ones(5, 2), "^z_v: expected the same number of samples"),
        (ClipLoss, torch.ones(4, 2), torch.ones(4, 3), "^z_v: expected the embedding width"),
        (ClipLoss, torch.ones(4, 2), torch.ones(4, 2, dtype=torch.float64), "^z_v: dtype"),
        (JointLoss, torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), torch.ones(2, 2), "^z_u: contains 1 non-finite"),
        (SigLipLoss, torch.ones(2, 2), torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), "^z_v: contains"),
        (ClipLoss, torch.ones(1, 2), torch.ones(1, 2), "^z_u: needs at least 2 samples"),
    ],
)
def test_bad_embeddings_name_the_argument(make, z_u, z_v, match):
    with pytest.raises(ValueError, match=match):
        make()(z_u, z_v)


def test_bad_hyper_parameters_name_the_argument():
    for tau in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="^temperature:"):
            ClipLoss(temperature=tau)
    with pytest.raises(TypeError, match="^temperature:"):
        ClipLoss(temperature="hot")
    with pytest.raises(ValueError, match="^lambda_u:"):
        ConditionalLoss(-1.0, 1.0)
    with pytest.raises(ValueError, match="^lambda_u: lambda_u and lambda_v are both 0"):
        ConditionalLoss(0.0, 0.0)
    with pytest.raises(ValueError, match="^tilt:"):
        ClipLoss(tilt="dot")
    with pytest.raises(ValueError, match="^negatives:"):
        JointLoss("random")
    with pytest.raises(ValueError, match="^gather:"):
        ClipLoss(gather="yes")
    with pytest.raises(ValueError, match="^S: expected a square"):
        clip_loss(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="^scale:"):
        scores(torch.ones(2, 2), torch.ones(2, 2), "cosine", 0.0)


# --------------------------------------------------------------------------- open_clip, the peer
def _open_clip_losses():
    """``open_clip/loss.py`` loaded alone by path (the package imports torchvision, which
    cannot be imported beside this torch); skip when open-clip-torch is not installed."""
    try:
        dist = importlib.metadata.distribution("open_clip_torch")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("open-clip-torch is not installed")
    path = Path(dist.locate_file("open_clip/loss.py"))
    if not path.is_file():
        pytest.skip(f"open-clip-torch is installed but {path} is missing")
    spec = importlib.util.spec_from_file_location("_open_clip_loss_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaves(n=48, e=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, e, generator=g).requires_grad_(), torch.randn(n, e, generator=g).requires_grad_())


def _assert_close(ours, theirs):
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)


def test_clip_loss_equals_open_clip():
    oc = _open_clip_losses()
    img, txt = _leaves()
    ours = ClipLoss()  # u = image, v = text; learnable t = log(1/0.07)
    with torch.no_grad():
        ours.temperature.log_scale.fill_(math.log(20.0))
    loss = ours(img, txt)
    loss.backward()
    g_ours = (img.grad.clone(), txt.grad.clone(), ours.temperature.log_scale.grad.clone())

    img2, txt2 = (x.detach().clone().requires_grad_() for x in (img, txt))
    t = torch.tensor(math.log(20.0), requires_grad=True)
    nf = torch.nn.functional.normalize
    theirs = oc.ClipLoss()(nf(img2, dim=-1), nf(txt2, dim=-1), t.exp())
    theirs.backward()
    _assert_close(loss.detach(), theirs.detach())
    for a, b in zip(g_ours, (img2.grad, txt2.grad, t.grad)):
        _assert_close(a, b)


def test_siglip_loss_equals_open_clip():
    oc = _open_clip_losses()
    img, txt = _leaves(seed=1)
    ours = SigLipLoss(init_scale=10.0, init_bias=-10.0)
    with torch.no_grad():  # a trained-looking state: positives and negatives both matter
        ours.temperature.log_scale.fill_(math.log(5.0))
        ours.bias.fill_(-2.0)
    loss = ours(img, txt)
    loss.backward()
    g_ours = (img.grad.clone(), txt.grad.clone(), ours.temperature.log_scale.grad.clone(), ours.bias.grad.clone())

    img2, txt2 = (x.detach().clone().requires_grad_() for x in (img, txt))
    t, b = torch.tensor(math.log(5.0), requires_grad=True), torch.tensor(-2.0, requires_grad=True)
    nf = torch.nn.functional.normalize
    theirs = oc.SigLipLoss()(nf(img2, dim=-1), nf(txt2, dim=-1), t.exp(), b)
    theirs.backward()
    _assert_close(loss.detach(), theirs.detach())
    for a, g in zip(g_ours, (img2.grad, txt2.grad, t.grad, b.grad)):
        _assert_close(a, g)


def test_return_terms_gives_the_named_terms_and_the_loss():
    z_u = torch.randn(6, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z_v = torch.randn(6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    S = torch.nn.functional.normalize(z_u, dim=1) @ torch.nn.functional.normalize(z_v, dim=1).T  # tau = 1
    nll_v_given_u = -torch.log_softmax(S, dim=1).diagonal().mean()
    nll_u_given_v = -torch.log_softmax(S, dim=0).diagonal().mean()
    t = ConditionalLoss(2.0, 0.5, temperature=1.0, centered=True)(z_u, z_v, return_terms=True)
    assert set(t) == {"loss", "u_given_v", "v_given_u"}
    assert t["v_given_u"].item() == pytest.approx(nll_v_given_u.item())
    assert t["u_given_v"].item() == pytest.approx(nll_u_given_v.item())
    assert t["loss"].item() == pytest.approx((nll_u_given_v + 0.25 * nll_v_given_u - 1.25 * math.log(6)).item())
    assert set(ConditionalLoss(0.0, 2.0, temperature=1.0)(z_u, z_v, return_terms=True)) == {"loss", "v_given_u"}
    t = JointLoss("all", temperature=1.0)(z_u, z_v, return_terms=True)
    assert t["positive"].item() == pytest.approx(-S.diagonal().mean().item())
    assert t["negative"].item() == pytest.approx((torch.logsumexp(S.flatten(), 0) - math.log(36)).item())
    assert t["loss"].item() == pytest.approx(JointLoss("all", temperature=1.0)(z_u, z_v).item())
    siglip = SigLipLoss()
    assert siglip(z_u, z_v, return_terms=True)["loss"].item() == pytest.approx(siglip(z_u, z_v).item())
