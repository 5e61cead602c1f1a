"""Kernel Similarity Matching (KSM): an implicit generative model from kernel similarity.

Choudhary, Masset, Ba, *Implicit Generative Modeling by Kernel Similarity Matching*
(arXiv 2503.00655); the definitions this library uses are in ``docs/ksm.md``.

- :class:`KernelSimilarityMatching`: the scikit-learn estimator (ADMM, minibatch,
  online network; ``transform`` / ``inverse_transform`` / ``sample`` / ``interpolate`` /
  ``complete`` / ``score_samples``).
- The objective per sample (:func:`ksm_objective`), the latent kernel (:func:`latent_kernel`)
  and the generative map (:func:`decode`); the objective's other forms (gradients, the
  min-max and dictionary forms) are in :mod:`latentalign.ksm.objective`, the prior's prox in
  :mod:`latentalign.ksm.prox`.
- :func:`save_model` / :func:`load_model`: a fitted estimator to and from a ``.pt`` file
  (tensors and plain values only, loaded with ``weights_only=True``).
"""

from .._deprecate import moved_objects
from .estimator import KernelSimilarityMatching
from .io import load_model, save_model
from .objective import decode, ksm_objective, latent_kernel

__all__ = [
    "KernelSimilarityMatching",
    "save_model",
    "load_model",
    "ksm_objective",
    "latent_kernel",
    "decode",
]

# The objective's other forms and the prior's prox left the face in 0.2 (deprecated here,
# removed in 0.3): import them from ``ksm.objective`` and ``ksm.prox``.
__getattr__ = moved_objects(
    __name__,
    objective=["dictionary_objective", "ksm_gradient", "ksm_sigma_gradient", "minmax_value", "optimal_dictionary",
               "prediction_error"],
    prox=["prox_latent"],
)
