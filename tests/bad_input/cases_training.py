"""Losses (ssl, contrastive), KSM, LCC, models and training helpers on every family of bad input.

Scale: the cosine losses and KSM give the same value on ``c X`` for ``c`` from 1e-300 to 1e300;
losses that are not scale-invariant (squared terms, inner-product tilts) refuse values whose
squares overflow and compute tiny values correctly.
"""

import math
import pathlib
import tempfile

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from latentalign import contrastive as con
from latentalign.ksm import KernelSimilarityMatching
from latentalign.ksm.io import load_model, save_model
from latentalign.lcc import (
    ClusterCorrection,
    ExactLCCLoss,
    RandomizedLCCLoss,
    contingency,
    detect_communities,
    knn_graph,
    knn_indices,
    lcc_loss,
    match_clusters,
    pack_banks,
    pca_project,
    shuffle_communities,
)
from latentalign.lcc.metrics import loo_knn_accuracy
from latentalign.models import LayerRecorder, build_model, pool_tokens
from latentalign.models.batches import unpack_batch
from latentalign.ssl import losses as ssl
from latentalign.train import make_loader, seed_everything
from latentalign.train.augment import random_shift

from .harness import Case

_g = torch.Generator().manual_seed(0)
Z1 = torch.randn(8, 4, generator=_g, dtype=torch.float64)
Z2 = Z1 + 0.3 * torch.randn(8, 4, generator=_g, dtype=torch.float64)
NAN = Z1.clone()
NAN[2, 1] = float("nan")
INF = Z2.clone()
INF[0, 0] = float("inf")
S = Z1 @ Z2.T
X = np.random.default_rng(0).normal(size=(30, 3))
Y = np.arange(30) % 3
BANKS = {0: [Z1[:4].clone()], 1: [Z2[4:].clone()]}
_BANKS_400 = {a: [b[0] * 2.0**400] for a, b in BANKS.items()}  # distances scale with u: exact by a power of 2
LAB, MC = torch.tensor([0, 1] * 4), torch.ones(8, dtype=torch.bool)
GRAPH = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0.0]]))


def _value(t) -> float:
    return float(t.detach()) if isinstance(t, torch.Tensor) else float(t)


def _scaled(f, *args, scale):
    """The loss on inputs scaled by ``scale`` (checked against the unscaled value by ``_equal_to``)."""
    return lambda: _value(f(*(a * scale for a in args)))


def _equal_to(f, *args):
    ref = _value(f(*args))
    return lambda v: math.isclose(_value(v), ref, rel_tol=1e-9)


def _clip(z_u, z_v, **kw):
    return con.ClipLoss(temperature=0.1, **kw)(z_u, z_v)


def _ksm_embedding(scale):
    return KernelSimilarityMatching(random_state=0, max_iter=200).fit(X * scale).embedding_


_KSM_REF = None


def _ksm_matches(E):
    global _KSM_REF
    if _KSM_REF is None:
        _KSM_REF = _ksm_embedding(1.0)
    return np.allclose(E, _KSM_REF, atol=1e-8)


_TMP = tempfile.TemporaryDirectory(prefix="latentalign-bad-input-")  # removed at exit
TMP = pathlib.Path(_TMP.name)
(TMP / "garbage.pt").write_bytes(b"not a torch file " * 20)
(TMP / "afile").write_text("a file, not a folder")
(TMP / "adir.pt").mkdir()
torch.save(torch.ones(2, 2), TMP / "tensor.pt")


def _fitted_ksm():
    return KernelSimilarityMatching(max_iter=5).fit(X)


def _fit(model, **kw):
    from latentalign.train import fit_classifier

    loader = make_loader(X.astype(np.float32), Y, batch_size=10)
    return fit_classifier(model, loader, epochs=kw.pop("epochs", 1), **kw)


def _checkpoint():
    """A finished one-epoch Lightning run of a small MLP (once); returns its last.ckpt."""
    folder = TMP / "run"
    if not (folder / "last.ckpt").exists():
        _fit(build_model("mlp", n_classes=3, in_dim=3, hidden=[5]), ckpt_dir=folder, run_config={"hidden": 5})
    return folder / "last.ckpt"


def _check_checkpoint(path, hidden=5, config=None):
    from latentalign.train.classifier import ClassifierModule, check_checkpoint

    module = ClassifierModule(build_model("mlp", n_classes=3, in_dim=3, hidden=[hidden]))
    return check_checkpoint(path, module, config)


def _mlp3():
    return build_model("mlp", n_classes=3, in_dim=3, hidden=[5])


def _mlp():
    return build_model("mlp", n_classes=3, in_dim=4, hidden=[5])


LOSSES = [
    # -- non-finite input
    Case("non_finite", "clip-nan-z_u", lambda: _clip(NAN, Z2), arg="z_u", words="NaN"),
    Case("non_finite", "clip-inf-z_v", lambda: _clip(Z1, INF), arg="z_v", words="Inf"),
    Case("non_finite", "joint-nan", lambda: con.JointLoss(temperature=1.0)(NAN, Z2), arg="z_u", words="NaN"),
    Case("non_finite", "siglip-module-nan", lambda: con.SigLipLoss()(Z1, NAN), arg="z_v", words="NaN"),
    Case("non_finite", "siglip-bias-nan", lambda: con.siglip_loss(S, bias=float("nan")), arg="bias", words="nan"),
    Case("non_finite", "siglip-bias-inf-tensor", lambda: con.siglip_loss(S, bias=torch.tensor(float("inf"))),
         arg="bias", words="Inf"),
    Case("non_finite", "clip_loss-S-nan", lambda: con.clip_loss(S * float("nan")), arg="S", words="NaN"),
    Case("non_finite", "scores-nan", lambda: con.scores(NAN, Z2), arg="z_u", words="NaN"),
    Case("non_finite", "vicreg-nan", lambda: ssl.VICRegLoss()(NAN, Z2), arg="z1", words="NaN"),
    Case("non_finite", "vicreg-inf-z2", lambda: ssl.VICRegLoss()(Z1, INF), arg="z2", words="Inf"),
    Case("non_finite", "ntxent-nan", lambda: ssl.NTXentLoss()(Z1, NAN), arg="z2", words="NaN"),
    Case("non_finite", "nt_xent_loss-nan", lambda: ssl.nt_xent_loss(NAN, Z2), arg="z1", words="NaN"),
    Case("non_finite", "byol-nan", lambda: ssl.BYOLLoss()(NAN, Z2, Z1, Z2), arg="p1", words="NaN"),
    Case("non_finite", "byol_loss-nan-target", lambda: ssl.byol_loss(Z1, INF), arg="z", words="Inf"),
    Case("non_finite", "invariance-nan", lambda: ssl.invariance_loss(NAN, Z2), arg="z1", words="NaN"),
    Case("non_finite", "variance-inf", lambda: ssl.variance_loss(INF), arg="z", words="Inf"),
    Case("non_finite", "covariance-nan", lambda: ssl.covariance_loss(NAN), arg="z", words="NaN"),
    Case("non_finite", "denoising-nan", lambda: ssl.DenoisingLoss()(NAN, Z2), arg="x_hat", words="NaN"),
    Case("non_finite", "linear-je-nan", lambda: ssl.LinearJELoss()(Z1, NAN), arg="z2", words="NaN"),
    Case("non_finite", "siglip-init-bias-nan", lambda: con.SigLipLoss(init_bias=float("nan")), arg="init_bias"),
    # -- extreme but finite magnitudes: scale-invariant losses give the same value
    *[Case("extreme_scale", f"clip-cosine-scale-{c:g}", _scaled(_clip, Z1, Z2, scale=c), None,
           check=_equal_to(_clip, Z1, Z2)) for c in (1e-300, 1e-150, 1e150, 1e300)],
    Case("extreme_scale", "clip-cosine-float32-1e30", _scaled(_clip, Z1.float(), Z2.float(), scale=1e30), None,
         check=lambda v: math.isclose(v, float(_clip(Z1.float(), Z2.float())), rel_tol=1e-5)),  # squares: inf in f32
    Case("extreme_scale", "siglip-cosine-1e300", _scaled(con.SigLipLoss(temperature=0.1), Z1, Z2, scale=1e300),
         None, check=_equal_to(con.SigLipLoss(temperature=0.1), Z1, Z2)),
    Case("extreme_scale", "joint-cosine-1e-300", _scaled(con.JointLoss(temperature=0.1), Z1, Z2, scale=1e-300),
         None, check=_equal_to(con.JointLoss(temperature=0.1), Z1, Z2)),
    Case("extreme_scale", "ntxent-1e300", _scaled(ssl.NTXentLoss(), Z1, Z2, scale=1e300), None,
         check=_equal_to(ssl.NTXentLoss(), Z1, Z2)),
    Case("extreme_scale", "ntxent-1e-300", _scaled(ssl.NTXentLoss(), Z1, Z2, scale=1e-300), None,
         check=_equal_to(ssl.NTXentLoss(), Z1, Z2)),
    Case("extreme_scale", "byol-1e300", _scaled(ssl.BYOLLoss(), Z1, Z2, Z2, Z1, scale=1e300), None,
         check=_equal_to(ssl.BYOLLoss(), Z1, Z2, Z2, Z1)),
    Case("extreme_scale", "scores-cosine-1e300", lambda: con.scores(Z1 * 1e300, Z2 * 1e-300, scale=2.0), None,
         check=lambda v: torch.allclose(v, con.scores(Z1, Z2, scale=2.0), rtol=1e-12)),
    # not scale-invariant: refuse what overflows, compute what underflows correctly
    Case("extreme_scale", "clip-inner-1e300", lambda: _clip(Z1 * 1e300, Z2, tilt="inner"), arg="z_u",
         words="overflow"),
    Case("extreme_scale", "clip-l2-1e200", lambda: _clip(Z1, Z2 * 1e200, tilt="l2"), arg="z_v", words="overflow"),
    Case("extreme_scale", "clip-inner-1e-300", lambda: float(_clip(Z1 * 1e-300, Z2 * 1e-300, tilt="inner")), None,
         check=lambda v: math.isclose(v, math.log(8), rel_tol=1e-12)),  # scores ~1e-599: uniform, log N
    Case("extreme_scale", "vicreg-1e200", lambda: ssl.VICRegLoss()(Z1 * 1e200, Z2), arg="z1", words="overflow"),
    Case("extreme_scale", "vicreg-float32-1e30", lambda: ssl.VICRegLoss()(Z1.float(), Z2.float() * 1e30),
         arg="z2", words="float32"),
    Case("extreme_scale", "vicreg-1e-300", lambda: float(ssl.VICRegLoss()(Z1 * 1e-300, Z2 * 1e-300)), None,
         check=lambda v: math.isclose(v, 25 * (1 - math.sqrt(1e-4)), rel_tol=1e-12)),  # only the variance hinge
    Case("extreme_scale", "denoising-1e200", lambda: ssl.DenoisingLoss()(Z1 * 1e200, Z2), arg="x_hat",
         words="overflow"),
    Case("extreme_scale", "linear-je-1e300", lambda: ssl.LinearJELoss()(Z1 * 1e300, Z2), arg="z1",
         words="overflow"),
    # -- degenerate
    Case("degenerate", "ntxent-zero-rows", lambda: ssl.NTXentLoss()(torch.zeros(4, 3), torch.zeros(4, 3)),
         arg="z1", words="zero"),
    Case("degenerate", "byol-zero-prediction", lambda: ssl.BYOLLoss()(torch.zeros(4, 3), Z1[:4, :3], Z1[:4, :3],
                                                                       Z1[:4, :3].float()), arg="p1", words="zero"),
    Case("degenerate", "vicreg-one-sample", lambda: ssl.VICRegLoss()(Z1[:1], Z2[:1]), arg="z1", words="at least 2"),
    Case("degenerate", "clip-one-pair", lambda: _clip(Z1[:1], Z2[:1]), arg="z_u", words="at least 2"),
    Case("degenerate", "masked-hides-nothing",
         lambda: ssl.masked_reconstruction_loss(Z1, Z2, torch.zeros(8, 4, dtype=torch.bool)), arg="mask",
         words="hides nothing"),
    # -- rank, dtype, order
    Case("rank_dtype_order", "clip-1d", lambda: _clip(Z1[0], Z2[0]), arg="z_u", words="2-D"),
    Case("rank_dtype_order", "clip-width-mismatch", lambda: _clip(Z1, Z2[:, :3]), arg="z_v", words="width"),
    Case("rank_dtype_order", "clip-dtype-mismatch", lambda: _clip(Z1, Z2.float()), arg="z_v", words="dtype"),
    Case("rank_dtype_order", "clip_loss-not-square", lambda: con.clip_loss(S[:, :5]), arg="S", words="square"),
    Case("rank_dtype_order", "vicreg-3d", lambda: ssl.VICRegLoss()(Z1[None], Z2[None]), arg="z1"),
    Case("rank_dtype_order", "vicreg-numpy", lambda: ssl.VICRegLoss()(Z1.numpy(), Z2.numpy()), TypeError, "z1",
         "torch.Tensor"),
    Case("rank_dtype_order", "ntxent-shape-mismatch", lambda: ssl.NTXentLoss()(Z1, Z2[:6]), arg="z2",
         words="shape"),
    Case("rank_dtype_order", "denoising-shape-mismatch", lambda: ssl.DenoisingLoss()(Z1, Z2[:, :2]), arg="x_hat"),
    Case("rank_dtype_order", "clip-big-endian", lambda: float(_clip(Z1.numpy().astype(">f8"), Z2.numpy())), None,
         check=lambda v: math.isclose(v, float(_clip(Z1, Z2)), rel_tol=1e-12)),
    # -- flags and option types
    Case("flag_type", "clip-temperature-str", lambda: con.ClipLoss(temperature="0.1"), TypeError, "temperature"),
    Case("flag_type", "siglip-bias-str", lambda: con.siglip_loss(S, bias="1"), TypeError, "bias"),
    Case("flag_type", "build-loss-int", lambda: con.build_loss(3), TypeError, "loss"),
    Case("flag_type", "conditional-centered-str", lambda: con.ConditionalLoss(centered="yes"), TypeError,
         "centered"),
    Case("flag_type", "ntxent-temperature-str", lambda: ssl.NTXentLoss(temperature="0.5"), TypeError,
         "temperature"),
    Case("flag_type", "masked-norm-target-str", lambda: ssl.MaskedReconstructionLoss(norm_target="yes"), TypeError,
         "norm_target"),
    Case("flag_type", "ema-momentum-str", lambda: ssl.EMA(nn.Linear(2, 2), base_momentum="x"), TypeError,
         "base_momentum"),
    # -- out of range
    Case("out_of_range", "clip-temperature-zero", lambda: con.ClipLoss(temperature=0.0), arg="temperature"),
    Case("out_of_range", "conditional-negative-lambda", lambda: con.ConditionalLoss(-1.0, 1.0), arg="lambda_u"),
    Case("out_of_range", "joint-negatives", lambda: con.JointLoss("some"), arg="negatives"),
    Case("out_of_range", "clip-tilt", lambda: con.ClipLoss(tilt="dot"), arg="tilt"),
    Case("out_of_range", "build-loss-cond-one-lambda", lambda: con.build_loss("cond:1"), arg="loss"),
    Case("out_of_range", "vicreg-gamma-zero", lambda: ssl.VICRegLoss(gamma=0.0), arg="gamma"),
    Case("out_of_range", "ntxent-temperature-negative", lambda: ssl.NTXentLoss(temperature=-1.0),
         arg="temperature"),
    Case("out_of_range", "masked-ratio-one", lambda: ssl.MaskedReconstructionLoss(mask_ratio=1.0), arg="mask_ratio"),
    Case("out_of_range", "ema-momentum-two", lambda: ssl.EMA(nn.Linear(2, 2), base_momentum=2.0),
         arg="base_momentum"),
    Case("out_of_range", "byol-predictor-zero", lambda: ssl.byol_predictor(0), arg="dim"),
]

KSM = [
    Case("extreme_scale", "ksm-fit-1e300", lambda: _ksm_embedding(1e300), None, check=_ksm_matches),
    Case("extreme_scale", "ksm-fit-1e-300", lambda: _ksm_embedding(1e-300), None, check=_ksm_matches),
    Case("extreme_scale", "ksm-fit-near-max", lambda: KernelSimilarityMatching(max_iter=5).fit(X * 1e307),
         None, check=lambda est: np.isfinite(est.embedding_).all() and np.isfinite(est.scale_)),
    Case("non_finite", "ksm-fit-nan", lambda: KernelSimilarityMatching().fit(np.where(X > 2, np.nan, X)), arg="X",
         words="NaN"),
    Case("non_finite", "ksm-transform-inf",
         lambda: KernelSimilarityMatching(max_iter=5).fit(X).transform(np.full((2, 3), np.inf)), arg="X"),
    Case("degenerate", "ksm-constant", lambda: KernelSimilarityMatching().fit(np.ones((10, 3))), arg="X",
         words="identical"),
    Case("degenerate", "ksm-one-sample", lambda: KernelSimilarityMatching().fit(X[:1]), arg="X", words="at least 2"),
    Case("rank_dtype_order", "ksm-1d", lambda: KernelSimilarityMatching().fit(X[:, 0]), arg="X", words="2-D"),
    Case("rank_dtype_order", "ksm-sparse", lambda: KernelSimilarityMatching().fit(sp.csr_matrix(X)), TypeError, "X",
         "sparse"),
    Case("rank_dtype_order", "ksm-transform-width",
         lambda: KernelSimilarityMatching(max_iter=5).fit(X).transform(X[:, :2]), arg="X"),
    Case("flag_type", "ksm-learn-sigma-str", lambda: KernelSimilarityMatching(learn_sigma="yes").fit(X), TypeError,
         "learn_sigma"),
    Case("flag_type", "ksm-n-components-float", lambda: KernelSimilarityMatching(n_components=2.0).fit(X),
         TypeError, "n_components"),
    Case("out_of_range", "ksm-n-components-zero", lambda: KernelSimilarityMatching(n_components=0).fit(X),
         arg="n_components"),
    Case("out_of_range", "ksm-kernel", lambda: KernelSimilarityMatching(kernel="poly").fit(X), arg="kernel"),
    Case("out_of_range", "ksm-sample-seed-negative",
         lambda: KernelSimilarityMatching(max_iter=5).fit(X).sample(3, random_state=-1), arg="random_state"),
    Case("out_of_range", "ksm-fit-seed-negative", lambda: KernelSimilarityMatching(random_state=-1).fit(X),
         arg="random_state"),
    Case("out_of_range", "ksm-sample-zero", lambda: KernelSimilarityMatching(max_iter=5).fit(X).sample(0),
         arg="n_samples"),
    Case("non_finite", "ksm-inverse-nan",
         lambda: KernelSimilarityMatching(max_iter=5).fit(X).inverse_transform(np.full((1, 2), np.nan)), arg="Z"),
    Case("out_of_range", "ksm-sigma-negative", lambda: KernelSimilarityMatching(sigma=-1.0).fit(X), arg="sigma"),
]

LCC = [
    Case("non_finite", "match-clusters-nan", lambda: match_clusters(np.array([[1.0, np.nan], [0.0, 1.0]])), arg="M",
         words="NaN"),
    Case("non_finite", "communities-nan-weights", lambda: detect_communities(GRAPH * np.nan), arg="graph",
         words="non-finite"),
    Case("non_finite", "knn-indices-nan", lambda: knn_indices(np.where(X > 2, np.nan, X), 3), arg="Z",
         words="NaN"),
    Case("non_finite", "pca-project-inf", lambda: pca_project(np.where(X > 2, np.inf, X), 2), arg="Z"),
    Case("non_finite", "cluster-correction-weight-nan", lambda: ClusterCorrection("h", 3, weight=float("nan")),
         arg="weight"),
    Case("degenerate", "loo-knn-no-labels", lambda: loo_knn_accuracy(np.array([[1], [0]]), np.array([-1, -1])),
         None, check=lambda v: math.isnan(v)),  # nothing labelled: undefined, documented NaN
    Case("rank_dtype_order", "match-clusters-1d", lambda: match_clusters(np.array([1.0, 2.0])), arg="M",
         words="2-D"),
    Case("rank_dtype_order", "contingency-float-labels", lambda: contingency(Y * 1.0, Y, 3), arg="labels"),
    Case("rank_dtype_order", "communities-dense", lambda: detect_communities(GRAPH.toarray()), TypeError, "graph"),
    Case("rank_dtype_order", "communities-not-square", lambda: detect_communities(GRAPH[:3]), arg="graph",
         words="square"),
    Case("rank_dtype_order", "knn-graph-1d", lambda: knn_graph(np.array([1, 2])), arg="indices"),
    Case("rank_dtype_order", "loo-knn-out-of-range-index",
         lambda: loo_knn_accuracy(np.array([[1], [5]]), np.array([0, 1])), arg="indices"),
    Case("rank_dtype_order", "loo-knn-float-index",
         lambda: loo_knn_accuracy(np.array([[1.5], [0.0]]), np.array([0, 1])), arg="indices"),
    Case("rank_dtype_order", "loo-knn-label-count", lambda: loo_knn_accuracy(np.array([[1], [0]]), np.array([0])),
         arg="labels"),
    Case("flag_type", "cluster-correction-k-float", lambda: ClusterCorrection("h", 3, k=2.5), TypeError, "k"),
    Case("flag_type", "cluster-correction-persist-str", lambda: ClusterCorrection("h", 3, persist="yes"), TypeError,
         "persist"),
    Case("out_of_range", "match-clusters-negative", lambda: match_clusters(np.array([[1.0, -1.0], [0.0, 1.0]])),
         arg="M", words=">= 0"),
    Case("out_of_range", "contingency-too-few-clusters", lambda: contingency([0, 1, 2], [0, 1, 5], 3, 2),
         arg="n_clusters", words="5"),
    Case("out_of_range", "contingency-n-classes-zero", lambda: contingency([0], [0], 0), arg="n_classes"),
    Case("out_of_range", "communities-negative-weights", lambda: detect_communities(-GRAPH), arg="graph",
         words="negative"),
    Case("out_of_range", "communities-resolution-zero", lambda: detect_communities(GRAPH, resolution=0.0),
         arg="resolution"),
    Case("out_of_range", "communities-method", lambda: detect_communities(GRAPH, method="x"), arg="method"),
    Case("out_of_range", "knn-indices-k-too-big", lambda: knn_indices(X, 30), arg="k"),
    Case("out_of_range", "pca-dim-above-features", lambda: pca_project(X, 50), arg="pca_dim", words="3"),
    Case("out_of_range", "cluster-correction-n-classes", lambda: ClusterCorrection("h", 0), arg="n_classes"),
    Case("out_of_range", "cluster-correction-loss", lambda: ClusterCorrection("h", 3, loss="x"), arg="loss"),
    Case("out_of_range", "cluster-correction-layers-empty", lambda: ClusterCorrection([], 3), arg="layers"),
    Case("non_finite", "lcc-loss-nan", lambda: ExactLCCLoss(2)(NAN, LAB, MC, BANKS), arg="u", words="NaN"),
    Case("non_finite", "lcc-bank-nan", lambda: lcc_loss(Z1, LAB, MC, {0: [NAN]}, 2), arg="banks", words="NaN"),
    Case("extreme_scale", "lcc-loss-1e300", lambda: ExactLCCLoss(2)(Z1 * 1e300, LAB, MC, BANKS), arg="u",
         words="overflow"),
    Case("extreme_scale", "lcc-loss-scales-with-u", lambda: float(lcc_loss(Z1 * 2.0**400, LAB, MC, _BANKS_400, 2)),
         None, check=lambda v: math.isclose(v, float(lcc_loss(Z1, LAB, MC, BANKS, 2)) * 2.0**400, rel_tol=1e-12)),
    Case("rank_dtype_order", "lcc-loss-mc-length", lambda: ExactLCCLoss(2)(Z1, LAB, MC[:3], BANKS), arg="mc"),
    Case("rank_dtype_order", "lcc-loss-labels-length", lambda: lcc_loss(Z1, LAB[:3], MC, BANKS, 2), arg="labels"),
    Case("rank_dtype_order", "lcc-loss-width", lambda: ExactLCCLoss(2)(Z1[:, :2], LAB, MC, BANKS), arg="latents"),
    Case("rank_dtype_order", "pack-banks-bare-tensors", lambda: pack_banks({0: Z1}), arg="banks"),
    Case("rank_dtype_order", "pack-banks-arrays", lambda: pack_banks([Z1.numpy()]), TypeError, "banks"),
    Case("out_of_range", "lcc-loss-k-zero", lambda: ExactLCCLoss(0), arg="k_target"),
    Case("out_of_range", "randomized-lcc-zero", lambda: RandomizedLCCLoss(0), arg="n_per_cluster"),
    Case("out_of_range", "shuffle-communities-seed", lambda: shuffle_communities(np.array([0, 1]), -1), arg="seed"),
]

MODELS_TRAIN = [
    Case("non_finite", "make-loader-nan", lambda: make_loader(np.where(X > 2, np.nan, X)), arg="X", words="NaN"),
    Case("degenerate", "pool-all-masked-row",
         lambda: pool_tokens(torch.ones(2, 3, 4), torch.tensor([[1, 1, 0], [0, 0, 0]])), arg="mask"),
    Case("rank_dtype_order", "pool-2d", lambda: pool_tokens(torch.ones(2, 3)), arg="h"),
    Case("rank_dtype_order", "pool-mask-shape", lambda: pool_tokens(torch.ones(2, 3, 4), torch.ones(2, 2)),
         arg="mask"),
    Case("rank_dtype_order", "make-loader-label-count", lambda: make_loader(X, Y[:5]), arg="y"),
    Case("rank_dtype_order", "unpack-batch-4-tuple", lambda: unpack_batch((X, Y, Y, Y)), arg="batch", words="4-tuple"),
    Case("rank_dtype_order", "random-shift-2d", lambda: random_shift(torch.ones(2, 3), 1), arg="x"),
    Case("flag_type", "recorder-layers-int", lambda: LayerRecorder(_mlp(), 3), TypeError, "layers"),
    Case("flag_type", "recorder-detach-str", lambda: LayerRecorder(_mlp(), "penultimate", detach="yes"), TypeError,
         "detach"),
    Case("flag_type", "make-loader-shuffle-str", lambda: make_loader(X, shuffle="yes"), TypeError, "shuffle"),
    Case("flag_type", "make-loader-batch-float", lambda: make_loader(X, batch_size=2.5), TypeError, "batch_size"),
    Case("out_of_range", "recorder-unknown-layer", lambda: LayerRecorder(_mlp(), "nope"), arg="layers",
         words="nope"),
    Case("out_of_range", "recorder-reduce", lambda: LayerRecorder(_mlp(), "penultimate", reduce="x"), arg="reduce"),
    Case("out_of_range", "pool-name", lambda: pool_tokens(torch.ones(2, 3, 4), pool="x"), arg="pool"),
    Case("out_of_range", "build-model-name", lambda: build_model("x", n_classes=3, in_dim=4), arg="name"),
    Case("out_of_range", "build-model-classes", lambda: build_model("mlp", n_classes=0, in_dim=4), arg="n_classes"),
    Case("out_of_range", "make-loader-batch-zero", lambda: make_loader(X, batch_size=0), arg="batch_size"),
    Case("out_of_range", "seed-negative", lambda: seed_everything(-1), arg="seed"),
    Case("out_of_range", "random-shift-negative", lambda: random_shift(torch.ones(2, 1, 3, 3), -1), arg="max_shift"),
]

FILES = [
    Case("wrong_file", "ksm-load-garbage", lambda: load_model(TMP / "garbage.pt"), arg="model", words="cannot read"),
    Case("wrong_file", "ksm-load-tensor", lambda: load_model(TMP / "tensor.pt"), arg="model", words="not a"),
    Case("wrong_file", "ksm-load-missing", lambda: load_model(TMP / "none.pt"), arg="model", words="not found"),
    Case("wrong_file", "ksm-load-suffix", lambda: load_model(TMP / "afile"), arg="model", words=".pt"),
    Case("unwritable_output", "ksm-save-parent-is-file", lambda: save_model(_fitted_ksm(), TMP / "afile" / "m.pt"),
         arg="path", words="is a file"),
    Case("unwritable_output", "ksm-save-onto-folder", lambda: save_model(_fitted_ksm(), TMP / "adir.pt"), arg="path",
         words="is a folder"),
    Case("unwritable_output", "ksm-save-read-only-system", lambda: save_model(_fitted_ksm(), "/sys/latentalign.pt"),
         arg="path", words="cannot write in /sys"),
    Case("wrong_checkpoint", "check-checkpoint-garbage", lambda: _check_checkpoint(TMP / "garbage.pt"), arg="resume",
         words="cannot read"),
    Case("wrong_checkpoint", "check-checkpoint-tensor", lambda: _check_checkpoint(TMP / "tensor.pt"), arg="resume",
         words="not a Lightning checkpoint"),
    Case("wrong_checkpoint", "check-checkpoint-architecture", lambda: _check_checkpoint(_checkpoint(), hidden=7),
         arg="resume", words="another architecture"),
    Case("wrong_checkpoint", "check-checkpoint-config", lambda: _check_checkpoint(_checkpoint(), config={"hidden": 6}),
         arg="resume", words="another configuration: hidden=5 there, 6 now"),
    Case("wrong_checkpoint", "check-checkpoint-valid", lambda: _check_checkpoint(_checkpoint(), config={"hidden": 5}),
         None, check=lambda ckpt: "state_dict" in ckpt),
    Case("extreme_scale", "fit-classifier-lr-1e300", lambda: _fit(_mlp3(), lr=1e300), arg="lr", words="at most"),
    Case("extreme_scale", "fit-classifier-diverges", lambda: _fit(_mlp3(), lr=1e30, epochs=2), arg="lr",
         words="training diverged at epoch"),
    Case("out_of_range", "fit-classifier-epochs-zero", lambda: _fit(_mlp3(), epochs=0), arg="epochs"),
]

CASES = LOSSES + KSM + LCC + MODELS_TRAIN + FILES
