"""Templated digit captions embedded with the bundled MiniLM (loaded once per module, offline)."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

from latentalign.data import (
    CAPTION_TEMPLATES,
    HELDOUT_TEMPLATES,
    TRAIN_TEMPLATES,
    _captions,
    captions,
    class_captions,
    embed_texts,
)

LABELS = np.repeat(np.arange(10), 12)


@pytest.fixture(scope="module")
def encoded():
    """Load the model with every network connection refused: it must not need one."""
    _captions._model.cache_clear()
    _captions._embed_unique.cache_clear()

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during captions()")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        emb, texts = captions(LABELS, seed=0)
    return emb, texts


def test_offline_environment(encoded):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert os.environ.get("TRANSFORMERS_OFFLINE") == "1"


def test_shape_dtype_unit_norm(encoded):
    emb, texts = encoded
    assert emb.shape == (LABELS.size, 384) and emb.dtype == np.float32
    assert len(texts) == LABELS.size and all(isinstance(t, str) for t in texts)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_texts_come_from_templates(encoded):
    _, texts = encoded
    words = _captions.NUMBER_WORDS
    for label, text in zip(LABELS, texts):
        options = {t.format(word=words[label], numeral=str(label)) for t in CAPTION_TEMPLATES}
        assert text in options
    assert len(set(texts)) > 20  # several templates are used


def test_same_seed_same_texts_and_embeddings(encoded):
    emb, texts = encoded
    emb2, texts2 = captions(LABELS, seed=0)
    assert texts2 == texts
    np.testing.assert_array_equal(emb2, emb)
    _, texts3 = captions(LABELS, seed=1)
    assert texts3 != texts


def test_same_class_closer_than_different_class(encoded):
    emb, _ = encoded
    sim = emb.astype(np.float64) @ emb.T.astype(np.float64)
    same = LABELS[:, None] == LABELS[None, :]
    off_diag = ~np.eye(LABELS.size, dtype=bool)
    within = sim[same & off_diag].mean()
    between = sim[~same].mean()
    assert within > between + 0.05


def test_identical_captions_identical_embeddings(encoded):
    emb, texts = encoded
    first = {}
    for i, t in enumerate(texts):
        if t in first:
            np.testing.assert_array_equal(emb[i], emb[first[t]])
        else:
            first[t] = i


def test_custom_templates_and_class_captions(encoded):
    emb, texts = captions([3, 7], templates=["a handwritten digit {word}"])
    assert texts == ["a handwritten digit three", "a handwritten digit seven"]
    cls, cls_texts = class_captions(HELDOUT_TEMPLATES)
    assert cls.shape == (10, len(HELDOUT_TEMPLATES), 384)
    assert cls_texts[3][0] == HELDOUT_TEMPLATES[0].format(word="three", numeral="3")
    np.testing.assert_allclose(cls[3, 0], embed_texts([cls_texts[3][0]])[0], atol=1e-6)
    assert set(TRAIN_TEMPLATES).isdisjoint(HELDOUT_TEMPLATES)
    assert len(TRAIN_TEMPLATES) == 6 and len(CAPTION_TEMPLATES) == 8


@pytest.mark.parametrize("labels", [[0, 10], [-1, 2], [[1, 2]], [0.5]])
def test_bad_labels(labels):
    with pytest.raises(ValueError, match=r"^labels:"):
        captions(labels)


@pytest.mark.parametrize("templates", [[], ["no placeholder"], ["{word} and {other}"]])
def test_bad_templates(templates):
    with pytest.raises(ValueError, match=r"^templates:"):
        captions([1], templates=templates)


def test_docstring_says_templated():
    assert "templated" in captions.__doc__.lower() and "not human-written" in captions.__doc__
