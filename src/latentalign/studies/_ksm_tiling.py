"""KSM study, tiling: the metabolic (budget) prior makes non-negative linear units tile the ring."""

from __future__ import annotations

import numpy as np

from . import _ksm_figures as figures
from ._ksm_common import TILING, ring_data
from .ksm_geometry import circular_correlation, circular_variance, population_vector_angle, preferred_angles


def run(config, result, fits) -> dict:
    """Linear kernel, non-negative latents, unit-ball budget on the ring: active units, tuning width and the
    population vector.
    """
    per_seed, keep = [], None
    for seed in config["seeds"]:
        ds = ring_data(config, seed)
        theta = ds.views["latent"][:, 0]
        Z = fits(seed, **TILING).embedding_
        active = Z.max(0) > 1e-6
        cv = circular_variance(Z[:, active], theta)
        phi = population_vector_angle(Z, preferred_angles(Z, theta))
        per_seed.append({"active_units": int(active.sum()), "median_circular_variance": float(np.median(cv)),
                         "population_vector_cc": circular_correlation(phi, theta)})
        keep = keep or (theta, Z)
    worst = {"active_units": min(s["active_units"] for s in per_seed),
             "median_circular_variance": max(s["median_circular_variance"] for s in per_seed),
             "population_vector_cc": min(s["population_vector_cc"] for s in per_seed)}
    result.claim("tiling_active", worst["active_units"], str(worst["active_units"]))
    result.claim("tiling_cv", worst["median_circular_variance"], f"{worst['median_circular_variance']:.3f}")
    result.claim("tiling_cc", worst["population_vector_cc"], f"{worst['population_vector_cc']:.4f}")
    result.figures.append(figures.tuning_curves(*keep))
    return {"worst": worst, "per_seed": per_seed}
