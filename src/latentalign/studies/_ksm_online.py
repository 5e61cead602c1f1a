"""KSM study, online network: the Hebbian / predictive-coding network against ADMM (linear tiling, Gaussian)."""

from __future__ import annotations

import numpy as np

from ..ksm import ksm_objective
from . import _ksm_figures as figures
from ._ksm_common import TILING, fit, ring_data
from .ksm_geometry import circular_correlation


def run(config, result) -> dict:
    """The online Hebbian network against full-batch ADMM on the ring: the objective each reaches."""
    out = {"linear_tiling": [], "gaussian": []}
    curves = {}
    for seed in config["online_seeds"]:
        ds = ring_data(config, seed)
        for key, params in (("linear_tiling", TILING), ("gaussian", {})):
            batch = fit(ds.X, max_iter=config["max_iter"], random_state=seed, **params)
            net = fit(ds.X, solver="online", max_iter=config["online_epochs"], random_state=seed, **params)
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
        result.claim(claim, worst, f"worst f_online / f_batch = {worst:.3f}")
    result.figures.append(figures.online_vs_batch(curves))
    return out
