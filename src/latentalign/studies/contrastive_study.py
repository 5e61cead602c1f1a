"""Contrastive learning as a tilted model (Baptista, Stuart, Tran, arXiv 2505.24134).

(a) Gaussian recovery on the reference example g43: linear encoders trained by
SGD with each loss converge to the closed forms of :mod:`latentalign.contrastive.gaussian`
(whitened error, principal angles to the canonical subspace, conditional-mean and
marginal errors), and the error's dependence on the embedding width, the batch size,
the data-set size and the joint loss's negatives (``docs/contrastive.md#contrastive-study``).

(b) Real pairs: UCI Multiple Features views (pixels vs Zernike / Fourier descriptors)
and digits vs **templated** captions (MiniLM embeddings): recall@1/5, class match,
zero-shot accuracy for every loss, and the one-sided vs two-sided sampling-diversity
contrast of the paper's MNIST experiment (Prop. 6.1 setting: inner tilt, scale 1).

Independent training runs go to a pool of ``workers`` processes (one torch thread each).

Examples
--------
>>> from latentalign.studies import contrastive_study
>>> result = contrastive_study.run(contrastive_study.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import time

import numpy as np

from .._extras import require
from .base import Claim, Figure, Result, Table, run_jobs

plt = require("matplotlib.pyplot", "the contrastive study figures")

TITLE = "Contrastive learning as a tilted model: Gaussian closed forms and real pairs"

CLAIMS = {
    "clip_error": Claim("CLIP reaches A*: whitened error <= {threshold}", "<=", 0.06),
    "clip_angle": Claim("CLIP's largest principal angle to the canonical subspace <= {threshold} rad", "<=", 0.02),
    "cond20_means": Claim("(2,0) shares CLIP's optimum: exact conditional means (both errors < {threshold})",
                          "<", 0.1),
    "joint_mean_error": Claim("joint: conditional-mean error within {threshold} of the theory's 0.302", "<", 0.05),
    "joint_marginal": Claim("joint: better u-marginal than CLIP"),
    "l2_cov": Claim("L2 (2,0) matches u|v: covariance error <= {threshold}", "<=", 0.02),
    "l2_A": Claim("L2 (2,0): whitened error to its A* <= {threshold}", "<=", 0.05),
    "sgd_angles": Claim("SGD angles to the top-r canonical subspace < {threshold} rad", "<", 0.05),
    "rank_truncation": Claim("below full rank, the error vs e follows the rank truncation (|SGD - theory| < "
                             "{threshold})", "<", 0.05),
    "rank_monotone": Claim("the error to the full-rank A* decreases with the embedding width e"),
    "error_vs_batch": Claim("Fig. 2: the error decreases with the batch size"),
    "error_vs_data": Claim("Fig. 3: the error decreases with the data-set size N"),
    "negatives_offdiag": Claim("off-diagonal negatives are the unbiased choice (smallest error)"),
    "recall_pix_zer": Claim("pix,zer: R@1 > {threshold} for every loss", ">", 0.3),
    "recall_pix_fou": Claim("pix,fou: R@1 > {threshold} (ten times chance) for every loss", ">", 0.025),
    "joint_scale": Claim("{pair}: the joint loss learns the largest 1/tau"),
    "zero_shot": Claim("zero-shot accuracy > {threshold} for every loss", ">", 0.8),
    "collapse": Claim("classifier-like (0,2) sampling collapses: perplexity < {threshold} x CLIP's", "<", 0.3),
    "class_mass": Claim("(0,2) puts less mass on the prompt's class: more than {threshold} below CLIP's", ">", 0.2),
    "cosine_vanish": Claim("with the cosine tilt and a clamped scale the contrast mostly vanishes (the collapse "
                           "needs unbounded logits): (0,2) perplexity > {threshold} x CLIP's", ">", 0.3),
}
GAUSS = {"steps": 3000, "lr": 1e-2, "batch": 256}
DEFAULT_CONFIG = {
    "seed": 0,
    "workers": 2,
    "gauss": GAUSS,
    "table1_dim": 3,
    "dims": [1, 2, 3],
    "batches": [64, 128, 256, 1024],
    "data_sizes": [500, 2000, 8000, 32000],
    "negatives": ["offdiag", "all", "shuffle"],
    "mfeat_pairs": ["pix,zer", "pix,fou"],
    "losses": ["clip", "cond:2,0", "cond:0,2", "joint", "siglip"],
    "epochs": 100,
    "batch_size": 128,
    "diversity_losses": ["cond:0,2", "clip", "cond:2,0", "joint"],
    "diversity_seeds": [0, 1, 2],
    "diversity_epochs": 100,
    "diversity_lr": 1e-3,
    "n_draws": 100,
    "fig_samples": 8,
}
QUICK_CONFIG = {
    **DEFAULT_CONFIG,
    "workers": 1,
    "gauss": {"steps": 1000, "lr": 3e-2, "batch": 128},
    "dims": [1, 3],
    "batches": [64, 512],
    "data_sizes": [500, 4000],
    "mfeat_pairs": ["pix,zer", "pix,fou"],
    "epochs": 20,
    "diversity_losses": ["cond:0,2", "clip"],
    "diversity_seeds": [0],
    "diversity_epochs": 30,
    "diversity_lr": 1e-2,  # a larger step reaches the unbounded-logit regime of the (0,2) collapse sooner
}

LOSS_LABELS = {"clip": "CLIP (1,1)", "cond:2,0": "(2,0)", "cond:0,2": "(0,2)", "joint": "joint", "siglip": "SigLIP",
               "l2": "L2 (2,0)", "joint:all": "joint, all", "joint:shuffle": "joint, shuffle"}


# --------------------------------------------------------------------------- jobs (run in workers)
def _gauss_job(job: dict) -> dict:
    from ..contrastive import ConditionalLoss, gaussian
    from ..contrastive.cli import parse_loss
    from ..contrastive.recovery import fit_linear

    start = time.perf_counter()
    if job["loss"] == "l2":
        loss = ConditionalLoss(2, 0, tilt="l2", temperature=1.0, gather=False)
    else:
        loss = parse_loss(job["loss"], tilt="inner", temperature=1.0, gather=False)
    fit = fit_linear(gaussian.make_example("g43"), loss, job["dim"], steps=job["steps"], batch_size=job["batch"],
                     lr=job["lr"], n_data=job.get("n_data"), seed=job["seed"])
    return {"G": fit.G, "H": fit.H, "seconds": time.perf_counter() - start}


def _pair_job(job: dict) -> dict:
    from ..contrastive import retrieval
    from ..contrastive.cli import parse_loss
    from ..contrastive.experiment import encode_prompts, evaluate_pair, train_pair
    from ..contrastive.module import pair_loader
    from ..contrastive.pairs import load_pair
    from ..train import quiet_lightning

    start = time.perf_counter()
    data = load_pair(job["pair"], seed=job["split_seed"])
    loss = parse_loss(job["loss"], tilt=job["tilt"], temperature=job["temperature"], gather=False)
    with quiet_lightning():
        module = train_pair(data, loss, epochs=job["epochs"], batch_size=job["batch_size"], lr=job["lr"],
                            seed=job["seed"])
    out = evaluate_pair(module, data)
    if data.class_prompts is not None:  # nu(image | class prompt) over the test images
        z_u, _, y = module.embed(pair_loader(data.u_test, data.v_test, data.y_test, batch_size=512))
        prompts = encode_prompts(module, data.class_prompts)
        probs = retrieval.conditional(prompts, z_u, tilt=module.loss.tilt, scale=module.loss.scale().detach())
        div = retrieval.diversity(probs, query_labels=np.arange(len(prompts)), cand_labels=y,
                                  n_draws=job["n_draws"], seed=job["seed"])
        out["diversity"] = {k: float(v.mean()) for k, v in div.items()}
        out["samples"] = retrieval.sample(probs, job["fig_samples"], job["seed"]).numpy()
    out["seconds"] = time.perf_counter() - start
    return out


# --------------------------------------------------------------------------- the study
def run(config: dict) -> Result:
    """Run the contrastive study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    from ..contrastive import gaussian

    seed, workers = config["seed"], config["workers"]
    cov = gaussian.make_example("g43")
    sigma, W_u, _ = gaussian.canonical_correlations(*cov)

    # ---- every job, longest first, in one pool
    gauss = config["gauss"]
    g_jobs: dict[tuple, dict] = {}

    def g_add(loss, dim, batch=None, n_data=None):
        job = {**gauss, "loss": loss, "dim": dim, "seed": seed, "n_data": n_data}
        job["batch"] = batch or gauss["batch"]
        g_jobs.setdefault((loss, dim, job["batch"], n_data), job)
        return (loss, dim, job["batch"], n_data)

    e3 = config["table1_dim"]
    table1_keys = {name: g_add(name, e3) for name in ("clip", "cond:2,0", "joint", "l2")}
    dim_keys = {e: g_add("clip", e) for e in config["dims"]}
    batch_keys = {b: g_add("clip", 1, batch=b) for b in config["batches"]}
    size_keys = {n: g_add("clip", e3, n_data=n) for n in config["data_sizes"]}
    neg_keys = {neg: g_add("joint" if neg == "offdiag" else f"joint:{neg}", 1) for neg in config["negatives"]}

    p_jobs: dict[tuple, dict] = {}

    def p_add(pair, loss, tilt="cosine", temperature=None, job_seed=seed, epochs=config["epochs"], lr=1e-3):
        key = (pair, loss, tilt, temperature, job_seed)
        p_jobs.setdefault(key, {"pair": pair, "loss": loss, "tilt": tilt, "temperature": temperature,
                                "seed": job_seed, "split_seed": seed, "epochs": epochs, "lr": lr,
                                "batch_size": config["batch_size"], "n_draws": config["n_draws"],
                                "fig_samples": config["fig_samples"]})
        return key

    mfeat_keys = {(p, loss): p_add(f"mfeat:{p}", loss) for p in config["mfeat_pairs"] for loss in config["losses"]}
    caption_keys = {loss: p_add("digits:captions", loss) for loss in config["losses"]}
    div_keys = {(loss, s): p_add("digits:captions", loss, "inner", 1.0, s, config["diversity_epochs"],
                                 config["diversity_lr"])
                for loss in config["diversity_losses"] for s in config["diversity_seeds"]}

    start = time.perf_counter()
    jobs = [(_gauss_job, k, j) for k, j in g_jobs.items()] + [(_pair_job, k, j) for k, j in p_jobs.items()]
    kind = {_gauss_job: "g", _pair_job: "p"}
    results = run_jobs([(fn, job) for fn, _, job in jobs], workers, cost=_cost)
    done = {(kind[fn],) + key: r for (fn, key, _), r in zip(jobs, results)}
    wall = time.perf_counter() - start
    g_res = {k: done[("g",) + k] for k in g_jobs}
    p_res = {k: done[("p",) + k] for k in p_jobs}

    result = Result(summary="", claims=CLAIMS)
    numbers = result.numbers
    numbers["canonical_correlations"] = sigma.tolist()
    numbers["wall_seconds_training"] = wall
    numbers["job_seconds"] = sum(r["seconds"] for r in done.values())

    _gaussian_part(result, config, cov, W_u, g_res, table1_keys, dim_keys, batch_keys, size_keys, neg_keys)
    _pairs_part(result, config, p_res, mfeat_keys, caption_keys, div_keys)
    result.summary = (
        f"(a) SGD-trained linear encoders on g43 reach the closed forms (CLIP whitened error "
        f"{numbers['table1']['clip']['whitened_error']:.3f}, joint conditional-mean error "
        f"{numbers['table1']['joint']['mean_error_u|v']:.3f} vs 0.302 in theory). "
        f"(b) {len(p_jobs)} encoder pairs trained on mfeat and digits-captions; "
        f"{sum(c.passed for c in result.checks)}/{len(result.checks)} checks pass. "
        f"Training wall time {wall:.0f} s with {workers} worker(s)."
    )
    return result


def _cost(job: dict) -> float:
    """Relative training time of a job (Gaussian: steps x batch^2; pairs: epochs)."""
    if "dim" in job:
        return job["steps"] * job["batch"] ** 2 / 256**2 * 1.5 + job["steps"] * 0.5
    return job["epochs"] * 12


# --------------------------------------------------------------------------- (a) Gaussian
def _gaussian_part(result, config, cov, W_u, g_res, table1_keys, dim_keys, batch_keys, size_keys, neg_keys):
    from ..contrastive import gaussian

    A_full = gaussian.optimal_A(cov)
    A_l2, B_l2 = gaussian.optimal_l2_one_sided(cov)
    exact_u_given_v = gaussian.model_conditionals(A_l2, cov, B=B_l2)["u|v"].cov
    rel = lambda M, R: float(np.linalg.norm(M - R) / np.linalg.norm(R))
    e3 = config["table1_dim"]

    rows, table1 = [], {}
    for name, key in table1_keys.items():
        r = g_res[key]
        G, H = r["G"], r["H"]
        A = G.T @ H
        B = G.T @ G if name == "l2" else None
        ref = {"clip": gaussian.optimal_A(cov, rank=e3), "cond:2,0": gaussian.optimal_A(cov, rank=e3),
               "joint": gaussian.optimal_A(cov, "joint", rank=e3), "l2": A_l2}[name]
        cond = gaussian.model_conditionals(A, cov, B=B)
        entry = {
            "whitened_error": gaussian.whitened_error(A, ref, cov),
            "max_angle": float(gaussian.principal_angles(G.T, W_u[:, :e3]).max()),
            "mean_error_u|v": gaussian.conditional_mean_error(A, cov, "u|v", B=B),
            "mean_error_v|u": gaussian.conditional_mean_error(A, cov, "v|u") if name != "l2" else None,
            "u|v_cov_error": rel(cond["u|v"].cov, exact_u_given_v),
            "marginal_u_error": rel(gaussian.model_marginal_u(A, cov), cov[0]) if name != "l2" else None,
            "seconds": r["seconds"],
        }
        table1[name] = entry
        rows.append([LOSS_LABELS[name], _fmt(entry["whitened_error"]), _fmt(entry["max_angle"]),
                     _fmt(entry["mean_error_u|v"]), _fmt(entry["mean_error_v|u"]), _fmt(entry["u|v_cov_error"]),
                     _fmt(entry["marginal_u_error"])])
    result.numbers["table1"] = table1
    result.tables.append(Table(
        f"Table 1. g43, linear encoders e = {e3}, inner tilt (L2 for the last row), tau = 1, "
        f"{config['gauss']['steps']} Adam steps, batch {config['gauss']['batch']}: error to the loss's own closed "
        "form (whitened), max principal angle to the canonical subspace, relative conditional-mean errors "
        "(whitened), model u|v covariance vs the true C_u|v, model u-marginal vs C_uu.",
        ["loss", "whitened error", "angle (rad)", "mean err u|v", "mean err v|u", "u|v cov err", "u-marginal err"],
        rows))
    c, j, l2 = table1["clip"], table1["joint"], table1["l2"]
    result.claim("clip_error", c["whitened_error"], f"{c['whitened_error']:.4f}")
    result.claim("clip_angle", c["max_angle"], f"{c['max_angle']:.4f} rad")
    s20 = table1["cond:2,0"]
    result.claim("cond20_means", max(s20["mean_error_u|v"], c["mean_error_u|v"]),
                 f"(2,0) {s20['mean_error_u|v']:.4f}, CLIP {c['mean_error_u|v']:.4f}")
    result.claim("joint_mean_error", abs(j["mean_error_u|v"] - 0.302040), f"mean error {j['mean_error_u|v']:.4f}")
    result.claim("joint_marginal", j["marginal_u_error"] < c["marginal_u_error"],
                 f"marginal error joint {j['marginal_u_error']:.3f} vs CLIP {c['marginal_u_error']:.3f} "
                 "(theory 0.241 vs 1.867)")
    result.claim("l2_cov", l2["u|v_cov_error"], f"cov {l2['u|v_cov_error']:.4f}")
    result.claim("l2_A", l2["whitened_error"], f"A {l2['whitened_error']:.4f}")
    angles = [float(gaussian.principal_angles(g_res[k]["G"].T, W_u[:, :e]).max()) for e, k in dim_keys.items()]
    result.numbers["sgd_max_angles"] = dict(zip(map(str, dim_keys), angles))
    result.claim("sgd_angles", max(angles), ", ".join(f"r={e}: {a:.4f}" for e, a in zip(dim_keys, angles)))

    # Fig. 1: error to the full A* vs embedding width
    dims = list(dim_keys)
    errs = [gaussian.whitened_error(g_res[k]["G"].T @ g_res[k]["H"], A_full, cov) for k in dim_keys.values()]
    sigma = gaussian.canonical_correlations(*cov)[0]
    theory = [float(np.sqrt(np.sum(sigma[e:] ** 2) / np.sum(sigma**2))) for e in dims]
    result.numbers["error_vs_dim"] = {"dims": dims, "sgd": errs, "rank_truncation": theory}
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    ax.plot(dims, errs, "o-", label="SGD (CLIP)")
    ax.plot(dims, theory, "k--", label=r"$\sqrt{\sum_{i>e}\sigma_i^2/\sum\sigma_i^2}$")
    ax.set_xlabel("embedding width e")
    ax.set_ylabel("whitened error to full A*")
    ax.set_xticks(dims)
    ax.legend()
    result.figures.append(Figure("error_vs_dim", "Fig. 1. CLIP on g43: error to the full-rank A* vs embedding "
                                 "width (the rank truncation, then the SGD floor).", fig))
    detail = ", ".join(f"e={e}: {x:.3f} (theory {t:.3f})" for e, x, t in zip(dims, errs, theory))
    result.claim("rank_truncation", max((abs(a - b) for a, b, e in zip(errs, theory, dims) if e < 3), default=np.inf),
                 detail)
    result.claim("rank_monotone", len(dims) > 1 and errs == sorted(errs, reverse=True), detail)

    A1 = gaussian.optimal_A(cov, rank=1)
    _curve(result, "error_vs_batch", "batch size", batch_keys, g_res, lambda A: gaussian.whitened_error(A, A1, cov),
           "Fig. 2. CLIP, e = 1: error to A*(1) vs batch size (finite-batch bias of log-mean-exp, ~1/batch).")
    A3 = gaussian.optimal_A(cov, rank=e3)
    _curve(result, "error_vs_data", "data-set size N", size_keys, g_res, lambda A: gaussian.whitened_error(A, A3, cov),
           f"Fig. 3. CLIP, e = {e3}, batch {config['gauss']['batch']}: error to A* vs the number of training pairs.")

    A_j1 = gaussian.optimal_A(cov, "joint", rank=1)
    neg = {n: gaussian.whitened_error(g_res[k]["G"].T @ g_res[k]["H"], A_j1, cov) for n, k in neg_keys.items()}
    result.numbers["joint_negatives"] = neg
    result.tables.append(Table("Joint loss, e = 1: whitened error to A*_joint(1) by negatives.",
                               ["negatives", "error"], [[n, _fmt(v)] for n, v in neg.items()]))
    result.claim("negatives_offdiag", len(neg) > 1 and neg.get("offdiag") == min(neg.values()),
                 ", ".join(f"{n} {v:.4f}" for n, v in neg.items()))


def _curve(result, name, xlabel, keys, g_res, error, caption):
    """Record the error curve; the claim ``name`` (error decreases along it) needs two points or more."""
    xs = list(keys)
    ys = [error(g_res[k]["G"].T @ g_res[k]["H"]) for k in keys.values()]
    result.numbers[name] = {"x": xs, "error": ys}
    result.claim(name, len(xs) > 1 and ys[-1] < ys[0], ", ".join(f"{x}: {y:.4f}" for x, y in zip(xs, ys)))
    if len(xs) < 2:
        return
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    ax.loglog(xs, ys, "o-")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("whitened error")
    result.figures.append(Figure(name, caption, fig))


# --------------------------------------------------------------------------- (b) real pairs
def _pairs_part(result, config, p_res, mfeat_keys, caption_keys, div_keys):
    numbers = result.numbers
    rows, table2 = [], {}
    for (pair, loss), key in mfeat_keys.items():
        r = p_res[key]
        rec = r["recall"]
        table2.setdefault(pair, {})[loss] = {"R@1_u_to_v": rec["u_to_v"][1], "R@1_v_to_u": rec["v_to_u"][1],
                                             "R@5_u_to_v": rec["u_to_v"][5], "R@5_v_to_u": rec["v_to_u"][5],
                                             "class_match@1": r["class_match@1"], "scale": r["scale"]}
        rows.append([pair, LOSS_LABELS[loss], _fmt(rec["u_to_v"][1]), _fmt(rec["v_to_u"][1]), _fmt(rec["u_to_v"][5]),
                     _fmt(rec["v_to_u"][5]), _fmt(r["class_match@1"]), f"{r['scale']:.1f}"])
    numbers["table2"] = table2
    result.tables.append(Table(
        f"Table 2. UCI Multiple Features (u = pixels), 400 test pairs (chance R@1 = 0.0025), cosine tilt, "
        f"{config['epochs']} epochs: recall both ways, class-match@1, learned 1/tau.",
        ["pair", "loss", "R@1 u->v", "R@1 v->u", "R@5 u->v", "R@5 v->u", "class@1", "1/tau"], rows))
    for pair, by_loss in table2.items():
        r1 = {loss: (m["R@1_u_to_v"] + m["R@1_v_to_u"]) / 2 for loss, m in by_loss.items()}
        best = max(r1, key=r1.get)
        numbers.setdefault("winners", {})[pair] = best
        result.claim(f"recall_{pair.replace(',', '_')}",
                     min(min(m["R@1_u_to_v"], m["R@1_v_to_u"]) for m in by_loss.values()),
                     "mean R@1: " + ", ".join(f"{LOSS_LABELS[k]} {v:.3f}" for k, v in r1.items())
                     + f"; best {LOSS_LABELS[best]}")
        scales = {loss: m["scale"] for loss, m in by_loss.items() if loss != "siglip"}
        result.claim("joint_scale", "joint" in scales and len(scales) > 1 and scales["joint"] == max(scales.values()),
                     ", ".join(f"{LOSS_LABELS[k]} {v:.1f}" for k, v in scales.items()), pair=pair)

    rows, table3 = [], {}
    for loss, key in caption_keys.items():
        r = p_res[key]
        table3[loss] = {"zero_shot": r["zero_shot"], "scale": r["scale"], "perplexity": r["diversity"]["perplexity"],
                        "class_mass": r["diversity"]["class_mass"]}
        rows.append([LOSS_LABELS[loss], _fmt(r["zero_shot"]), f"{r['scale']:.1f}",
                     f"{r['diversity']['perplexity']:.1f}", _fmt(r["diversity"]["class_mass"])])
    numbers["table3"] = table3
    result.tables.append(Table(
        "Table 3. digits vs templated captions (MiniLM + linear head), cosine tilt, learned 1/tau: zero-shot "
        "accuracy with the two held-out templates (chance 0.1); perplexity and class mass of nu(image | prompt) "
        "over the 360 test images.", ["loss", "zero-shot", "1/tau", "perplexity", "class mass"], rows))
    result.claim("zero_shot", min(m["zero_shot"] for m in table3.values()),
                 ", ".join(f"{LOSS_LABELS[k]} {m['zero_shot']:.3f}" for k, m in table3.items()))

    rows, table4, samples = [], {}, {}
    for (loss, s), key in div_keys.items():
        r = p_res[key]
        entry = {"zero_shot": r["zero_shot"], **r["diversity"]}
        table4.setdefault(loss, {})[str(s)] = entry
        samples.setdefault(loss, r["samples"])
        rows.append([LOSS_LABELS[loss], s, _fmt(entry["zero_shot"]), f"{entry['perplexity']:.1f}",
                     f"{entry['distinct']:.1f}", _fmt(entry["class_mass"])])
    numbers["table4"] = table4
    result.tables.append(Table(
        "Table 4. Prop. 6.1 setting (inner tilt, scale fixed at 1), digits vs captions: zero-shot, and per class "
        "prompt nu(image | caption) over the 360 test images: perplexity (ideal ~36, the class size), distinct "
        f"images in {config['n_draws']} draws, class mass (means over the 10 prompts).",
        ["loss", "seed", "zero-shot", "perplexity", "distinct", "class mass"], rows))
    mean = lambda loss, k: float(np.mean([e[k] for e in table4[loss].values()]))
    p02, p11 = mean("cond:0,2", "perplexity"), mean("clip", "perplexity")
    m02, m11 = mean("cond:0,2", "class_mass"), mean("clip", "class_mass")
    result.claim("collapse", p02 / p11, f"{p02:.1f} vs {p11:.1f}")
    result.claim("class_mass", m11 - m02, f"{m02:.2f} vs {m11:.2f}")
    c02, c11 = table3["cond:0,2"]["perplexity"], table3["clip"]["perplexity"]
    numbers["cosine_perplexity"] = {"cond:0,2": c02, "clip": c11}
    result.claim("cosine_vanish", c02 / c11, f"cosine perplexity (0,2) {c02:.1f} vs CLIP {c11:.1f}")
    if samples:
        result.figures.append(_samples_figure(samples))


def _samples_figure(samples: dict) -> Figure:
    from ..contrastive.pairs import load_pair

    images = load_pair("digits:captions").u_test.reshape(-1, 8, 8)
    fig, axes = plt.subplots(1, len(samples), figsize=(2.2 * len(samples), 2.8))
    for ax, (loss, idx) in zip(np.atleast_1d(axes), samples.items()):
        n_prompts, n = idx.shape
        grid = np.ones((n_prompts * 9, n * 9))
        for c in range(n_prompts):
            for j in range(n):
                grid[c * 9:c * 9 + 8, j * 9:j * 9 + 8] = 1 - images[idx[c, j]]
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
        ax.set_title(LOSS_LABELS[loss], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks(np.arange(n_prompts) * 9 + 4, [str(c) for c in range(n_prompts)], fontsize=7)
    return Figure("samples", "Fig. 4. Samples from nu(image | caption of class c) (rows c = 0..9), inner tilt, "
                  "scale 1: the classifier-like (0,2) loss collapses onto a few images, often of the wrong class.",
                  fig)


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"
