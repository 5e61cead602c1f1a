"""KSM study, online network: the Hebbian / predictive-coding network against ADMM (linear tiling, Gaussian)."""

from __future__ import annotations

import numpy as np

from ..ksm import ksm_objective
from . import _ksm_figures as figures
from ._ksm_common import TILING, ring_data
from .base import Table
from .ksm_geometry import circular_correlation

SETTINGS = {"linear_tiling": TILING, "gaussian": {}}


def run(config, result, fits) -> dict:
    """The online Hebbian network against full-batch ADMM on the ring: the objective each reaches.

    ``config["online_seeds"]`` gives each setting's seeds; the ADMM reference is the shared ring fit.
    """
    out = {key: [] for key in SETTINGS}
    curves = {}
    for key, params in SETTINGS.items():
        for seed in config["online_seeds"][key]:
            ds = ring_data(config, seed)
            batch = fits(seed, **params)
            net = fits(seed, solver="online", max_iter=config["online_epochs"], **params)
            Xn = (ds.X - net.mean_) / net.scale_
            kernel = params.get("kernel", "rbf")
            f_on, f_b = (ksm_objective(Xn, e, kernel=kernel) for e in (net.embedding_, batch.embedding_))
            entry = {"seed": seed, "f_online": f_on, "f_batch": f_b, "ratio": f_on / f_b}
            if key == "gaussian":
                Z = net.embedding_
                entry["circular_correlation"] = circular_correlation(np.arctan2(Z[:, 1], Z[:, 0]),
                                                                     ds.views["latent"][:, 0])
            out[key].append(entry)
            curves.setdefault(key, (net.history_["objective"], f_b))
    for key, claim in (("linear_tiling", "online_linear"), ("gaussian", "online_gaussian")):
        worst = max(e["ratio"] for e in out[key])
        result.claim(claim, worst, f"worst f_online / f_batch = {worst:.3f} over {len(out[key])} seed(s)")
    gauss = out["gaussian"]
    out["gaussian_summary"] = {
        "ratio_range": [min(e["ratio"] for e in gauss), max(e["ratio"] for e in gauss)],
        "circular_correlation_range": [min(e["circular_correlation"] for e in gauss),
                                       max(e["circular_correlation"] for e in gauss)]}
    result.tables.append(Table(
        "Online Hebbian network vs full-batch ADMM on the ring: per-sample objective f of each one's latents "
        "(circular correlation of the online latents for the Gaussian kernel, m = 2).",
        ["setting", "seed", "f online", "f ADMM", "ratio", "circ. corr."],
        [[key, e["seed"], f"{e['f_online']:.5f}", f"{e['f_batch']:.5f}", f"{e['ratio']:.3f}",
          f"{e['circular_correlation']:.3f}" if "circular_correlation" in e else "-"]
         for key in SETTINGS for e in out[key]]))
    result.figures.append(figures.online_vs_batch(curves))
    return out
