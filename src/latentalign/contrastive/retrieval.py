r"""Retrieval, zero-shot classification and sampling from the learned conditionals (spec §6).

* :func:`recall_at_k`: paired retrieval, row ``i``'s target is column ``i``;
  ``rank_i = #{j != i : S_ij >= S_ii}`` (ties count against the query, so collapsed
  embeddings score 0, never 1), both directions, in row chunks, without sorting.
* :func:`class_match_at_k`: does a top-``k`` candidate share the query's class.
* :func:`zero_shot`: ``argmax_c s(x, class_c)``, with prompt ensembles ``(C, T, e)``.
* :func:`conditional`, :func:`sample`, :func:`diversity`: the model's
  ``nu(. | query)`` on a finite candidate set, ``propto exp(s(query, c) + log w_c)``.

The example is :func:`recall_at_k`'s.
"""

from __future__ import annotations

import torch

from .._deprecate import renamed_kwargs
from .._validate import (
    _to_tensor,
    as_labels,
    as_matrix,
    check_choice,
    check_int,
    check_ints,
    check_positive,
)
from ..train import torch_generator
from .tilts import TILTS, check_embeddings, scores, tilted_scores

__all__ = ["recall_at_k", "class_match_at_k", "prompt_ensemble", "zero_shot", "conditional", "sample", "diversity"]

CHUNK = 4096


def _square_scores(S) -> torch.Tensor:
    S = as_matrix(S, "S", min_samples=1, dtype=None).detach()
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"S: expected a square score matrix (row i pairs with column i), got shape {tuple(S.shape)}")
    return S


def _check_ks(ks, n_candidates: int, name: str = "ks") -> tuple[int, ...]:
    ks = check_ints(ks, name)
    if max(ks) > n_candidates:
        raise ValueError(f"{name}: k = {max(ks)} exceeds the {n_candidates} candidates")
    return ks


@renamed_kwargs(chunk_size="block_size")
def recall_at_k(S, ks=(1, 5), *, block_size: int = CHUNK) -> dict[str, dict[int, float]]:
    """Recall@k of paired retrieval for ``S`` (queries ``u``, rows) and ``S^T`` (queries ``v``).

    ``R@k = mean_i [rank_i < k]``, ``rank_i = #{j != i : S_ij >= S_ii}``. Returns
    ``{"u_to_v": {k: R@k}, "v_to_u": {k: R@k}}``. Memory: ``block_size x N`` booleans.

    Parameters
    ----------
    S : array-like of shape (N, N)
        Scores of queries ``u`` (rows) against candidates ``v`` (columns); pair ``i`` is ``(u_i, v_i)``.
    ks : sequence of int, default (1, 5)
        The cut-offs.
    block_size : int, default 4096
        Rows per block.

    Returns
    -------
    dict
        ``{"u_to_v": {k: R@k}, "v_to_u": {k: R@k}}``.

    Examples
    --------
    >>> import torch
    >>> S = torch.tensor([[3.0, 1.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> recall_at_k(S, ks=(1, 2))
    {'u_to_v': {1: 0.6666666666666666, 2: 1.0}, 'v_to_u': {1: 0.6666666666666666, 2: 1.0}}
    """
    S = _square_scores(S)
    N = S.shape[0]
    ks = _check_ks(ks, N)
    block_size = check_int(block_size, "block_size")
    diag = S.diagonal()
    ranks_uv = torch.empty(N, dtype=torch.int64)
    ranks_vu = torch.empty(N, dtype=torch.int64)
    for start in range(0, N, block_size):
        stop = min(start + block_size, N)
        ranks_uv[start:stop] = (S[start:stop] >= diag[start:stop, None]).sum(1).cpu() - 1
        ranks_vu[start:stop] = (S[:, start:stop] >= diag[None, start:stop]).sum(0).cpu() - 1
    return {
        "u_to_v": {k: float((ranks_uv < k).double().mean()) for k in ks},
        "v_to_u": {k: float((ranks_vu < k).double().mean()) for k in ks},
    }


def _top_k_mask(S: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of each row's ``k`` largest entries, ties broken towards the lower position."""
    kth = torch.topk(S, k, dim=1).values[:, -1:]
    above = S > kth
    tied = S == kth
    room = k - above.sum(1, keepdim=True)
    return above | (tied & (tied.cumsum(1) <= room))


@renamed_kwargs(chunk_size="block_size")
def class_match_at_k(S, query_labels, cand_labels, k: int = 1, *, block_size: int = CHUNK) -> float:
    """Fraction of queries (rows of ``S``, shape ``(q, m)``) with a top-``k`` candidate of their class.

    Top-``k`` by score; among equal scores the lower candidate position wins.

    Parameters
    ----------
    S : array-like of shape (q, m)
        Scores of queries (rows) against candidates (columns).
    query_labels : array-like of shape (q,)
        The queries' classes.
    cand_labels : array-like of shape (m,)
        The candidates' classes.
    k : int, default 1
        The cut-off.
    block_size : int, default 4096
        Rows per block.

    Returns
    -------
    float
        The fraction, in ``[0, 1]``.

    Examples
    --------
    >>> class_match_at_k([[0.9, 0.1], [0.2, 0.8]], [0, 0], [0, 1])
    0.5
    """
    S = as_matrix(S, "S", dtype=None).detach()
    q, m = S.shape
    yq = as_labels(query_labels, "query_labels", n_samples=q).to(S.device)
    yc = as_labels(cand_labels, "cand_labels", n_samples=m).to(S.device)
    k = _check_ks(k, m, "k")[0]
    block_size = check_int(block_size, "block_size")
    hits = 0
    for start in range(0, q, block_size):
        block = S[start:start + block_size]
        same = yc[None, :] == yq[start:start + block_size, None]
        hits += int((_top_k_mask(block, k) & same).any(1).sum())
    return hits / q


def prompt_ensemble(class_emb, tilt: str = "cosine") -> torch.Tensor:
    """``(C, e)`` class embeddings from ``(C, e)`` or ``(C, T, e)`` (``T`` templates per class).

    Cosine tilt: normalise each template's embedding, average, renormalise. Other tilts
    (whose scores depend on norms): the plain average over templates.
    """
    check_choice(tilt, "tilt", TILTS)
    t = _to_tensor(class_emb, "class_emb")
    if t.ndim == 2:
        return as_matrix(t, "class_emb", dtype=None)
    if t.ndim != 3 or 0 in t.shape:
        raise ValueError(f"class_emb: expected shape (C, e) or (C, T, e), got {tuple(t.shape)}")
    flat = as_matrix(t.reshape(-1, t.shape[-1]), "class_emb", dtype=None).reshape(t.shape)
    if tilt != "cosine":
        return flat.mean(1)
    unit = flat / flat.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    mean = unit.mean(1)
    return mean / mean.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def zero_shot(z_x, class_emb, *, tilt: str = "cosine", scale=1.0) -> torch.Tensor:
    """Predicted classes ``argmax_c s(x, c)`` of embeddings against class (or prompt-ensemble) embeddings.

    Parameters
    ----------
    z_x : array-like of shape (n, e)
        Embeddings to classify.
    class_emb : array-like of shape (C, e) or (C, T, e)
        One embedding per class, or ``T`` prompt embeddings per class (ensembled).
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        The score.
    scale : float or torch.Tensor, default 1.0
        ``c = 1 / tau`` (does not change the argmax).

    Returns
    -------
    torch.Tensor of shape (n,)
        int64 predicted classes.

    Examples
    --------
    >>> zero_shot([[1.0, 0.1], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]).tolist()
    [0, 1]
    """
    classes = prompt_ensemble(class_emb, tilt)
    with torch.no_grad():
        return scores(z_x, classes, tilt, scale).argmax(1)


def conditional(z_query, z_cand, tilt: str = "cosine", scale=1.0, log_weights=None) -> torch.Tensor:
    """``nu(c | query)`` over the candidates: rows of ``softmax(s(query, c) + log w_c)``, shape ``(q, m)``.

    ``log_weights (m,)`` reweights the empirical candidate measure (default uniform).

    Parameters
    ----------
    z_query : array-like of shape (q, e)
        The queries.
    z_cand : array-like of shape (m, e)
        The candidates.
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        The score.
    scale : float or torch.Tensor, default 1.0
        ``c = 1 / tau``.
    log_weights : array-like of shape (m,), optional
        Reweights the empirical candidate measure (default uniform).

    Returns
    -------
    torch.Tensor of shape (q, m)
        Each row a probability vector.

    Examples
    --------
    >>> conditional([[0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], tilt="inner").tolist()
    [[0.5, 0.5]]
    """
    check_choice(tilt, "tilt", TILTS)
    z_query, z_cand = check_embeddings(z_query, z_cand, paired=False, min_samples=1)
    if not isinstance(scale, torch.Tensor):
        scale = check_positive(scale, "scale")
    with torch.no_grad():
        logits = tilted_scores(z_query.detach(), z_cand.detach(), tilt, scale)
        if log_weights is not None:
            w = _to_tensor(log_weights, "log_weights").to(logits)
            if w.shape != (logits.shape[1],):
                raise ValueError(f"log_weights: expected shape ({logits.shape[1]},), got {tuple(w.shape)}")
            if bool(torch.isnan(w).any()) or bool(torch.isposinf(w).any()):
                raise ValueError("log_weights: contains NaN or +Inf")
            logits = logits + w
        return torch.softmax(logits, dim=1)


def _check_probs(probs) -> torch.Tensor:
    p = as_matrix(probs, "probs", dtype=None).detach()
    if bool((p < 0).any()) or not torch.allclose(p.sum(1).double(), torch.ones(p.shape[0], dtype=torch.float64),
                                                 atol=1e-4):
        raise ValueError("probs: every row must be a probability vector (non-negative, summing to 1)")
    return p


def sample(probs, n: int, generator: torch.Generator | int = 0) -> torch.Tensor:
    """``n`` candidate indices per row of ``probs`` ``(q, m)``, drawn with replacement: ``(q, n)``.

    ``generator``: a ``torch.Generator`` or an integer seed.

    Parameters
    ----------
    probs : array-like of shape (q, m)
        One probability vector per row.
    n : int
        Draws per row.
    generator : torch.Generator or int, default 0
        The source of randomness, or its seed.

    Returns
    -------
    torch.Tensor of shape (q, n)
        int64 candidate indices.

    Examples
    --------
    >>> sample([[0.0, 1.0]], 3).tolist()
    [[1, 1, 1]]
    """
    p = _check_probs(probs)
    n = check_int(n, "n")
    gen = torch_generator(generator) if not isinstance(generator, torch.Generator) else generator
    return torch.multinomial(p.cpu().double(), n, replacement=True, generator=gen)


def diversity(probs, *, query_labels=None, cand_labels=None, n_draws: int = 100, seed: int = 0) -> dict:
    """How spread out each conditional is, per query (tensors of shape ``(q,)``).

    * ``perplexity``: ``exp(entropy)``, the effective number of candidates;
    * ``distinct``: distinct candidates among ``n_draws`` draws;
    * ``class_mass`` (with labels): the probability of candidates of the query's class.

    Parameters
    ----------
    probs : array-like of shape (q, m)
        The conditionals (rows of :func:`conditional`).
    query_labels : array-like of shape (q,), optional
        The queries' classes (for ``class_mass``).
    cand_labels : array-like of shape (m,), optional
        The candidates' classes (for ``class_mass``).
    n_draws : int, default 100
        Draws per query for ``distinct``.
    seed : int, default 0
        Seed of the draws.

    Returns
    -------
    dict of str to torch.Tensor of shape (q,)
        ``perplexity``, ``distinct`` and (with labels) ``class_mass``.

    Examples
    --------
    >>> d = diversity([[0.5, 0.5], [1.0, 0.0]], n_draws=50)
    >>> [round(float(p), 4) for p in d["perplexity"]]
    [2.0, 1.0]
    """
    p = _check_probs(probs).double().cpu()
    q, m = p.shape
    entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(1)
    draws = sample(p, n_draws, seed)
    out = {
        "perplexity": entropy.exp(),
        "distinct": torch.tensor([len(set(row.tolist())) for row in draws], dtype=torch.float64),
    }
    if (query_labels is None) != (cand_labels is None):
        raise ValueError("query_labels: pass both query_labels and cand_labels, or neither")
    if query_labels is not None:
        yq = as_labels(query_labels, "query_labels", n_samples=q)
        yc = as_labels(cand_labels, "cand_labels", n_samples=m)
        out["class_mass"] = (p * (yc[None, :] == yq[:, None])).sum(1)
    return out
