"""Digit comparisons: every label is the max or min its sentence asks for, classes balanced, splits disjoint."""

import re

import numpy as np
import pytest

from latentalign.data import (
    COMPARISON_TEST_TEMPLATES,
    COMPARISON_TRAIN_TEMPLATES,
    COMPARISON_VAL_TEMPLATES,
    digit_comparisons,
)
from latentalign.data._captions import NUMBER_WORDS

_DIGIT = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r"|\d)\b")
_MAX_WORDS = ("larger", "bigger", "higher", "maximum", "greater")


def _answer(text: str) -> int:
    """The label read by hand: the two digits mentioned, and the max or min by the question's word."""
    digits = [int(m) if m.isdigit() else NUMBER_WORDS.index(m) for m in _DIGIT.findall(text)]
    assert len(digits) == 2 and digits[0] != digits[1], text
    return max(digits) if any(w in text for w in _MAX_WORDS) else min(digits)


@pytest.mark.parametrize("templates", [COMPARISON_TRAIN_TEMPLATES, COMPARISON_VAL_TEMPLATES,
                                       COMPARISON_TEST_TEMPLATES])
def test_labels_are_the_digit_asked_for_and_classes_balanced(templates):
    texts, labels = digit_comparisons(203, templates=templates, seed=3)
    assert len(set(texts)) == 203 and labels.dtype == np.int64
    assert [_answer(t) for t in texts] == labels.tolist()
    assert np.bincount(labels).tolist() == [21, 21, 21] + [20] * 7


def test_word_alone_does_not_give_the_label():
    """Each digit occurs as the answer and as the other digit: words alone cannot tell the class."""
    texts, labels = digit_comparisons(400, seed=0)
    mentioned_not_answer = {d for t, y in zip(texts, labels) for d in
                            [int(m) if m.isdigit() else NUMBER_WORDS.index(m) for m in _DIGIT.findall(t)] if d != y}
    assert mentioned_not_answer == set(range(10))


def test_template_sets_are_disjoint_and_seeded():
    words = lambda ts: {t.split("{")[0] + t.split("}")[-1] for t, _ in ts}
    assert not words(COMPARISON_TRAIN_TEMPLATES) & words(COMPARISON_VAL_TEMPLATES)
    assert not (words(COMPARISON_TRAIN_TEMPLATES) | words(COMPARISON_VAL_TEMPLATES)) & words(COMPARISON_TEST_TEMPLATES)
    a, b = digit_comparisons(50, seed=1), digit_comparisons(50, seed=1)
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and digit_comparisons(50, seed=2)[0] != a[0]


def test_exclude_keeps_a_second_draw_disjoint():
    first, _ = digit_comparisons(300, seed=0)
    second, _ = digit_comparisons(300, seed=1, exclude=first)
    assert not set(first) & set(second)


@pytest.mark.parametrize("kwargs, words", [
    ({"n": 0}, "n:"),
    ({"n": 10, "templates": [("the larger of {x}", "max")]}, "templates:"),
    ({"n": 10, "templates": [("the larger of {x} and {y}", "median")]}, "templates:"),
    ({"n": 10, "templates": "the larger of {x} and {y}"}, "templates:"),
    # one "max" template: class 0 is never the larger digit
    ({"n": 10, "templates": [("the larger of {x} and {y}", "max")]}, "n: class 0 has 0 sentences"),
])
def test_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        digit_comparisons(**kwargs)
