"""Kernel Similarity Matching (KSM): an implicit generative model from kernel similarity.

Choudhary, Masset, Ba, *Implicit Generative Modeling by Kernel Similarity Matching*
(arXiv 2503.00655); the definitions this library uses are in ``docs/ksm.md``.

- :class:`KernelSimilarityMatching`: the scikit-learn estimator (ADMM, minibatch,
  online network; ``transform`` / ``inverse_transform`` / ``sample`` / ``interpolate`` /
  ``complete`` / ``score_samples``).
- The objective's forms, per sample: :func:`ksm_objective`, :func:`ksm_gradient`, :func:`ksm_sigma_gradient`,
  :func:`prediction_error`, :func:`minmax_value`, :func:`optimal_dictionary`,
  :func:`dictionary_objective`, :func:`decode`, :func:`latent_kernel`; the prior's
  :func:`prox_latent`.
- :func:`save_model` / :func:`load_model`: a fitted estimator to and from a ``.pt`` file
  (tensors and plain values only, loaded with ``weights_only=True``).
"""

from .estimator import KernelSimilarityMatching
from .objective import (
    decode,
    dictionary_objective,
    ksm_gradient,
    ksm_objective,
    ksm_sigma_gradient,
    latent_kernel,
    minmax_value,
    optimal_dictionary,
    prediction_error,
)
from .prox import prox_latent

__all__ = [
    "KernelSimilarityMatching",
    "decode",
    "dictionary_objective",
    "ksm_gradient",
    "ksm_objective",
    "ksm_sigma_gradient",
    "latent_kernel",
    "minmax_value",
    "optimal_dictionary",
    "prediction_error",
    "prox_latent",
]
