r"""Thread policy: small iterative work runs on one thread.

torch and the BLAS/OpenMP libraries start one intra-op thread per core. On a
small operation the threads spend their time waiting for each other, and on a
busy machine a waiting OpenMP thread spins while the thread it waits for is
descheduled: a 300 x 10 KSM fit took 30-40x longer beside two busy processes,
and 2x longer on one thread. So every iterative solver and training loop runs
inside :func:`thread_policy` with an estimate of its ``work``, the floating-point
operations of one step (one iteration, one batch):

* ``work < SMALL_WORK`` (``1e9``): one thread, for torch and, through
  ``threadpoolctl``, for every BLAS and OpenMP library loaded (numpy's, faiss's);
* otherwise the caller's thread count is kept: the policy never raises it, so a
  caller (a study worker, a user's ``torch.set_num_threads``) stays in charge;
* :func:`set_threads` (or the environment variable ``LATENTALIGN_NUM_THREADS``,
  read at each block) overrides both: every block runs that many threads.

Leaving a block restores the thread counts it found. Measured by
``benchmarks/load_bench.py`` (times beside two busy processes over idle times).

Examples
--------
>>> import torch
>>> before = torch.get_num_threads()
>>> with thread_policy(work=1e6):
...     torch.get_num_threads()
1
>>> torch.get_num_threads() == before
True
>>> threads_for(10**12) == before  # large work keeps the caller's count
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

SMALL_WORK = 1e9  # floating-point operations of one step; below: one thread
ENV = "LATENTALIGN_NUM_THREADS"
_override: int | None = None


def set_threads(n: int | None) -> None:
    """Run every :func:`thread_policy` block with ``n`` threads; ``None`` restores the size rule.

    >>> set_threads(1); threads_for(10**12)
    1
    >>> set_threads(None)
    """
    global _override
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n: expected a positive integer or None, got {n!r}")
    _override = n


def threads_for(work: float) -> int:
    """Threads for a step of ``work`` floating-point operations: the override if set, else 1 below
    ``SMALL_WORK`` and the current torch count above.
    """
    override = _override if _override is not None else _env_threads()
    if override is not None:
        return override
    return 1 if work < SMALL_WORK else torch.get_num_threads()


def _env_threads() -> int | None:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV}: expected a positive integer, got {value!r}")
    return int(value)


@contextmanager
def thread_policy(work: float | None = None, *, threads: int | None = None) -> Iterator[int]:
    """Run the block with ``threads`` threads, or ``threads_for(work)``; yield the count used.

    Sets ``torch.set_num_threads`` and ``threadpoolctl.threadpool_limits`` (numpy's BLAS,
    OpenMP libraries) and restores both on exit; blocks nest. With neither argument the
    block keeps the current count (unless :func:`set_threads` overrides).
    """
    if threads is None:
        n = threads_for(SMALL_WORK if work is None else work)
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected a positive integer, got {threads!r}")
    else:
        n = threads
    before = torch.get_num_threads()
    if n == before > 1:
        yield n  # the caller's count stands: no threadpoolctl scan of the loaded libraries
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n):
        torch.set_num_threads(n)
        try:
            yield n
        finally:
            torch.set_num_threads(before)

