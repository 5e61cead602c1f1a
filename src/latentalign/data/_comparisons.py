"""Digit comparisons: "the larger of three and 7" -> 7, a text task that needs more than its words.

Every sentence names two different digits ``x`` and ``y`` (each as a number word or a
numeral) and asks for the larger or the smaller one; its label is that digit. Both digits
occur in every sentence, in both orders, so neither the words nor their positions give
the answer: a model has to know which digit is larger and which way the sentence asks.
Each class ``a`` has exactly 9 partner digits (those below it under a "larger" template,
those above it under a "smaller" one), so the classes are balanced.

Three disjoint template sets phrase the question differently (no template word is a number word):
``COMPARISON_TRAIN_TEMPLATES`` (training), ``COMPARISON_VAL_TEMPLATES`` (validation: model
selection on phrasings never trained on) and ``COMPARISON_TEST_TEMPLATES`` (test: still
other phrasings). Fine-tuning fits the training phrasings perfectly and transfers only in
part to new ones: a MiniLM fine-tuned for 4 epochs on 300 sentences answers about 93% of
"greater/lesser" sentences and about 70% of "maximum/minimum" ones, so the harder pair is
the test set (CE well below 100%).

Examples
--------
>>> texts, labels = digit_comparisons(2, templates=COMPARISON_TEST_TEMPLATES, seed=0)
>>> texts, labels.tolist()
(['the minimum of seven and 0', 'the minimum of three and 1'], [0, 1])
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np

from .._validate import check_int, check_seed
from ._captions import NUMBER_WORDS

__all__ = ["COMPARISON_TRAIN_TEMPLATES", "COMPARISON_VAL_TEMPLATES", "COMPARISON_TEST_TEMPLATES",
           "digit_comparisons"]

#: ``(template, rule)``: ``{x}``, ``{y}`` are the two digits; the label is ``max`` or ``min`` of them.
COMPARISON_TRAIN_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("the larger of {x} and {y}", "max"),
    ("the smaller of {x} and {y}", "min"),
    ("whichever is bigger, {x} or {y}", "max"),
    ("whichever is smaller, {x} or {y}", "min"),
    ("of {x} and {y}, the higher", "max"),
    ("of {x} and {y}, the lower", "min"),
)
COMPARISON_VAL_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("the greater of {x} and {y}", "max"),
    ("the lesser of {x} and {y}", "min"),
)
COMPARISON_TEST_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("the maximum of {x} and {y}", "max"),
    ("the minimum of {x} and {y}", "min"),
)
_RULES = {"max": max, "min": min}


def _check(templates) -> tuple[tuple[str, str], ...]:
    if isinstance(templates, str) or not isinstance(templates, Sequence) or not templates:
        raise ValueError("templates: expected a non-empty sequence of (template, 'max' or 'min') pairs")
    for item in templates:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
                and item[1] in _RULES):
            raise ValueError(f"templates: expected (template, 'max' or 'min') pairs, got {item!r}")
        fields = {f for _, f, _, _ in string.Formatter().parse(item[0]) if f is not None}
        if fields != {"x", "y"}:
            raise ValueError(f"templates: {item[0]!r} must use exactly the fields {{x}} and {{y}}")
    return tuple((t, r) for t, r in templates)


def _by_class(templates: tuple[tuple[str, str], ...], banned: set) -> list[list[str]]:
    """Every sentence of the templates outside ``banned``, grouped by label: each ordered pair ``x != y``
    and word/numeral form of both digits.
    """
    mention = lambda d, numeral: str(d) if numeral else NUMBER_WORDS[d]
    out: list[list[str]] = [[] for _ in range(10)]
    for template, rule in templates:
        for x in range(10):
            for y in range(10):
                if x == y:
                    continue
                for nx in (False, True):
                    for ny in (False, True):
                        text = template.format(x=mention(x, nx), y=mention(y, ny))
                        if text not in banned:
                            out[_RULES[rule](x, y)].append(text)
    return out


def digit_comparisons(n: int, *, templates: Sequence = COMPARISON_TRAIN_TEMPLATES, seed: int = 0,
                      exclude: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """``n`` distinct sentences, shuffled, and their labels (the digit each asks for), balanced over
    the 10 classes (``n // 10`` each, one more for the first ``n % 10``), none of them in ``exclude``.
    """
    n = check_int(n, "n")
    templates = _check(templates)
    rng = np.random.default_rng(check_seed(seed))
    texts, labels = [], []
    for a, pool in enumerate(_by_class(templates, set(exclude))):
        want = n // 10 + (a < n % 10)
        if want > len(pool):
            raise ValueError(f"n: class {a} has {len(pool)} sentences in these templates (outside exclude), "
                             f"{want} asked (n={n})")
        texts += [pool[i] for i in rng.choice(len(pool), size=want, replace=False)]
        labels += [a] * want
    order = rng.permutation(n)
    return [texts[i] for i in order], np.asarray(labels, dtype=np.int64)[order]
