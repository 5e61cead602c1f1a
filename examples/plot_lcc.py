"""
Misclustered samples and their targets (lcc)
============================================

One clustering step of latent cluster correction on the digits: a kNN graph of the
(pixel) latents, Louvain communities, each community matched to its majority class
(``docs/lcc.md#eq-matching``), and the samples whose community belongs to another class
marked as misclustered (MC). The exact LCC loss (``docs/lcc.md#eq-exact-lcc``) pulls each
MC latent towards the mean of the nearest correctly clustered latents of its class.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from latentalign import data, lcc
from latentalign.lcc.matching import contingency

digits = data.digits()
state = lcc.cluster_latents(digits.X, digits.y, 10, k=10, seed=0)
mc = state.mc.numpy()
loss_fn = lcc.ExactLCCLoss(k_target=10)
loss = loss_fn(torch.from_numpy(digits.X), state.labels, state.mc, loss_fn.targets(state))

X = digits.X - digits.X.mean(axis=0)
_, _, Vt = np.linalg.svd(X, full_matrices=False)
xy = X @ Vt[:2].T

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
left.scatter(*xy[~mc].T, c=digits.y[~mc], cmap="tab10", s=6, alpha=0.5)
left.scatter(*xy[mc].T, c="k", marker="x", s=18, label=f"misclustered ({mc.sum()})")
left.set_title("digits (2 principal components), MC samples marked")
left.legend(fontsize=8)
M = contingency(state.labels.numpy(), state.communities.numpy(), 10)
right.imshow(M, aspect="auto", cmap="Blues")
right.set_xlabel("community (by decreasing size)")
right.set_ylabel("class")
right.set_title("contingency table; each column goes to its argmax")
fig.tight_layout()

print(f"{M.shape[1]} communities, CC share {1 - mc.mean():.3f}, exact LCC loss on the MC samples {float(loss):.3f}")
