"""The thread policy: small work on one thread, the caller's count otherwise, counts restored, overrides."""

import sys

import pytest
import torch
from threadpoolctl import threadpool_info

from latentalign import _threads
from latentalign._threads import ENV, SMALL_WORK, set_threads, thread_policy, threads_for


@pytest.fixture()
def two_threads(monkeypatch):
    """torch at 2 threads (whatever the suite set), no override; everything put back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.delenv(ENV, raising=False)
    set_threads(None)
    yield
    set_threads(None)
    torch.set_num_threads(before)


def _blas_counts():
    return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()}


def test_small_work_runs_on_one_thread_for_torch_and_blas(two_threads):
    outside = _blas_counts()
    with thread_policy(SMALL_WORK / 10) as n:
        assert n == 1 and torch.get_num_threads() == 1
        assert set(_blas_counts().values()) == {1}
    assert torch.get_num_threads() == 2 and _blas_counts() == outside


def test_large_work_keeps_the_callers_count_and_never_raises_it(two_threads):
    with thread_policy(SMALL_WORK * 10) as n:
        assert n == 2 and torch.get_num_threads() == 2
    torch.set_num_threads(1)  # a caller (a study worker) chose one thread: large work does not undo it
    with thread_policy(SMALL_WORK * 10) as n:
        assert n == 1
    assert threads_for(SMALL_WORK) == 1 and threads_for(SMALL_WORK - 1) == 1


def test_blocks_nest_and_restore_on_exceptions(two_threads):
    with thread_policy(threads=1):
        with thread_policy(SMALL_WORK * 10):  # large inside a one-thread block stays at one
            assert torch.get_num_threads() == 1
        with pytest.raises(RuntimeError):
            with thread_policy(threads=2):
                assert torch.get_num_threads() == 2  # an explicit count is exact
                raise RuntimeError
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_set_threads_and_the_environment_override_the_size_rule(two_threads, monkeypatch):
    import latentalign

    assert latentalign.set_threads is set_threads
    monkeypatch.setenv(ENV, "2")
    with thread_policy(1.0) as n:
        assert n == 2 and torch.get_num_threads() == 2
    set_threads(1)  # the call wins over the environment
    with thread_policy(SMALL_WORK * 10) as n:
        assert n == 1 and torch.get_num_threads() == 1
    set_threads(None)
    monkeypatch.setenv(ENV, "0")
    with pytest.raises(ValueError, match=f"^{ENV}: expected a positive integer"):
        threads_for(1.0)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_counts_are_rejected_naming_the_argument(two_threads, bad):
    with pytest.raises(ValueError, match="^n: "):
        set_threads(bad)
    with pytest.raises(ValueError, match="^threads: "):
        with thread_policy(threads=bad):
            pass
    assert _threads._override is None


def test_solvers_and_training_loops_run_under_the_policy(two_threads, monkeypatch):
    """Each iterative entry point asks the policy once with its work estimate."""
    import numpy as np

    from latentalign.align import permutation_test
    from latentalign.ksm import KernelSimilarityMatching
    from latentalign.models import MLP
    from latentalign.train import fit_classifier, make_loader

    seen = []
    real = _threads.thread_policy

    def spy(work=None, *, threads=None):
        seen.append(work)
        return real(work, threads=threads)

    for module in ("latentalign.ksm.estimator", "latentalign.train.classifier", "latentalign.align.significance"):
        monkeypatch.setattr(sys.modules[module], "thread_policy", spy)
    X = np.random.default_rng(0).normal(size=(40, 3))
    KernelSimilarityMatching(max_iter=3, random_state=0).fit(X)
    assert seen[-1] == 2.0 * 40 * 40 * (3 + 2)  # full-batch ADMM: 2 N N (d + m)
    Xt, y = torch.randn(32, 4), torch.arange(32) % 2
    fit_classifier(MLP(4, 8, 2), make_loader(Xt, y, batch_size=16), epochs=1)
    assert seen[-1] == 6.0 * (4 * 8 + 8 + 8 * 2 + 2) * 16
    permutation_test(X, X[:, :2], "cka", seed=0, permutations=4)
    assert seen[-1] > 0 and len(seen) == 3
