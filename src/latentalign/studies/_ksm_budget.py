"""KSM study, the metabolic (budget) prior binding: its effect on the latent norm, the ring's geometry and tiling.

The default Gaussian budget (a ball of radius ``2 sigma``) never binds on the ring (the largest
latent norm stays near 1.2), so the default fit is the unbudgeted solution. Here a ball of radius
``config["budget"]["gaussian_radius"]`` (in units of ``sigma = 1``) binds; in the tiling setting the
unit ball is compared with no budget and with a tighter ball of radius ``config["budget"]["tiling_radius"]``.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _ksm_figures as figures
from ._ksm_common import TILING, rel_error, ring_data
from .base import Table
from .ksm_geometry import circular_correlation, circular_variance

ON_SPHERE = 1.0 - 1e-6  # a latent with ||z|| >= this x radius sits on the budget's boundary


def _norms(Z, radius) -> dict:
    n = np.sqrt((Z**2).sum(1))
    return {"rms_norm": float(np.sqrt((n**2).mean())), "max_norm": float(n.max()),
            "on_boundary": float((n >= ON_SPHERE * radius).mean()) if radius is not None else 0.0}


def run(config, result, fits) -> dict:
    """Per seed: Gaussian ring unbudgeted (the default fit) vs a binding ball; tiling with the unit ball,
    no budget and a tighter ball.
    """
    r_g, r_t = config["budget"]["gaussian_radius"], config["budget"]["tiling_radius"]
    gauss_arms = {"default (ball 2 sigma, not binding)": {}, f"ball {r_g} sigma": {"budget_radius": r_g}}
    tiling_arms = {"unit ball": {}, "no budget": {"budget": None}, f"ball {r_t}": {"budget_radius": r_t}}
    per_seed = []
    for seed in config["seeds"]:
        ds = ring_data(config, seed)
        X, theta = ds.X, ds.views["latent"][:, 0]
        entry = {"seed": seed, "gaussian": {}, "tiling": {}}
        for arm, params in gauss_arms.items():
            est = fits(seed, **params)
            Z = est.embedding_
            entry["gaussian"][arm] = {**_norms(Z, est.budget_radius_),
                                      "circular_correlation": circular_correlation(np.arctan2(Z[:, 1], Z[:, 0]),
                                                                                   theta),
                                      "train_rel_error": rel_error(X, est.inverse_transform(Z), X.mean(0)),
                                      "objective": est.objective_}
        for arm, params in tiling_arms.items():
            with warnings.catch_warnings():  # the linear kernel without a budget is unbounded: the point here
                warnings.filterwarnings("ignore", message="budget: the linear kernel", category=UserWarning)
                est = fits(seed, **{**TILING, **params})
            Z = est.embedding_
            active = Z.max(0) > 1e-6
            entry["tiling"][arm] = {**_norms(Z, None if params.get("budget", "ball") is None else est.budget_radius_),
                                    "active_units": int(active.sum()),
                                    "median_circular_variance": float(np.median(circular_variance(Z[:, active],
                                                                                                  theta)))}
        per_seed.append(entry)
    g_ref, g_bound = list(gauss_arms)
    t_ref, t_none, t_tight = list(tiling_arms)
    norm_ratio = max(e["gaussian"][g_bound]["rms_norm"] / e["gaussian"][g_ref]["rms_norm"] for e in per_seed)
    cc = min(e["gaussian"][g_bound]["circular_correlation"] for e in per_seed)
    growth = min(e["tiling"][t_none]["rms_norm"] / e["tiling"][t_ref]["rms_norm"] for e in per_seed)
    sharpen = max(e["tiling"][t_tight]["median_circular_variance"] / e["tiling"][t_ref]["median_circular_variance"]
                  for e in per_seed)
    result.claim("budget_norm", norm_ratio, f"worst seed {norm_ratio:.3f}", radius=f"{r_g} sigma")
    result.claim("budget_ring_cc", cc, f"worst seed {cc:.5f} (unbudgeted: " + ", ".join(
        f"{e['gaussian'][g_ref]['circular_correlation']:.5f}" for e in per_seed) + ")", radius=f"{r_g} sigma")
    result.claim("budget_tiling_growth", growth, f"worst seed {growth:.3f}")
    result.claim("budget_tiling_sharpens", sharpen, f"worst seed {sharpen:.3f}", radius=r_t)
    mean = lambda group, arm, k: float(np.mean([e[group][arm][k] for e in per_seed]))  # noqa: E731
    rows = [["Gaussian (m = 2)", arm] + [f"{mean('gaussian', arm, k):.4f}" for k in
                                         ("rms_norm", "max_norm", "on_boundary", "circular_correlation")]
            + [f"{mean('gaussian', arm, 'train_rel_error'):.4f}", "-", "-"] for arm in gauss_arms]
    rows += [["linear tiling (m = 16)", arm] + [f"{mean('tiling', arm, k):.4f}" for k in
                                                 ("rms_norm", "max_norm", "on_boundary")]
             + ["-", "-", f"{mean('tiling', arm, 'active_units'):.1f}",
                f"{mean('tiling', arm, 'median_circular_variance'):.3f}"] for arm in tiling_arms]
    result.tables.append(Table(
        f"The budget prior binding (ring, mean over {len(per_seed)} seed(s)): RMS and largest latent norm, the share "
        "of latents on the budget's boundary, circular correlation and train error (Gaussian), active units and "
        "median circular variance of the tuning curves (tiling).",
        ["setting", "budget", "RMS ||z||", "max ||z||", "on boundary", "circ. corr.", "train rel. err",
         "active units", "median circ. var."], rows))
    first = config["seeds"][0]  # the figure: the first seed's fits, from the cache
    result.figures.append(figures.budget(
        ring_data(config, first).views["latent"][:, 0],
        {arm: fits(first, **params).embedding_ for arm, params in gauss_arms.items()},
        {arm: fits(first, **{**TILING, **params}).embedding_ for arm, params in tiling_arms.items()}, r_g))
    return {"per_seed": per_seed, "gaussian_radius": r_g, "tiling_radius": r_t}
