"""Figures of the KSM study (``ksm_study``): plain matplotlib, one function per figure."""

from __future__ import annotations

import numpy as np

from .._extras import require
from .base import Figure
from .ksm_geometry import preferred_angles

plt = require("matplotlib.pyplot", "the KSM study figures")


def manifolds(figs: dict, out: dict, ring_sweep) -> list[Figure]:
    """Latents coloured by the true coordinate, the objective per iteration, the decoded ring circle
    (``ring_sweep``: the data and the sweep projected on the ring's plane, or None), generation distances.
    """
    fig, axes = plt.subplots(1, len(figs), figsize=(4 * len(figs), 3.6), squeeze=False)
    for ax, (name, (ds, _, est)) in zip(axes[0], figs.items()):
        Z = est.embedding_
        colour = ds.views["latent"][:, 0]
        ax.scatter(Z[:, 0], Z[:, 1], c=colour, cmap="twilight" if name != "swiss_roll" else "viridis", s=8)
        ax.set_title(f"{name}: latents 1-2 (colour: true {'angle' if name != 'swiss_roll' else 't'})", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
    figures = [Figure("manifold_latents", "Learned latents coloured by the true coordinate (first seed).", fig)]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, (_, _, est) in figs.items():
        ax.semilogy(est.history_["objective"], label=name)
    ax.set_xlabel("ADMM iteration")
    ax.set_ylabel("f + mean penalty")
    ax.legend()
    figures.append(Figure("objective", "Objective per ADMM iteration (first seed).", fig))
    if ring_sweep is not None:
        P, S = ring_sweep
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(P[:, 0], P[:, 1], s=6, c="0.7", label="data (projected)")
        ax.plot(S[:, 0], S[:, 1], "r-", lw=1.5, label="decoded latent circle")
        ax.set_aspect("equal")
        ax.legend(fontsize=8)
        figures.append(Figure("ring_sweep", "Ring: the decoded latent circle in the data's plane.", fig))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = list(out)
    x = np.arange(len(names))
    for i, (key, label) in enumerate((("gen_distance", "KSM samples"), ("data_distance", "data"),
                                      ("gaussian_distance", "Gaussian fit"))):
        ax.bar(x + (i - 1) * 0.27, [out[n][key] for n in names], 0.27, label=label)
    ax.set_xticks(x, names)
    ax.set_yscale("log")
    ax.set_ylabel("mean distance to the manifold")
    ax.legend(fontsize=8)
    figures.append(Figure("generation_distance", "Distance to the true manifold: KSM samples, data, Gaussian.", fig))
    return figures


def tuning_curves(theta, Z) -> Figure:
    """Unit activity against the true angle (tiling, first seed)."""
    order = np.argsort(theta)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(theta[order], Z[order], lw=1)
    ax.set_xlabel("true angle")
    ax.set_ylabel("unit activity")
    return Figure("tuning_curves", "Tiling: tuning curves of 16 non-negative linear units under a "
                  "unit-ball budget (ring, first seed).", fig)


def budget(theta, gaussian: dict, tiling: dict, radius: float) -> Figure:
    """Gaussian latents with and without a binding ball (its circle drawn); the tiling units' mean tuning
    curve (each unit centred on its preferred angle, scaled to peak 1) under each budget.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    ax = axes[0]
    for (arm, Z), marker in zip(gaussian.items(), ("o", "x")):
        ax.scatter(Z[:, 0], Z[:, 1], c=theta, cmap="twilight", s=8, marker=marker, label=arm)
    a = np.linspace(0, 2 * np.pi, 200)
    ax.plot(radius * np.cos(a), radius * np.sin(a), "k--", lw=0.8, label=f"budget ||z|| = {radius}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("Gaussian ring latents (colour: true angle)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    for arm, Z in tiling.items():  # each unit centred on its preferred angle and scaled to peak 1
        x = np.angle(np.exp(1j * (theta[:, None] - preferred_angles(Z, theta)[None])))
        y = Z / np.maximum(Z.max(0), 1e-300)
        bins = np.linspace(-np.pi, np.pi, 37)
        which = np.clip(np.digitize(x.ravel(), bins) - 1, 0, 35)
        mean = np.bincount(which, y.ravel(), 36) / np.maximum(np.bincount(which, minlength=36), 1)
        ax.plot(0.5 * (bins[1:] + bins[:-1]), mean, lw=1.2, label=arm)
    ax.set_xlabel("angle from the unit's preferred angle")
    ax.set_ylabel("activity / peak (mean over units)")
    ax.set_title("Tiling: mean tuning curve per budget", fontsize=9)
    ax.legend(fontsize=7)
    return Figure("budget_prior", "The budget prior binding: Gaussian latents pulled onto a ball of radius "
                  f"{radius} (left); the tiling units' mean tuning curve under the unit ball, no budget and a tighter "
                  "ball (right; first seed).", fig)


def online_vs_batch(curves: dict) -> Figure:
    """Per-epoch loss of the online network against the ADMM objective, one panel per setting."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (key, (hist, f_b)) in zip(axes, curves.items()):
        ax.plot(np.arange(1, len(hist) + 1), hist, "o-", label="online: epoch loss")
        ax.axhline(f_b, color="r", ls="--", label="ADMM f")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    return Figure("online_vs_batch", "Online Hebbian network: per-epoch loss against the ADMM "
                  "objective (ring, first seed).", fig)


def digits_error(sizes: list, errors: dict) -> Figure:
    """Test reconstruction error against latent size, one line per method."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label in errors:
        ax.plot(sizes, [errors[label][str(m)] for m in sizes], "o-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("latent size m")
    ax.set_ylabel("test relative error")
    ax.legend(fontsize=7)
    return Figure("digits_error", "Digits: test reconstruction error vs latent size.", fig)


def digit_samples(grids: dict, strips: list) -> Figure:
    fig, axes = plt.subplots(1, len(grids) + 1, figsize=(4 * (len(grids) + 1), 4))
    for ax, (label, X) in zip(axes, grids.items()):
        ax.imshow(tile(X, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    axes[-1].imshow(np.vstack([tile(S, len(S)) for S in strips]), cmap="gray_r", vmin=0, vmax=1)
    axes[-1].set_title("KSM interpolation strips", fontsize=9)
    axes[-1].axis("off")
    return Figure("digit_samples", "Generated digits: KSM samples, PCA-Gaussian samples, and decoded latent "
                  "interpolations between pairs of test digits.", fig)


def tile(X, cols: int) -> np.ndarray:
    """8x8 digit images laid out ``cols`` to a row, one blank pixel between them."""
    rows = int(np.ceil(len(X) / cols))
    canvas = np.zeros((rows * 9, cols * 9))
    for i, x in enumerate(X):
        r, c = divmod(i, cols)
        canvas[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = x.reshape(8, 8)
    return canvas


def inpainting(X_te, mask, filled) -> Figure:
    """Test digits, their observed half (grey = hidden) and KSM's completion."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for ax, (label, X) in zip(axes, (("test digits", X_te[:8]), ("observed half", np.where(mask, 0.5, X_te)[:8]),
                                     ("KSM completion", filled[:8]))):
        ax.imshow(tile(X, 4), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    return Figure("inpainting", "Inpainting: test digits, their observed half (grey = hidden), "
                  "and KSM's completion.", fig)
