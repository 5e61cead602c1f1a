"""studies.base.run_jobs: jobs run with the requested torch threads; the caller keeps its own."""

import pytest
import torch

from latentalign.studies.base import run_jobs


def _threads_seen(tag):
    return tag, torch.get_num_threads()


@pytest.mark.parametrize("workers", [1, 2])
def test_jobs_get_the_requested_threads_and_the_caller_keeps_its_own(workers):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = run_jobs([(_threads_seen, "a"), (_threads_seen, "b")], workers, cost=lambda tag: ord(tag), threads=1)
        assert out == [("a", 1), ("b", 1)]  # in task order, whatever ran first
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
