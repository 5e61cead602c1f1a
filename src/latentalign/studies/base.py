"""What a study returns, and the registry ``latentalign report`` runs.

A study module exposes ``TITLE``, ``CLAIMS`` (every published claim it checks, as
data), ``DEFAULT_CONFIG`` (a dict of plain values that finishes in minutes on 2 CPU
cores), ``QUICK_CONFIG`` (seconds, for tests) and ``run(config) -> Result``. Both
configs check the same ``CLAIMS``: a threshold lives in the claim, never in a config.
``Result`` holds numbers (JSON), tables, figures (matplotlib) and checks: each claim,
pass or fail, with the sentence the report prints.

Examples
--------
>>> claims = {"accuracy": Claim("test accuracy >= {threshold}", ">=", 0.9)}
>>> r = Result(summary="one number", claims=claims)
>>> r.claim("accuracy", 0.93, "0.930")
>>> r.checks[0].claim, r.checks[0].passed
('test accuracy >= 0.9', True)
"""

from __future__ import annotations

import importlib
import multiprocessing
import operator
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .._threads import thread_policy

# name -> module; capabilities add their study here when they land
STUDIES: dict[str, str] = {
    "sanity": "latentalign.studies.sanity",
    "align": "latentalign.studies.align_study",
    "ksm": "latentalign.studies.ksm_study",
    "contrastive": "latentalign.studies.contrastive_study",
    "lcc": "latentalign.studies.lcc_study",
    "ssl_linear": "latentalign.studies.ssl_linear",
    "ssl_deep": "latentalign.studies.ssl_deep",
    "finetune_layers": "latentalign.studies.finetune_layers",
}


@dataclass
class Table:
    """A table of a study's result: a caption, column names and rows of plain values."""

    caption: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    """A figure of a study's result: a file stem, a caption and the matplotlib figure."""

    name: str  # file stem, e.g. "probe_accuracy"
    caption: str
    figure: Any  # matplotlib.figure.Figure


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
    "in": lambda value, bounds: bounds[0] <= value <= bounds[1],
}


@dataclass(frozen=True)
class Claim:
    """A published claim a study checks: the sentence quotes the threshold that is asserted.

    ``text`` writes the threshold as ``{threshold}`` (for ``op="in"``, the pair as
    ``{lo}`` and ``{hi}``); a measured value holds when ``value op threshold``. With
    ``op=None`` the claim is a yes/no statement checked by a boolean (its text then
    quotes no threshold of its own).
    """

    text: str
    op: str | None = None
    threshold: Any = None

    def __post_init__(self):
        if self.op is None:
            if self.threshold is not None:
                raise ValueError(f"threshold: a yes/no claim has none, got {self.threshold!r}")
            return
        if self.op not in _OPS:
            raise ValueError(f"op: expected one of {', '.join(_OPS)} or None, got {self.op!r}")
        slots = ("{lo}", "{hi}") if self.op == "in" else ("{threshold}",)
        missing = [slot for slot in slots if slot not in self.text]
        if missing:
            raise ValueError(f"text: must quote its threshold as {' and '.join(missing)}: {self.text!r}")

    def render(self, **fields) -> str:
        """The claim's sentence with its threshold (and ``fields``, e.g. a case name) filled in."""
        if self.op == "in":
            fields = {"lo": self.threshold[0], "hi": self.threshold[1], **fields}
        return self.text.format(threshold=self.threshold, **fields)

    def holds(self, value) -> bool:
        """``value op threshold``, or ``bool(value)`` for a yes/no claim."""
        return bool(value) if self.op is None else bool(_OPS[self.op](value, self.threshold))


@dataclass
class Check:
    """One checked claim: its sentence, whether it held, the measured detail and its key in ``CLAIMS``."""

    claim: str
    passed: bool
    detail: str = ""
    key: str = ""  # the claim's key in the study's CLAIMS


@dataclass
class Result:
    """What a study's ``run(config)`` returns: a summary, numbers, tables, figures and checked claims."""

    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    claims: dict[str, Claim] = field(default_factory=dict, repr=False)

    def claim(self, key: str, value, detail: str = "", **fields) -> None:
        """Check the study's claim ``key`` on the measured ``value`` (a number, or a bool for a yes/no claim)."""
        if key not in self.claims:
            raise KeyError(f"key: {key!r} is not one of this study's claims ({', '.join(self.claims)})")
        claim = self.claims[key]
        self.checks.append(Check(claim.render(**fields), claim.holds(value), detail, key))

    def check(self, claim: str, passed: bool, detail: str = "") -> None:
        """Record whether the study reproduced ``claim`` (a study not yet on ``CLAIMS``)."""
        self.checks.append(Check(claim, bool(passed), detail))


def _with_threads(fn: Callable[[Any], Any], arg: Any, threads: int) -> Any:
    with thread_policy(threads=threads):
        return fn(arg)


def run_jobs(tasks: list[tuple[Callable[[Any], Any], Any]], workers: int,
             cost: Callable[[Any], float] | None = None, threads: int = 1) -> list:
    """``[fn(arg) for fn, arg in tasks]``, each with ``threads`` threads (torch and BLAS), in ``workers``
    spawned processes when ``workers > 1`` (the caller's thread count is left as it was).

    ``fn`` must be a module-level function (it is pickled) and should seed itself, so a
    job's result does not depend on where it ran. With ``cost(arg)`` the most expensive
    jobs start first (so the workers finish together); results keep the order of ``tasks``.
    """
    if workers <= 1 or len(tasks) <= 1:
        return [_with_threads(fn, arg, threads) for fn, arg in tasks]
    order = sorted(range(len(tasks)), key=lambda i: -cost(tasks[i][1])) if cost else list(range(len(tasks)))
    with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {i: pool.submit(_with_threads, tasks[i][0], tasks[i][1], threads) for i in order}
        return [futures[i].result() for i in range(len(tasks))]


def load_study(name: str) -> ModuleType:
    """Import a registered study module by name, or raise naming ``only``."""
    if name not in STUDIES:
        raise ValueError(f"only: unknown study {name!r}; registered: {', '.join(sorted(STUDIES))}")
    return importlib.import_module(STUDIES[name])
