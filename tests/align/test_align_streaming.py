"""Spec §7 check 9: streaming = batch (any chunking, far from the origin), 2 gloo ranks = 1 process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentalign import align
from latentalign.align.streaming import LayerCKA, LinearCKA

HERE = Path(__file__).parent


def _data(n=700, seed=0, mean=0.0, std=1.0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g, dtype=torch.float64) * std + mean
    Y = (X - mean) @ torch.randn(6, 4, generator=g, dtype=torch.float64) + torch.randn(
        n, 4, generator=g, dtype=torch.float64) * 2 * std + mean
    return X, Y


def _stream(metric, chunks, *args):
    """Feed ``args`` (tensors, or lists of per-layer tensors) in ``chunks`` row chunks; compute."""
    rows = lambda t, a, b: [z[a:b] for z in t] if isinstance(t, list) else t[a:b]
    first = args[0][0] if isinstance(args[0], list) else args[0]
    bounds = np.linspace(0, first.shape[0], chunks + 1).astype(int)
    for a, b in zip(bounds[:-1], bounds[1:]):
        metric.update(*(rows(t, a, b) for t in args))
    return metric.compute()


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("chunks", [1, 7, 64])
def test_streaming_equals_batch(unbiased, chunks):
    X, Y = _data()
    expected = align.cka(X, Y, unbiased=unbiased)
    assert float(_stream(LinearCKA(unbiased=unbiased), chunks, X, Y)) == pytest.approx(float(expected), abs=1e-10)
    m = LinearCKA(unbiased=unbiased)
    _stream(m, chunks, X, Y)
    assert float(m.hsic()) == pytest.approx(float(align.hsic(X, Y, unbiased=unbiased)), rel=1e-10)


@pytest.mark.parametrize("unbiased", [False, True])
def test_streaming_stays_exact_far_from_the_origin(unbiased):
    X, Y = _data(mean=1e3, std=1.0)
    centred = align.cka(X - 1e3, Y - 1e3, unbiased=unbiased)
    got = _stream(LinearCKA(unbiased=unbiased), 7, X, Y)
    assert abs(float(got) / float(centred) - 1) < 1e-10


def test_forward_merge_and_fixed_shift():
    X, Y = _data(400, 1)
    m = LinearCKA(unbiased=True)
    batch_values = [m(X[i:i + 100], Y[i:i + 100]) for i in range(0, 400, 100)]
    assert float(batch_values[1]) == pytest.approx(float(align.cka(X[100:200], Y[100:200], unbiased=True)), abs=1e-10)
    assert float(m.compute()) == pytest.approx(float(align.cka(X, Y, unbiased=True)), abs=1e-10)
    shift = (X.mean(0), Y.mean(0))
    a, b = LinearCKA(unbiased=True, shift=shift), LinearCKA(unbiased=True, shift=shift)
    a.update(X[:150], Y[:150])
    b.update(X[150:], Y[150:])
    a.merge_state(b)  # what the DDP sum reduction does
    assert float(a.compute()) == pytest.approx(float(align.cka(X, Y, unbiased=True)), abs=1e-10)
    m.reset()
    m.update(X[:50], Y[:50])
    assert float(m.compute()) == pytest.approx(float(align.cka(X[:50], Y[:50], unbiased=True)), abs=1e-10)


def test_stitcher_from_states_equals_closed_form():
    X, Y = _data(300, 2)
    m = LinearCKA()
    _stream(m, 5, X, Y)
    for direction, (A, B) in (("1->2", (X, Y)), ("2->1", (Y, X))):
        s = m.stitcher(1e-2, direction=direction)
        ref = align.fit_stitcher(A, B, ridge=1e-2)
        torch.testing.assert_close(s.T, ref.T, atol=1e-10, rtol=0)
        torch.testing.assert_close(s(A[:5]), ref(A[:5]), atol=1e-10, rtol=0)


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("chunks", [1, 7])
def test_layer_cka_matrix_equals_pairwise(unbiased, chunks):
    X, Y = _data(300, 3)
    layers_a, layers_b = [X, torch.tanh(X[:, :3])], [Y, Y[:, :2] ** 2, X[:, 4:]]
    m = LayerCKA([6, 3], [4, 2, 2], unbiased=unbiased)
    got = _stream(m, chunks, layers_a, layers_b)
    expected = [[float(align.cka(a, b, unbiased=unbiased)) for b in layers_b] for a in layers_a]
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-10)


def test_layer_cka_minibatch_mode_and_budget():
    X, Y = _data(200, 4)
    m = LayerCKA([6], [4], mode="minibatch")
    _stream(m, 4, [X], [Y])
    from latentalign.kernels import hsic

    parts = [(X[i:i + 50], Y[i:i + 50]) for i in range(0, 200, 50)]
    mean = lambda f: np.mean([float(f(a, b)) for a, b in parts])
    expected = mean(lambda a, b: hsic(a, b, unbiased=True)) / np.sqrt(
        mean(lambda a, b: hsic(a, a, unbiased=True)) * mean(lambda a, b: hsic(b, b, unbiased=True)))
    assert float(m.compute()[0, 0]) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match=r"^dims_a: exact layer x layer states need .* mode='minibatch'"):
        LayerCKA([20000], [20000])
    with pytest.raises(ValueError, match=r"^acts_a: mode='minibatch' needs batches of at least 4"):
        LayerCKA([6], [4], mode="minibatch").update([X[:3]], [Y[:3]])


def test_streaming_bad_input():
    X, Y = _data(50, 5)
    m = LinearCKA()
    m.update(X, Y)
    with pytest.raises(ValueError, match=r"^X: expected 6 features"):
        m.update(X[:, :5], Y)
    with pytest.raises(ValueError, match=r"^Y: expected the same number of samples"):
        m.update(X, Y[:10])
    few = LinearCKA(unbiased=True)
    few.update(X[:3], Y[:3])
    with pytest.raises(ValueError, match=r"^X: needs at least 4 samples"):
        few.compute()
    with pytest.raises(ValueError, match=r"^acts_b: expected a sequence of 1 tensors"):
        LayerCKA([6], [4]).update([X], Y)
    with pytest.raises(ValueError, match=r"^shift:"):
        LinearCKA(shift="mean")


def test_two_gloo_processes_equal_one_process(tmp_path):
    """Runs ``torchrun --standalone --nproc_per_node=2`` (gloo); 8-13 s, so not marked slow."""
    out = tmp_path / "ddp.json"
    path = str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(HERE / "align_ddp_worker.py"), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    sys.path.insert(0, str(HERE))
    from align_ddp_worker import data

    X, Y, Z = data()
    assert got["biased"] == pytest.approx(float(align.cka(X, Y)), abs=1e-10)
    assert got["unbiased"] == pytest.approx(float(align.cka(X, Y, unbiased=True)), abs=1e-10)
    one = LayerCKA([6, 3], [5], unbiased=True)
    one.update([X, Z], [Y])
    np.testing.assert_allclose(got["layers"], one.compute().numpy(), atol=1e-10)
    np.testing.assert_allclose(got["stitcher_T"], align.fit_stitcher(X, Y, ridge=1e-3).T.numpy(), atol=1e-9)
