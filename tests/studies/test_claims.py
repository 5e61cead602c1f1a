"""Every study's claims table: a claim's sentence quotes exactly the threshold that is asserted."""

import re
import string

import pytest

from latentalign.studies.base import STUDIES, Claim, Result, load_study

# a number right after a comparison is a threshold: it must come from the claim, not the text
LITERAL_THRESHOLD = re.compile(r"(<=|>=|<|>|≤|≥|±|within|above|below|at least|at most)\s*-?\.?\d")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_each_claim_quotes_the_threshold_it_asserts(name):
    study = load_study(name)
    assert study.CLAIMS, name
    for key, claim in study.CLAIMS.items():
        assert isinstance(claim, Claim), key
        assert not LITERAL_THRESHOLD.search(claim.text), f"{name}.{key}: a literal threshold in {claim.text!r}"
        rendered = claim.render(**{f: 1.0 for f in _fields(claim.text) - {"threshold", "lo", "hi"}})
        bounds = claim.threshold if claim.op == "in" else [] if claim.op is None else [claim.threshold]
        for bound in bounds:
            assert str(bound) in rendered, f"{name}.{key}: {rendered!r} does not quote {bound}"


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_configs_carry_no_thresholds(name):
    """Quick and default runs check the same CLAIMS: a config only sizes the experiments."""
    study = load_study(name)
    assert set(study.QUICK_CONFIG) <= set(study.DEFAULT_CONFIG)
    words = re.compile(r"(^|_)(checks?|targets?|tol|tolerances?|thresholds?|floor|band|min_accuracy)(_|$)")
    for config in (study.DEFAULT_CONFIG, study.QUICK_CONFIG):
        assert not [k for k in config if words.search(k)], (name, list(config))


def test_a_claim_must_quote_its_threshold():
    with pytest.raises(ValueError, match="text: must quote its threshold as {threshold}"):
        Claim("accuracy >= 0.9", ">=", 0.9)
    with pytest.raises(ValueError, match="{lo} and {hi}"):
        Claim("slope in [-0.7, -0.3]", "in", (-0.7, -0.3))
    with pytest.raises(ValueError, match="op: expected one of"):
        Claim("x {threshold}", "==", 1)
    with pytest.raises(ValueError, match="threshold: a yes/no claim has none"):
        Claim("x holds", None, 0.5)


@pytest.mark.parametrize("op, threshold, value, holds", [
    (">=", 0.9, 0.9, True), (">", 0.9, 0.9, False), ("<=", 0.1, 0.1, True), ("<", 0.1, 0.1, False),
    ("in", (1.9, 2.2), 2.46, False), ("in", (1.9, 2.2), 1.9, True), (None, None, False, False), (None, None, 1, True),
])
def test_claim_holds(op, threshold, value, holds):
    text = {"in": "ratio in [{lo}, {hi}]", None: "it holds"}.get(op, "value {threshold}")
    assert Claim(text, op, threshold).holds(value) is holds


def test_result_records_the_rendered_claim_with_its_key():
    r = Result("", claims={"ratio": Claim("{case}: ratio in [{lo}, {hi}]", "in", (1.9, 2.2))})
    r.claim("ratio", 2.46, "2.46", case="σ = 1")
    assert (r.checks[0].claim, r.checks[0].passed, r.checks[0].key) == ("σ = 1: ratio in [1.9, 2.2]", False, "ratio")
    with pytest.raises(KeyError, match="'gap' is not one of this study's claims"):
        r.claim("gap", 0.1)
