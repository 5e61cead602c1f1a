"""
Joint embedding needs weaker augmentations than reconstruction (ssl)
====================================================================

The linear closed forms of reconstruction (RC) and joint embedding (JE) on digits
(PCA to 20 signal coordinates plus 20 strongly corrupted noise coordinates). As the
augmentation's alignment with the noise, :math:`\\alpha^2`, grows, JE reaches the oracle
accuracy as soon as :math:`\\alpha^2 > \\alpha^2_{JE}` while RC needs
:math:`\\alpha^2` near the much larger :math:`\\alpha^2_{RC}`
(``docs/ssl.md#eq-ssl-thresholds``).
"""

import matplotlib.pyplot as plt
import numpy as np

from latentalign.ssl import joint_embedding_closed_form, make_linear_dataset, reconstruction_closed_form
from latentalign.train import linear_probe

k = 20
ds = make_linear_dataset("digits", k=k, n_noise=20, gamma_max=100.0, seed=0)
thresholds = ds.model.thresholds()
oracle = linear_probe(ds.Xc_train[:, :k], ds.y_train, ds.Xc_test[:, :k], ds.y_test, kind="lstsq")

alpha2 = np.array([0.0, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256])
accuracy = {"RC": [], "JE": []}
for a2 in alpha2:
    Sigma = ds.model.Sigma(np.sqrt(a2))
    for family, M in (("RC", reconstruction_closed_form(ds.Xc_train, Sigma, k).E),
                      ("JE", joint_embedding_closed_form(ds.Xc_train, Sigma, k).W)):
        accuracy[family].append(linear_probe(ds.Xc_train @ M.T, ds.y_train, ds.Xc_test @ M.T, ds.y_test,
                                             kind="lstsq"))

fig, ax = plt.subplots(figsize=(6.5, 4.2))
x = alpha2 + 0.1  # log axis: shift the alpha = 0 point
for family, marker in (("RC", "o"), ("JE", "s")):
    ax.plot(x, accuracy[family], marker=marker, label=family)
ax.axhline(oracle, color="0.5", ls="--", label="oracle (clean coordinates)")
ax.axvline(thresholds.alpha2_je + 0.1, color="C1", ls=":", label=r"$\alpha^2_{JE}$")
ax.axvline(thresholds.alpha2_rc + 0.1, color="C0", ls=":", label=r"$\alpha^2_{RC}$")
ax.set_xscale("log")
ax.set_xlabel(r"$\alpha^2 + 0.1$ (augmentation aligned with the noise)")
ax.set_ylabel("test accuracy (linear probe)")
ax.legend(fontsize=8)
fig.tight_layout()

print(f"alpha2_RC = {thresholds.alpha2_rc:.1f}, alpha2_JE = {thresholds.alpha2_je:.2f}")
