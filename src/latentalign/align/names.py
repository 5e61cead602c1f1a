r"""The grammar of standardized similarity-measure names (Cloos, Yang & Cueva 2024).

A name is ``measure[-key=value]...[-form]``, parts joined by ``-`` (a value in
parentheses is itself a name: ``kernel=(rbf-sigma=1.0)``). The form says how the
measure's score is reported; the transforms are those of the registry's
``similarity/standardization.py``:

=============================  ===========================================================
form                           value
=============================  ===========================================================
``score``                      the score ``s`` (cosine-like, 1 = identical)
``squared_score``              the mean of the squared coefficients (CCA family)
``distance=angular``           ``arccos s``
``distance=euclidean``         ``sqrt(|Xc|^2 + |Yc|^2 - 2 |Xc| |Yc| s)`` (Frobenius norms of the centred inputs)
``distance=squared_euclidean`` the square of the euclidean form
``distance=one_minus_score``   ``1 - s``
``score-negative_log``         ``-log s``
(none)                         the measure's own value
=============================  ===========================================================

Examples
--------
>>> p = parse("cka-kernel=(rbf-sigma=1.0)-hsic=song-distance=angular")
>>> p.measure, p.params["kernel"].measure, p.params["kernel"].params["sigma"], p.params["hsic"], p.form
('cka', 'rbf', '1.0', 'song', 'distance=angular')
>>> str(parse("rsa-compare=kendall-rdm=correlation"))  # parameters in the registry's order
'rsa-rdm=correlation-compare=kendall'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StandardName", "parse", "FORMS", "PARAM_ORDER"]

FORMS = ("score", "squared_score", "distance=angular", "distance=euclidean", "distance=squared_euclidean",
         "distance=one_minus_score", "score-negative_log", "distance=angular_normalized")
# the order in which the registry writes parameters (a name is printed in this order)
PARAM_ORDER = ("kernel", "sigma", "hsic", "alpha", "var", "dim", "rdm", "compare", "topk", "lambda", "components")


@dataclass(frozen=True)
class StandardName:
    """A parsed name: the measure, its parameters (values are strings or nested names) and the form."""

    measure: str
    params: dict = field(default_factory=dict)
    form: str = ""
    flags: tuple[str, ...] = ()  # bare words after the parameters, e.g. "r2", "pearsonr"

    def __str__(self) -> str:
        parts = [self.measure]
        for key in sorted(self.params, key=lambda k: (PARAM_ORDER.index(k) if k in PARAM_ORDER else 99, k)):
            value = self.params[key]
            parts.append(f"{key}=({value})" if isinstance(value, StandardName) else f"{key}={value}")
        parts.extend(self.flags)
        if self.form:
            parts.append(self.form)
        return "-".join(parts)


def _split(text: str, name: str) -> list[str]:
    """Split on ``-`` outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"{name}: unbalanced ')' in {text!r}")
        if ch == "-" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise ValueError(f"{name}: unbalanced '(' in {text!r}")
    parts.append("".join(current))
    if any(not p for p in parts):
        raise ValueError(f"{name}: empty part in {text!r} (two '-' in a row, or one at an end)")
    return parts


def parse(text: str, name: str = "name") -> StandardName:
    """Parse ``text`` into a :class:`StandardName`; a malformed name is a ``ValueError`` naming ``name``.

    >>> parse("svcca-var=0.99-score").params
    {'var': '0.99'}
    >>> parse("cka-kernel=linear-hsic=gretton-score-negative_log").form
    'score-negative_log'
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"{name}: expected a measure name, got {text!r}")
    parts = _split(text, name)
    measure, rest = parts[0], parts[1:]
    if "=" in measure or "(" in measure:
        raise ValueError(f"{name}: {text!r} must start with the measure, not a parameter")
    form = ""
    if len(rest) >= 2 and rest[-2:] == ["score", "negative_log"]:
        form, rest = "score-negative_log", rest[:-2]
    elif rest and rest[-1] in FORMS:
        form, rest = rest[-1], rest[:-1]
    params: dict = {}
    flags: list[str] = []
    for part in rest:
        if "=" not in part:
            if part in FORMS or part == "negative_log":
                raise ValueError(f"{name}: the form {part!r} must come last in {text!r}")
            flags.append(part)
            continue
        key, value = part.split("=", 1)
        if key == "distance":
            raise ValueError(f"{name}: unknown distance form {part!r} in {text!r}; forms: {', '.join(FORMS)}")
        if key in params:
            raise ValueError(f"{name}: parameter {key!r} given twice in {text!r}")
        if value.startswith("(") and value.endswith(")"):
            value = parse(value[1:-1], name)
        elif not value or "(" in value or ")" in value:
            raise ValueError(f"{name}: bad value for {key!r} in {text!r}")
        params[key] = value
    return StandardName(measure, params, form, tuple(flags))
