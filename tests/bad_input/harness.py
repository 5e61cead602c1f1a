"""The bad-input suite's table format: one ``Case`` per (callable, input family).

A case either expects an error (``raises``) whose message starts with ``arg + ":"`` and
contains ``words``, or a valid value (``raises=None``) that ``check`` accepts. CLI cases
(``CliCase``) expect exit status 2 and exactly one line on stderr that starts with
``latentalign: error: `` and contains ``words``.

Case modules are ``tests/bad_input/cases_*.py``; each defines ``CASES``, a list of
``Case``/``CliCase``. ``test_bad_input.py`` runs them all and checks the table's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

FAMILIES = (
    "non_finite",  # NaN / Inf in data, weights, scalars
    "extreme_scale",  # finite data scaled by 1e+-150..1e+-300
    "degenerate",  # constant, identical rows, zero rows, too few samples/classes
    "rank_dtype_order",  # wrong ndim/shape, dtype (object, complex, longdouble), byte order
    "flag_type",  # a non-bool flag, a string where a number goes, a float where an int goes
    "out_of_range",  # options outside their range (k, dims, dim, weights, lr...)
    "wrong_file",  # missing, truncated, garbage, wrong type of file
    "wrong_checkpoint",  # corrupt checkpoint, another architecture or config
    "unwritable_output",  # unwritable folder, --out an existing directory, parent a file
)


@dataclass(frozen=True)
class Case:
    """One public call on one bad (or valid-but-unusual) input."""

    family: str
    name: str
    call: Callable[[], object]
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = ValueError
    arg: str | None = None  # the message starts with f"{arg}:"
    words: str = ""  # and contains these words
    check: Callable[[object], bool] | None = None  # for raises=None: the value is right

    def __post_init__(self):
        assert self.family in FAMILIES, self.family
        assert (self.raises is None) == (self.check is not None), f"{self.name}: raises xor check"
        assert self.raises is None or self.arg, f"{self.name}: an error case names its argument"


@dataclass(frozen=True)
class CliCase:
    """One ``latentalign`` command line on bad input: exit 2, one line naming the problem.

    ``argv`` items may hold ``{p}``, replaced by a per-case temporary folder that ``setup(p)``
    fills first (files to read, folders to make unwritable...).
    """

    family: str
    name: str
    argv: tuple[str, ...]
    words: str
    setup: Callable[[object], None] | None = field(default=None, compare=False)

    def __post_init__(self):
        assert self.family in FAMILIES, self.family
