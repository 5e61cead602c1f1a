"""
Alignment bounds linear stitching (align)
=========================================

Six views of the same 2000 handwritten digits (UCI Multiple Features) are compared
pairwise with linear CKA, and a ridge stitcher is fit from every view to every other.
Each direction's direct-matching error :math:`e^*` lies below its upper bound
:math:`1 - \\rho\\,\\mathrm{CKA}_b` (``docs/align.md#eq-stitch-bound``), and higher
alignment goes with lower error.
"""

import matplotlib.pyplot as plt
import numpy as np

from latentalign import align, data

views = data.mfeat()
names = list(views.views)
X = {name: views.views[name] for name in names}

cka = np.eye(len(names))
errors, bounds, alignments = [], [], []
for i, a in enumerate(names):
    for j, b in enumerate(names[i + 1:], start=i + 1):
        fit = align.stitch(X[a], X[b])  # both directions, ridge chosen by leave-one-out
        cka[i, j] = cka[j, i] = fit.alignment
        for direction in (fit.forward, fit.backward):
            errors.append(direction.e_star)
            bounds.append(direction.upper)
            alignments.append(fit.alignment)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
im = left.imshow(cka, vmin=0, vmax=1, cmap="viridis")
left.set_xticks(range(len(names)), names)
left.set_yticks(range(len(names)), names)
for (i, j), value in np.ndenumerate(cka):
    left.text(j, i, f"{value:.2f}", ha="center", va="center", color="w" if value < 0.6 else "k", fontsize=8)
left.set_title("linear CKA between views")
fig.colorbar(im, ax=left, fraction=0.046)

right.scatter(alignments, errors, label="$e^*$ (best affine map)", s=18)
right.scatter(alignments, bounds, marker="_", s=80, color="C3", label=r"upper bound $1 - \rho\,$CKA")
right.set_xlabel("CKA$_b$")
right.set_ylabel("relative stitching error")
right.set_title("every direction inside its bound")
right.legend(loc="upper right", fontsize=8)
fig.tight_layout()

print(f"{sum(e <= u + 1e-12 for e, u in zip(errors, bounds))}/{len(errors)} directions inside their bound")
