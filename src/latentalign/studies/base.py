"""What a study returns, and the registry ``latentalign report`` runs.

A study module exposes ``TITLE``, ``DEFAULT_CONFIG`` (a dict of plain values that
finishes in minutes on 2 CPU cores), ``QUICK_CONFIG`` (seconds, for tests) and
``run(config) -> Result``. ``Result`` holds numbers (JSON), tables, figures
(matplotlib) and checks: the direction of the published claim, pass or fail.

Example
-------
>>> r = Result(summary="two numbers")
>>> r.check("accuracy above chance", 0.9 > 0.1, "0.90 vs 0.10")
>>> r.checks[0].passed
True
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Iterator

import torch

# name -> module; capabilities add their study here when they land
STUDIES: dict[str, str] = {
    "sanity": "latentalign.studies.sanity",
    "align": "latentalign.studies.align_study",
    "ksm": "latentalign.studies.ksm_study",
    "contrastive": "latentalign.studies.contrastive_study",
    "lcc": "latentalign.studies.lcc_study",
    "ssl_linear": "latentalign.studies.ssl_linear",
    "ssl_deep": "latentalign.studies.ssl_deep",
}


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    name: str  # file stem, e.g. "probe_accuracy"
    caption: str
    figure: Any  # matplotlib.figure.Figure


@dataclass
class Check:
    claim: str
    passed: bool
    detail: str = ""


@dataclass
class Result:
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def check(self, claim: str, passed: bool, detail: str = "") -> None:
        """Record whether the study reproduced ``claim``."""
        self.checks.append(Check(claim, bool(passed), detail))


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads, then restore the caller's count."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _with_threads(fn: Callable[[Any], Any], arg: Any, threads: int) -> Any:
    with torch_threads(threads):
        return fn(arg)


def run_jobs(tasks: list[tuple[Callable[[Any], Any], Any]], workers: int,
             cost: Callable[[Any], float] | None = None, threads: int = 1) -> list:
    """``[fn(arg) for fn, arg in tasks]``, each with ``threads`` torch threads, in ``workers``
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
