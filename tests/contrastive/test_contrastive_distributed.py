"""Two gloo processes (torchrun) give the loss and gradients of one process on the concatenated batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from latentalign.contrastive import ClipLoss, JointLoss
from latentalign.contrastive.distributed import world

WORKER = Path(__file__).with_name("contrastive_ddp_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _launch(out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [str(TORCHRUN), "--standalone", "--nproc_per_node=2", str(WORKER), str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def test_two_processes_equal_one_process_on_the_concatenated_batch(tmp_path):
    out = tmp_path / "ddp.json"
    proc = _launch(out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["world_size"] == 2
    cases = report["cases"]
    assert len(cases) == 8 * 3  # every loss / negatives variant x every tilt
    for name, case in cases.items():
        assert case["loss_diff"] <= 1e-10, name
        assert case["grad_diff"] <= 1e-10 * max(1.0, case["grad_scale"]), name
        assert case["grad_scale"] > 0, name
    for message in report["unequal_batches"]:  # both ranks refuse, naming z_u
        assert message is not None and message.startswith("z_u: every rank must hold the same batch size")


def test_one_process_needs_no_process_group():
    assert world("auto") == (0, 1) and world(False) == (0, 1)
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    for loss in (ClipLoss, JointLoss):
        assert loss(gather=True)(z, z).item() == pytest.approx(loss(gather=False)(z, z).item())
