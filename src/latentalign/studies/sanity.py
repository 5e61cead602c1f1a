"""Sanity study: a digits MLP, its layers recorded, probed linearly and by kNN.

It exercises the whole shared layer end to end (data, encoders, Lightning
training, ``LayerRecorder``, probes, report) before the capability studies land.

Claim checked: a small MLP trained on scikit-learn's digits reaches >= 90% test
accuracy, and its penultimate layer stays linearly decodable (probe >= 90%) —
the reference numbers of ``docs/align.md#align-study`` (0.90-0.93 test accuracy).

Examples
--------
>>> from latentalign.studies import sanity
>>> result = sanity.run(sanity.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from .._extras import require
from ..data import digits
from ..models import MLP, LayerRecorder, layer_names
from ..train import evaluate_classifier, fit_classifier, knn_probe, linear_probe, make_loader, seed_everything
from .base import Claim, Figure, Result, Table

plt = require("matplotlib.pyplot", "the sanity study figures")

TITLE = "Sanity: digits MLP, layer-wise linear and kNN probes"
CLAIMS = {
    "test_accuracy": Claim("test accuracy >= {threshold}", ">=", 0.9),
    "penultimate_probe": Claim("penultimate layer linearly decodable (probe >= {threshold})", ">=", 0.9),
}
DEFAULT_CONFIG = {"hidden": [64, 32], "epochs": 40, "lr": 1e-3, "batch_size": 64, "seed": 0,
                  "test_size": 0.4, "knn_k": 10}
QUICK_CONFIG = {**DEFAULT_CONFIG, "epochs": 12}


def run(config: dict) -> Result:
    """Run the sanity study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    ds = digits()
    X_tr, X_te, y_tr, y_te = train_test_split(
        ds.X, ds.y, test_size=config["test_size"], stratify=ds.y, random_state=config["seed"]
    )
    seed_everything(config["seed"])
    model = MLP(ds.X.shape[1], config["hidden"], int(ds.y.max()) + 1)
    train_loader = make_loader(X_tr, y_tr, batch_size=config["batch_size"], shuffle=True, seed=config["seed"])
    test_loader = make_loader(X_te, y_te, batch_size=512)
    fit_classifier(model, train_loader, epochs=config["epochs"], lr=config["lr"], seed=config["seed"])
    test_acc = evaluate_classifier(model, test_loader)["acc"]

    layers = layer_names(model)
    with LayerRecorder(model, layers) as rec:
        train_rec = rec.record(make_loader(X_tr, y_tr, batch_size=512))
        test_rec = rec.record(test_loader)
    rows = []
    for name in layers:
        Z_tr, Z_te = train_rec.activations[name], test_rec.activations[name]
        rows.append([name, Z_tr.shape[1],
                     linear_probe(Z_tr, y_tr, Z_te, y_te),
                     knn_probe(Z_tr, y_tr, Z_te, y_te, k=config["knn_k"])])

    result = Result(
        summary=(f"MLP {ds.X.shape[1]}-{'-'.join(map(str, config['hidden']))}-10 trained "
                 f"{config['epochs']} epochs on {len(y_tr)} digits; test accuracy {test_acc:.3f}."),
        numbers={"test_accuracy": test_acc,
                 "probes": {r[0]: {"dim": r[1], "linear": r[2], "knn": r[3]} for r in rows}},
        claims=CLAIMS,
    )
    result.tables.append(Table("Probe accuracy on the test split, per recorded layer",
                               ["layer", "dim", "linear probe", f"kNN probe (k={config['knn_k']})"], rows))
    result.figures.append(_probe_figure(rows))
    result.figures.append(_latent_figure(test_rec.activations["penultimate"].numpy(), y_te))
    penultimate = next(r for r in rows if r[0] == "penultimate")
    result.claim("test_accuracy", test_acc, f"{test_acc:.3f}")
    result.claim("penultimate_probe", penultimate[2], f"{penultimate[2]:.3f}")
    return result


def _probe_figure(rows) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r[2] for r in rows], 0.4, label="linear probe")
    ax.bar(x + 0.2, [r[3] for r in rows], 0.4, label="kNN probe")
    ax.set_xticks(x, [r[0] for r in rows])
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("test accuracy")
    ax.legend(loc="lower right")
    return Figure("probes", "Linear and kNN probe accuracy of each recorded layer (test split).", fig)


def _latent_figure(Z: np.ndarray, y: np.ndarray) -> Figure:
    P = PCA(2, random_state=0).fit_transform(Z)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    points = ax.scatter(P[:, 0], P[:, 1], c=y, cmap="tab10", s=6)
    fig.colorbar(points, ax=ax, label="digit")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    return Figure("penultimate_pca", "Penultimate-layer test latents, first two principal components.", fig)
