"""Fine-tuning a pretrained MiniLM: which layers change (Merchant et al. 2020), and LCC in its own setting.

**Task** (:func:`latentalign.data.digit_comparisons`): "the larger of three and 7" -> 7.
Every sentence names two digits and asks for the larger or the smaller, so its words do
not give its label; training, validation and test sentences come from three disjoint
template sets ("larger/smaller/bigger/higher/lower" to train, "greater/lesser" to
validate, "maximum/minimum" to test). Fine-tuning fits the training phrasings and carries
over to new ones only in part, which keeps test accuracy well below 100%: a task that is
not trivially separable, without label noise. The data split is fixed; seeds change the
head's initialisation, the batch order and the dropout masks.

**Training**: the bundled all-MiniLM-L6-v2 under a mean-pooled linear head
(:class:`~latentalign.models.text_classifier.TextClassifier`), embeddings frozen, the six
blocks and the head trained with AdamW (``lr`` for the blocks, ``head_lr`` for the head),
sentences cut at ``max_length`` tokens, 1 torch thread per job. Phase 1: ``epochs[0]``
epochs of CE. Phase 2: every arm starts from that checkpoint (weights and optimizer state)
and sees the same batches for ``epochs[1]`` epochs: CE, CE + LCC with the aligned matching
and CE + LCC with the shuffled matching (the control), LCC on the pooled penultimate
representation (the encoder's output, mean-pooled over the attention mask), k = ``k``,
clustering at every phase-2 epoch start. The weight w of each LCC arm is the one with the
best mean validation accuracy over the seeds, among ``weights``. Every (seed, arm, w) is
one job, in ``workers`` processes.

**Layer-wise change**: on the held-out test sentences, every block's mean-pooled output of
the pre-trained encoder against the CE-fine-tuned one (each seed), and of two fine-tuned
seeds against each other: linear CKA and mutual kNN (``knn_k``), each with a permutation
p-value (``permutations``) and a 95% bootstrap interval (``bootstrap`` resamples).
Block 0 (the frozen embeddings) is a built-in control: identical, CKA = 1.

Published: Merchant et al. 2020 ("What happens to BERT embeddings during fine-tuning?")
find that fine-tuning changes the top layers most and leaves the lower ones close to the
pre-trained model. LCC (``altaris/lcc``) was published as a fine-tuning method for
pretrained networks: ResNet-18 on CIFAR-100 +1.02 pt best / +0.68 pt mean over 12 configs.

Examples
--------
>>> from latentalign.studies import finetune_layers
>>> result = finetune_layers.run(finetune_layers.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from .._extras import require
from .._threads import thread_policy
from ..align import significance
from ..lcc import ClusterCorrection
from ..models import bundled_minilm_path, load_pretrained
from ._finetune_text import (
    PENULTIMATE,
    accuracy,
    build_classifier,
    hidden_states,
    make_optimizer,
    make_split,
    train_epochs,
    trainable_state,
)
from .base import Claim, Figure, Result, Table, run_jobs

plt = require("matplotlib.pyplot", "the fine-tuning study figures")

TITLE = "Fine-tuning a pretrained MiniLM: layer-wise change (Merchant et al. 2020) and LCC"
CLAIMS = {
    "depth": Claim("change grows with depth (Merchant et al. 2020): Spearman rho between block (1-6) and "
                   "1 - CKA(pre-trained, fine-tuned), mean over seeds, >= {threshold}", ">=", 0.8),
    "top_vs_first": Claim("the top block changes more than the first: in every seed, block 6's 95% bootstrap "
                          "interval of CKA(pre-trained, fine-tuned) lies below block 1's"),
    "depth_seeds": Claim("two fine-tuning seeds also part with depth: Spearman rho between block (1-6) and "
                         "1 - CKA(seed i, seed j), mean over pairs, >= {threshold}", ">=", 0.8),
    "related": Claim("every fine-tuned block stays aligned with its pre-trained self beyond chance: largest "
                     "permutation p-value (CKA and mutual kNN, every seed and block) <= {threshold}", "<=", 0.05),
    "not_trivial": Claim("the task is not trivially separable: CE test accuracy (held-out phrasings), mean over "
                         "seeds, <= {threshold}", "<=", 0.95),
    "lcc_gain": Claim("aligned LCC at the validated w beats CE when fine-tuning a pretrained model (published "
                      "+0.68 pt mean): mean test gain over seeds > {threshold} pt", ">", 0.0),
    "lcc_vs_shuffled": Claim("the gain is cluster correction, not its control: aligned minus shuffled LCC (each at "
                             "its validated w), mean over seeds, > {threshold} pt", ">", 0.0),
}
DEFAULT_CONFIG = {
    "seeds": [0, 1, 2],
    "n_train": 300,
    "n_val": 200,
    "n_test": 300,
    "epochs": [1, 3],
    "weights": [0.03, 0.1, 0.3, 1.0],
    "lr": 1e-4,
    "head_lr": 2e-3,
    "weight_decay": 0.01,
    "batch_size": 32,
    "max_length": 32,
    "k": 10,
    "knn_k": 10,
    "permutations": 200,
    "bootstrap": 200,
    "threads": 1,
    "workers": 2,
    "save_dir": None,  # if set, seed 0's CE-fine-tuned model (encoder, tokenizer, head) is saved there
}
QUICK_CONFIG = {
    **DEFAULT_CONFIG,
    "seeds": [0, 1],
    "n_train": 100,
    "n_val": 40,
    "n_test": 60,
    "epochs": [1, 1],
    "weights": [1.0],
    "permutations": 20,
    "bootstrap": 20,
    "workers": 1,
}
ARMS = ("CE", "aligned", "shuffled")
METRICS = ("cka", "mutual_knn")


def _cpu_times() -> float:
    """CPU seconds of this process (its own share of the cores, whatever the load)."""
    return time.process_time()


def _phase1_job(job) -> dict:
    """CE for ``epochs[0]`` epochs from the pre-trained encoder; the checkpoint goes to ``path``."""
    seed, config, path = job
    t0, c0 = time.perf_counter(), _cpu_times()
    split = make_split(config["n_train"], config["n_val"], config["n_test"])
    model, tokenizer = build_classifier(seed)
    opt = make_optimizer(model, config)
    train_epochs(model, opt, tokenizer, split, config["epochs"][0], config, seed=seed)
    torch.save({"model": trainable_state(model), "optimizer": opt.state_dict()}, path)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_times() - c0}


def _arm_job(job) -> dict:
    """One phase-2 arm from the seed's checkpoint: val and test accuracy, LCC records; for CE also the
    held-out hidden states (and, for the first seed with ``save_dir``, the saved model).
    """
    seed, arm, weight, config, path = job
    t0, c0 = time.perf_counter(), _cpu_times()
    split = make_split(config["n_train"], config["n_val"], config["n_test"])
    model, tokenizer = build_classifier(seed)
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"], strict=False)
    opt = make_optimizer(model, config)
    opt.load_state_dict(state["optimizer"])
    corr = None if arm == "CE" else ClusterCorrection(
        PENULTIMATE, 10, weight=weight, k=config["k"], matching=arm, warmup=0, seed=seed, pool="mean")
    records = train_epochs(model, opt, tokenizer, split, config["epochs"][1], config, seed=seed,
                           first_epoch=config["epochs"][0], corr=corr)
    out = {"val": accuracy(model, tokenizer, split, "val", config),
           "test": accuracy(model, tokenizer, split, "test", config), "records": records}
    if arm == "CE":
        out["hidden"] = hidden_states(model.encoder, tokenizer, split, "test", config)
        if config["save_dir"] and seed == config["seeds"][0]:
            model.save_pretrained(config["save_dir"], tokenizer)
    out.update(wall_s=time.perf_counter() - t0, cpu_s=_cpu_times() - c0)
    return out


def _arm_cost(job) -> float:
    return 1.0 if job[1] == "CE" else 1.4  # LCC adds a clustering pass over the training set per epoch


def _train_all(config, folder: Path) -> tuple[dict, dict]:
    """Phase 1 per seed, then every (seed, arm, w) of phase 2: ``{(seed, arm, w): run}`` and the timings."""
    seeds, workers, threads = config["seeds"], config["workers"], config["threads"]
    paths = {s: str(folder / f"phase1_seed{s}.pt") for s in seeds}
    p1 = run_jobs([(_phase1_job, (s, config, paths[s])) for s in seeds], workers, threads=threads)
    jobs = [(s, "CE", 0.0, config, paths[s]) for s in seeds]
    jobs += [(s, arm, w, config, paths[s]) for s in seeds for arm in ARMS[1:] for w in config["weights"]]
    runs = run_jobs([(_arm_job, job) for job in jobs], workers, cost=_arm_cost, threads=threads)
    timing = {"cpu_s": sum(r["cpu_s"] for r in p1 + runs), "job_wall_s": sum(r["wall_s"] for r in p1 + runs),
              "jobs_cpu_s": sum(r["cpu_s"] for r in p1 + runs)}
    return {job[:3]: run for job, run in zip(jobs, runs)}, timing


def _validated(runs, config) -> dict:
    """``{arm: (w, {w: mean val accuracy})}``: each LCC arm's w with the best mean validation accuracy."""
    chosen = {}
    for arm in ARMS[1:]:
        val = {w: float(np.mean([runs[(s, arm, w)]["val"] for s in config["seeds"]])) for w in config["weights"]}
        best = max(config["weights"], key=lambda w: (val[w], -w))
        chosen[arm] = (best, val)
    return chosen


def _similarity(X, Y, config, seed) -> dict:
    """Per block: value, permutation p-value and bootstrap interval of every metric."""
    out = {}
    for name in METRICS:
        options = {"k": config["knn_k"]} if name == "mutual_knn" else {}
        rows = [significance(X[b], Y[b], name, seed=seed, permutations=config["permutations"],
                             bootstrap=config["bootstrap"], **options) for b in range(X.shape[0])]
        out[name] = {"value": [r.value for r in rows], "p": [r.p_value for r in rows],
                     "ci": [list(r.ci) for r in rows]}
    return out


def _layerwise(pre, hidden, config) -> dict:
    seeds = config["seeds"]
    pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
    return {"pre_vs_ft": {str(s): _similarity(pre, hidden[s], config, seed=s) for s in seeds},
            "seed_vs_seed": {f"{a}-{b}": _similarity(hidden[a], hidden[b], config, seed=a) for a, b in pairs}}


def _depth_rho(curves) -> float:
    """Spearman rho of block (1..L) against 1 - mean similarity over the curves (block 0 left out)."""
    change = 1.0 - np.mean([np.asarray(c)[1:] for c in curves], axis=0)
    return float(spearmanr(np.arange(1, change.size + 1), change).statistic)


def _mean_std(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def _arms_summary(runs, chosen, config) -> dict:
    seeds = config["seeds"]
    ce = np.array([runs[(s, "CE", 0.0)]["test"] for s in seeds])
    rows = {"CE": {"w": 0.0, "test": ce.tolist(), "acc": _mean_std(ce), "delta": (0.0, 0.0),
                   "val": _mean_std([runs[(s, "CE", 0.0)]["val"] for s in seeds])}}
    for arm, (w, _) in chosen.items():
        test = np.array([runs[(s, arm, w)]["test"] for s in seeds])
        first = [runs[(s, arm, w)]["records"][0].get("metrics", {}) for s in seeds]
        rows[arm] = {"w": w, "test": test.tolist(), "acc": _mean_std(test), "delta": _mean_std(test - ce),
                     "improved": int((test > ce).sum()),
                     "val": _mean_std([runs[(s, arm, w)]["val"] for s in seeds]),
                     "mc_share_first": float(np.mean([m.get("mc_share", np.nan) for m in first])),
                     "n_mc_per_epoch": float(np.mean([np.mean([r["n_mc"] for r in runs[(s, arm, w)]["records"]])
                                                      for s in seeds]))}
    return rows


def run(config: dict) -> Result:
    """Run the fine-tuning study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    t_start = time.perf_counter()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        runs, timing = _train_all(config, Path(tmp))
    c0 = _cpu_times()
    with thread_policy(threads=config["threads"]):
        encoder, tokenizer = load_pretrained(bundled_minilm_path())
        split = make_split(config["n_train"], config["n_val"], config["n_test"])
        pre = hidden_states(encoder, tokenizer, split, "test", config)
        hidden = {s: runs[(s, "CE", 0.0)]["hidden"] for s in config["seeds"]}
        layers = _layerwise(pre, hidden, config)
    timing["main_cpu_s"] = _cpu_times() - c0
    timing["cpu_s"] += timing["main_cpu_s"]
    chosen = _validated(runs, config)
    arms = _arms_summary(runs, chosen, config)
    wall = time.perf_counter() - t_start
    # on idle cores each job's wall time is its CPU time: the jobs share the workers, the statistics run alone
    idle = timing["jobs_cpu_s"] / max(1, min(config["workers"], 2)) + timing["main_cpu_s"]
    timing.update(wall_s=wall, load_average=load, idle_2core_estimate_s=idle)
    depth = {name: _depth_rho([c[name]["value"] for c in layers["pre_vs_ft"].values()]) for name in METRICS}
    depth_seeds = {name: _depth_rho([c[name]["value"] for c in layers["seed_vs_seed"].values()]) for name in METRICS}
    result = Result(summary="", numbers={
        "layers": layers, "depth_rho": depth, "depth_rho_seeds": depth_seeds, "arms": arms,
        "chosen_weights": {a: {"w": w, "val_acc": {str(k): v for k, v in val.items()}}
                           for a, (w, val) in chosen.items()},
        "timing": timing,
    }, claims=CLAIMS)
    result.tables += [_layer_table(layers, "pre_vs_ft", "Pre-trained vs CE-fine-tuned encoder, per block"),
                      _layer_table(layers, "seed_vs_seed", "Fine-tuning seed vs seed, per block"),
                      _arms_table(arms, chosen)]
    result.figures += [_layer_figure(layers), _arms_figure(arms, runs, chosen, config)]
    _checks(result, layers, depth, depth_seeds, arms)
    result.summary = _sentence(layers, depth, depth_seeds, arms, config, timing)
    return result


def _checks(result, layers, depth, depth_seeds, arms) -> None:
    cka = [c["cka"] for c in layers["pre_vs_ft"].values()]
    result.claim("depth", depth["cka"], f"rho = {depth['cka']:.2f} (mutual kNN: {depth['mutual_knn']:.2f})")
    top = len(cka[0]["value"]) - 1
    result.claim("top_vs_first", all(c["ci"][top][1] < c["ci"][1][0] for c in cka),
                 "; ".join(f"seed {s}: block 1 [{c['ci'][1][0]:.3f}, {c['ci'][1][1]:.3f}], block {top} "
                           f"[{c['ci'][top][0]:.3f}, {c['ci'][top][1]:.3f}]"
                           for s, c in zip(layers["pre_vs_ft"], cka)))
    result.claim("depth_seeds", depth_seeds["cka"],
                 f"rho = {depth_seeds['cka']:.2f} (mutual kNN: {depth_seeds['mutual_knn']:.2f})")
    p_max = max(p for c in layers["pre_vs_ft"].values() for m in METRICS for p in c[m]["p"])
    result.claim("related", p_max, f"largest p = {p_max:.4f}")
    ce = arms["CE"]["acc"]
    result.claim("not_trivial", ce[0], f"CE {100 * ce[0]:.1f} ± {100 * ce[1]:.1f}% over seeds")
    gain = arms["aligned"]["delta"]
    result.claim("lcc_gain", 100 * gain[0], f"{100 * gain[0]:+.2f} ± {100 * gain[1]:.2f} pt "
                 f"({arms['aligned']['improved']}/{len(arms['CE']['test'])} seeds up)")
    diff = 100 * (np.array(arms["aligned"]["test"]) - np.array(arms["shuffled"]["test"]))
    spread = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    result.claim("lcc_vs_shuffled", float(diff.mean()), f"{diff.mean():+.2f} ± {spread:.2f} pt")


def _interval(c, name, b) -> str:
    lo, hi = c[name]["ci"][b]
    return f"{c[name]['value'][b]:.3f} [{lo:.3f}, {hi:.3f}] p={c[name]['p'][b]:.3f}"


def _layer_table(layers, key, caption) -> Table:
    curves = layers[key]
    n_blocks = len(next(iter(curves.values()))["cka"]["value"])
    cols = ["block"] + [f"{m} ({k})" for k in curves for m in METRICS]
    rows = [[str(b)] + [_interval(c, m, b) for c in curves.values() for m in METRICS] for b in range(n_blocks)]
    return Table(caption + " (value [95% bootstrap interval], permutation p; block 0 = frozen embeddings).",
                 cols, rows)


def _arms_table(arms, chosen) -> Table:
    rows = []
    for label, r in arms.items():
        rows.append([label, f"{r['w']:g}", f"{100 * r['val'][0]:.1f}",
                     f"{100 * r['acc'][0]:.1f} ± {100 * r['acc'][1]:.1f}",
                     "–" if label == "CE" else f"{100 * r['delta'][0]:+.2f} ± {100 * r['delta'][1]:.2f}",
                     "–" if label == "CE" else f"{r['improved']}/{len(r['test'])}",
                     "–" if label == "CE" else f"{r['mc_share_first']:.3f}"])
    return Table("Test accuracy (held-out phrasings) of each arm at its validated w, mean ± sd over seeds; "
                 "gain = arm - CE, paired by seed; MC share at the first LCC clustering.",
                 ["arm", "w", "val %", "test %", "gain (pt)", "seeds up", "MC share"], rows)


def _layer_figure(layers) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, name in zip(axes, METRICS):
        for i, (key, style) in enumerate((("pre_vs_ft", "-o"), ("seed_vs_seed", "--s"))):
            for j, (label, c) in enumerate(layers[key].items()):
                v = np.asarray(c[name]["value"])
                ci = np.asarray(c[name]["ci"])
                x = np.arange(v.size) + 0.06 * (j - 1) + 0.03 * i
                # a percentile interval need not contain the value (bootstrap bias): clip the bars at it
                yerr = np.clip([v - ci[:, 0], ci[:, 1] - v], 0, None)
                ax.errorbar(x, v, yerr=yerr, fmt=style, ms=3, capsize=2,
                            label=("pre vs seed " if key == "pre_vs_ft" else "seeds ") + label)
        ax.set_xlabel("block (0 = embeddings)")
        ax.set_ylabel("linear CKA" if name == "cka" else "mutual kNN")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure("layerwise_similarity", "Layer-wise similarity on held-out sentences: pre-trained vs fine-tuned "
                  "(solid, each seed) and seed vs seed (dashed), with 95% bootstrap intervals.", fig)


def _arms_figure(arms, runs, chosen, config) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    ax = axes[0]
    for i, r in enumerate(arms.values()):
        ax.bar(i, 100 * r["acc"][0], yerr=100 * r["acc"][1], capsize=4, alpha=0.6)
        ax.plot(np.full(len(r["test"]), i), 100 * np.asarray(r["test"]), "k.")
    ax.set_xticks(range(len(arms)), [f"{k}\nw={r['w']:g}" if k != "CE" else k for k, r in arms.items()])
    ax.set_ylabel("test accuracy (%)")
    lo = min(min(r["test"]) for r in arms.values())
    ax.set_ylim(max(0, 100 * lo - 10), 100)
    ax = axes[1]
    for arm, (_, val) in chosen.items():
        ax.plot(list(val), [100 * v for v in val.values()], "-o", label=arm)
    ax.axhline(100 * arms["CE"]["val"][0], color="k", ls=":", label="CE")
    ax.set_xscale("log")
    ax.set_xlabel("LCC weight w")
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure("lcc_arms", "Left: test accuracy of CE and the LCC arms at their validated w (bars: mean ± sd "
                  "over seeds; dots: seeds). Right: validation accuracy against w.", fig)


def _sentence(layers, depth, depth_seeds, arms, config, timing) -> str:
    cka = np.mean([c["cka"]["value"] for c in layers["pre_vs_ft"].values()], axis=0)
    seeds = np.mean([c["cka"]["value"] for c in layers["seed_vs_seed"].values()], axis=0)
    grows = depth["cka"] >= CLAIMS["depth"].threshold
    shape = ("Change grows with depth, as Merchant et al. report" if grows else
             "Change does NOT grow steadily with depth here, unlike Merchant et al.")
    ce, al, sh = arms["CE"], arms["aligned"], arms["shuffled"]
    gain = ("aligned LCC beats CE on average" if al["delta"][0] > 0 else "aligned LCC does not beat CE")
    return (f"{len(config['seeds'])} seeds, MiniLM fine-tuned on digit comparisons. CKA(pre-trained, fine-tuned) "
            f"per block 0-{cka.size - 1} (mean over seeds): {', '.join(f'{v:.2f}' for v in cka)}; seed vs seed: "
            f"{', '.join(f'{v:.2f}' for v in seeds)}. {shape} (Spearman rho {depth['cka']:.2f}; seed vs seed "
            f"{depth_seeds['cka']:.2f}). CE test accuracy {100 * ce['acc'][0]:.1f} ± {100 * ce['acc'][1]:.1f}%; "
            f"aligned LCC (w={al['w']:g}) {100 * al['delta'][0]:+.2f} ± {100 * al['delta'][1]:.2f} pt, shuffled "
            f"(w={sh['w']:g}) {100 * sh['delta'][0]:+.2f} ± {100 * sh['delta'][1]:.2f} pt: {gain} when fine-tuning "
            f"a pretrained model (published: +0.68 pt mean, ResNet-18 on CIFAR-100). Time: {timing['wall_s']:.0f} s "
            f"wall at load {timing['load_average']:.1f}; {timing['cpu_s']:.0f} CPU s, i.e. about "
            f"{timing['idle_2core_estimate_s']:.0f} s on 2 idle cores (CPU time of the jobs shared by the workers, "
            "plus the statistics).")
