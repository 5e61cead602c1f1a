"""Every ``latentalign`` command on bad input: exit 2 and one line naming the problem.

Unwritable outputs are made three ways: a parent path that is a file, a folder where a file
goes (or a file where a folder goes), and a folder without write permission (chmod, skipped
as root, who writes anywhere) or a read-only system folder (``/sys``, unwritable even for root).
"""

import os
import pathlib

import numpy as np
import pytest
import torch

from latentalign.cli import main
from latentalign.models import build_model

from .harness import CliCase

_X = np.random.default_rng(0).normal(size=(30, 4))


def _files(p):
    """Inputs every case may read: good arrays, broken files, a file that is not a folder."""
    p = pathlib.Path(p)
    np.save(p / "x.npy", _X)
    np.save(p / "nan.npy", np.where(_X > 1.5, np.nan, _X))
    np.save(p / "inf.npy", np.where(_X > 1.5, np.inf, _X))
    np.save(p / "short.npy", _X[:3])
    np.save(p / "labels.npy", np.arange(30) % 3)
    np.savez(p / "two.npz", a=_X, b=_X)
    full = (p / "two.npz").read_bytes()
    (p / "trunc.npz").write_bytes(full[: len(full) // 2])
    npy = (p / "x.npy").read_bytes()
    (p / "trunc.npy").write_bytes(npy[: len(npy) // 2])
    (p / "garbage.pt").write_bytes(b"not a torch file " * 20)
    torch.save({"a": torch.ones(2, 2), "n": 3}, p / "mixed.pt")
    torch.save(torch.ones(3, 3), p / "tensor.pt")
    (p / "afile").write_text("a file, not a folder")
    (p / "adir").mkdir()
    (p / "adir.npz").mkdir()
    (p / "adir.pt").mkdir()
    (p / "adir.npy").mkdir()
    (p / "adir.png").mkdir()
    (p / "adir.json").mkdir()
    (p / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    (p / "two_lines.txt").write_text("one sentence\nanother\n")
    mlp = build_model("mlp", n_classes=3, in_dim=4, hidden=[5])
    torch.save(mlp.state_dict(), p / "mlp5.pt")
    torch.save({k: v for k, v in mlp.state_dict().items() if not k.startswith("logits")}, p / "headless.pt")


def _locked(p):
    """A folder this process cannot write in (chmod 0o555); root writes anywhere, so skip there."""
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root (the /sys and parent-is-a-file cases "
                    "cover unwritable outputs)")
    _files(p)
    locked = pathlib.Path(p) / "locked"
    locked.mkdir()
    locked.chmod(0o555)


def _ksm_model(p):
    """The inputs and a small fitted KSM model, {p}/model.pt (4 features)."""
    _files(p)
    from latentalign.ksm import KernelSimilarityMatching
    from latentalign.ksm.io import save_model

    save_model(KernelSimilarityMatching(max_iter=5).fit(_X), pathlib.Path(p) / "model.pt")


def _corrupt_checkpoint(p):
    _files(p)
    run = pathlib.Path(p) / "run"
    run.mkdir()
    (run / "last.ckpt").write_bytes(b"PK\x03\x04 truncated checkpoint")


def _other_checkpoint(p):
    """A finished one-epoch run with --hidden 0 (linear encoders) to resume with other options."""
    _files(p)
    code = main(["contrastive", "train", "--pair", "mfeat:pix,fou", "--epochs", "1", "--hidden", "0", "--embed-dim",
                 "4", "--batch-size", "256", "--no-progress", "--out", str(pathlib.Path(p) / "run")])
    assert code == 0


def C(family, name, argv, words, setup=_files):
    """A case from a command line written as one string; names start with ``cli-`` (apart from the API's)."""
    return CliCase(family, f"cli-{name}", tuple(argv.split()), words, setup)


_ARR = "{p}/x.npy"
_CMP = "compare-models {p}/mlp5.pt {p}/mlp5.pt --data {p}/x.npy --hidden 5 --no-stitch"
_CTR = "contrastive train --pair mfeat:pix,fou --epochs 1 --no-progress"
_LCC = "lcc finetune --pretrain-epochs 0 --epochs 0 --out {p}/lcc.json"
_THR = "ssl thresholds --signal-var 1,2 --theta 0.5 --gamma 3"

# every command that writes, with its output option: (name, argv prefix, option, file suffix or "folder")
WRITERS = [
    ("report", "report --only sanity --quick", "--out", "folder"),
    ("hsic", f"hsic {_ARR} {_ARR}", "--json", ".json"),
    ("knn", f"knn {_ARR} -k 2", "--out", ".npz"),
    ("align", f"align {_ARR} {_ARR}", "--json", ".json"),
    ("compare-json", _CMP, "--json", ".json"),
    ("compare-png", _CMP, "--png", ".png"),
    ("ssl-train", "ssl train --epochs 1", "--out", "folder"),
    ("ssl-thresholds", _THR, "--json", ".json"),
    ("contrastive", _CTR, "--out", "folder"),
    ("ksm-fit", f"ksm fit {_ARR}", "--out", ".pt"),
    ("ksm-fit-embedding", f"ksm fit {_ARR} --out {{p}}/m.pt", "--embedding", ".npy"),
    ("ksm-sample", "ksm sample {p}/model.pt", "--out", ".npy"),
    ("ksm-sample-png", "ksm sample {p}/model.pt", "--png", ".png"),
    ("lcc", "lcc finetune --pretrain-epochs 0 --epochs 0", "--out", ".json"),
]


def _unwritable(name, argv, option, suffix):
    opt = option.lstrip("-")
    ext = "" if suffix == "folder" else suffix
    cases = [
        C("unwritable_output", f"{name}-parent-is-file", f"{argv} {option} {{p}}/afile/out{ext}",
          f"{opt}: cannot create"),
        C("unwritable_output", f"{name}-read-only-system", f"{argv} {option} /sys/latentalign-out{ext}",
          f"{opt}: cannot write in /sys"),
        C("unwritable_output", f"{name}-permission", f"{argv} {option} {{p}}/locked/out{ext}",
          f"{opt}: cannot write in", setup=_locked),
    ]
    if suffix == "folder":
        cases.append(C("unwritable_output", f"{name}-out-is-file", f"{argv} {option} {{p}}/afile",
                       f"{opt}: {{p}}/afile exists and is not a folder"))
    else:
        cases.append(C("unwritable_output", f"{name}-out-is-folder", f"{argv} {option} {{p}}/adir{ext}",
                       f"{opt}: {{p}}/adir{ext} is a folder"))
    return cases


CASES = [case for writer in WRITERS for case in _unwritable(*writer)] + [
    # -- wrong files
    C("wrong_file", "hsic-truncated-npz", "hsic {p}/trunc.npz {p}/x.npy", "A: cannot read"),
    C("wrong_file", "hsic-garbage-pt", "hsic {p}/x.npy {p}/garbage.pt", "B: cannot read"),
    C("wrong_file", "hsic-truncated-npy", "hsic {p}/trunc.npy {p}/x.npy", "A: cannot read"),
    C("wrong_file", "hsic-missing", "hsic {p}/none.npy {p}/x.npy", "A: file not found"),
    C("wrong_file", "hsic-text-file", "hsic {p}/afile {p}/x.npy", "A: unsupported file type"),
    C("wrong_file", "knn-npz-two-arrays", "knn {p}/two.npz -k 2 --out {p}/n.npz", "X: {p}/two.npz holds 2 arrays"),
    C("wrong_file", "knn-npz-wrong-key", "knn {p}/two.npz:c -k 2 --out {p}/n.npz", "X: no array 'c'"),
    C("wrong_file", "align-pt-not-tensor", "align {p}/mixed.pt:n {p}/x.npy", "A: "),
    C("wrong_file", "align-truncated-npz", "align {p}/x.npy {p}/trunc.npz", "B: cannot read"),
    C("wrong_file", "ksm-fit-garbage-pt", "ksm fit {p}/garbage.pt --out {p}/m.pt", "data: cannot read"),
    C("wrong_file", "ksm-sample-garbage-model", "ksm sample {p}/garbage.pt --out {p}/s.npy", "model: "),
    C("wrong_file", "ksm-sample-missing-model", "ksm sample {p}/none.pt --out {p}/s.npy", "model: "),
    C("wrong_file", "ksm-sample-tensor-not-model", "ksm sample {p}/tensor.pt --out {p}/s.npy", "model: "),
    C("wrong_file", "compare-data-truncated", "compare-models {p}/mlp5.pt {p}/mlp5.pt --data {p}/trunc.npz "
      "--hidden 5", "data: cannot read"),
    C("wrong_file", "compare-labels-garbage", "compare-models {p}/mlp5.pt {p}/mlp5.pt --data {p}/x.npy "
      "--labels {p}/garbage.pt --hidden 5", "labels: cannot read"),
    C("wrong_file", "compare-text-missing", "compare-models --model-a m --model-b m --text {p}/none.txt",
      "text: file not found"),
    C("wrong_file", "compare-text-binary", "compare-models --model-a m --model-b m --text {p}/binary.txt",
      "text: "),
    C("wrong_file", "compare-text-too-short", "compare-models --model-a m --model-b m --text {p}/two_lines.txt",
      "text: expected at least 3"),
    # -- wrong checkpoints
    C("wrong_checkpoint", "compare-ckpt-garbage", "compare-models {p}/garbage.pt {p}/mlp5.pt --data digits --hidden 5",
      "ckpt_a: cannot read"),
    C("wrong_checkpoint", "compare-ckpt-missing", "compare-models {p}/mlp5.pt {p}/none.pt --data {p}/x.npy --hidden 5",
      "ckpt_b: checkpoint not found"),
    C("wrong_checkpoint", "compare-ckpt-other-architecture",
      "compare-models {p}/mlp5.pt {p}/mlp5.pt --data {p}/x.npy --hidden 7", "ckpt_a: checkpoint does not fit"),
    C("wrong_checkpoint", "compare-ckpt-tensor", "compare-models {p}/tensor.pt {p}/mlp5.pt --data digits --hidden 5",
      "ckpt_a: "),
    C("wrong_checkpoint", "compare-ckpt-no-head", "compare-models {p}/headless.pt {p}/mlp5.pt --data digits "
      "--hidden 5", "ckpt_a: cannot infer n_classes"),
    C("wrong_checkpoint", "contrastive-resume-corrupt", f"{_CTR} --resume --out {{p}}/run", "resume: cannot read",
      setup=_corrupt_checkpoint),
    C("wrong_checkpoint", "contrastive-resume-other-architecture", f"{_CTR} --hidden 16 --embed-dim 4 --batch-size "
      "256 --resume --out {p}/run", "resume: ", setup=_other_checkpoint),
    C("wrong_checkpoint", "contrastive-resume-other-config", f"{_CTR} --hidden 0 --embed-dim 4 --batch-size 256 "
      "--lr 0.1 --resume --out {p}/run", "resume: ", setup=_other_checkpoint),
    # -- non-finite input
    C("non_finite", "hsic-nan", "hsic {p}/nan.npy {p}/x.npy", "A: contains"),
    C("non_finite", "knn-inf", "knn {p}/inf.npy -k 2 --out {p}/n.npz", "X: contains"),
    C("non_finite", "align-nan-b", "align {p}/x.npy {p}/nan.npy", "B: contains"),
    C("non_finite", "ksm-fit-nan", "ksm fit {p}/nan.npy --out {p}/m.pt", "NaN"),
    C("non_finite", "thresholds-theta-nan", "ssl thresholds --signal-var 1,2 --theta nan --gamma 3", "theta"),
    C("non_finite", "contrastive-temperature-nan", f"{_CTR} --temperature nan --out {{p}}/run", "temperature: "),
    C("non_finite", "lcc-lr-nan", f"{_LCC} --lr nan", "lr: "),
    C("non_finite", "compare-holdout-nan", f"{_CMP} --holdout nan", "holdout: "),
    # -- extreme magnitudes: a learning rate float32 parameters cannot hold, or one that makes training diverge
    C("extreme_scale", "lcc-lr-1e300", f"{_LCC} --lr 1e300", "lr: must be at most"),
    C("extreme_scale", "ssl-lr-1e300", "ssl train --lr 1e300 --out {p}/run", "lr: must be at most"),
    C("extreme_scale", "contrastive-lr-1e300", f"{_CTR} --lr 1e300 --out {{p}}/run", "lr: must be at most"),
    C("extreme_scale", "lcc-lr-diverges", "lcc finetune --pretrain-epochs 1 --epochs 0 --lr 1e30 --out {p}/l.json",
      "lr: training diverged at epoch 0"),
    C("extreme_scale", "contrastive-lr-diverges", f"{_CTR} --hidden 0 --embed-dim 4 --lr 1e30 --out {{p}}/run",
      "lr: training diverged at epoch 0"),
    # -- degenerate
    C("degenerate", "hsic-unbiased-three-rows", "hsic {p}/short.npy {p}/short.npy --unbiased", "A: "),
    C("degenerate", "hsic-row-mismatch", "hsic {p}/x.npy {p}/short.npy", "B: "),
    C("degenerate", "knn-k-above-rows", "knn {p}/short.npy -k 3 --out {p}/n.npz", "k: "),
    # -- flags and option types
    C("flag_type", "compare-hidden-letters", "compare-models {p}/mlp5.pt {p}/mlp5.pt --data digits --hidden a,b",
      "hidden: expected comma-separated positive integers"),
    C("flag_type", "compare-in-shape-letters", "compare-models {p}/mlp5.pt {p}/mlp5.pt --data digits --model cnn "
      "--in-shape 1,x", "in_shape: expected comma-separated positive integers"),
    C("flag_type", "compare-ridge-word", f"{_CMP} --ridge lots", "ridge: "),
    C("flag_type", "knn-k-word", "knn {p}/x.npy -k many --out {p}/n.npz", "-k"),
    C("flag_type", "thresholds-signal-words", "ssl thresholds --signal-var a,b --theta 0.5 --gamma 3",
      "signal_var: expected comma-separated numbers"),
    C("flag_type", "ksm-batch-size-word", "ksm fit {p}/x.npy --out {p}/m.pt --batch-size big", "batch_size: "),
    C("flag_type", "ksm-max-iter-float", "ksm fit {p}/x.npy --out {p}/m.pt --max-iter 2.5", "max_iter: "),
    C("flag_type", "ksm-sample-image-shape", "ksm sample {p}/model.pt --png {p}/g.png --image-shape 8by8",
      "image_shape: expected HxW", setup=_ksm_model),
    C("out_of_range", "ksm-sample-image-shape-size", "ksm sample {p}/model.pt --png {p}/g.png --image-shape 3x3",
      "image_shape: 3x3 = 9 pixels, the model has 4 features", setup=_ksm_model),
    C("out_of_range", "ksm-sample-not-square", "ksm sample {p}/model.pt --png {p}/g.png --image-shape 2x3",
      "image_shape: ", setup=_ksm_model),
    C("out_of_range", "ksm-sample-n-zero", "ksm sample {p}/model.pt -n 0 --out {p}/s.npy", "n_samples: ",
      setup=_ksm_model),
    C("out_of_range", "ksm-sample-method", "ksm sample {p}/model.pt --method gan --out {p}/s.npy", "method: ",
      setup=_ksm_model),
    C("flag_type", "contrastive-temperature-word", f"{_CTR} --temperature warm --out {{p}}/run", "--temperature"),
    C("flag_type", "lcc-epochs-word", "lcc finetune --epochs some", "--epochs"),
    C("flag_type", "align-metrics-empty", "align {p}/x.npy {p}/x.npy --metrics ,", "metrics: "),
    # -- out of range
    C("out_of_range", "lcc-lr-zero", f"{_LCC} --lr 0", "lr: "),
    C("out_of_range", "lcc-weight-negative", f"{_LCC} --weight -1", "weight: "),
    C("out_of_range", "lcc-epochs-negative", "lcc finetune --epochs -1 --out {p}/l.json", "epochs: "),
    C("out_of_range", "lcc-k-zero", f"{_LCC} -k 0", "k: "),
    C("out_of_range", "lcc-data", f"{_LCC} --data cifar", "data: "),
    C("out_of_range", "lcc-layer", f"{_LCC} --layer nope", "layers: "),
    C("out_of_range", "ssl-lr-zero", "ssl train --lr 0 --out {p}/run", "lr: "),
    C("out_of_range", "ssl-epochs-zero", "ssl train --epochs 0 --out {p}/run", "epochs: "),
    C("out_of_range", "ssl-method", "ssl train --method x --out {p}/run", "method: "),
    C("out_of_range", "ssl-data", "ssl train --data cifar --out {p}/run", "data: "),
    C("out_of_range", "thresholds-theta-negative", "ssl thresholds --signal-var 1,2 --theta -1 --gamma 3", "theta"),
    C("out_of_range", "contrastive-lr-zero", f"{_CTR} --lr 0 --out {{p}}/run", "lr: "),
    C("out_of_range", "contrastive-loss", f"{_CTR} --loss x --out {{p}}/run", "loss: "),
    C("out_of_range", "contrastive-tilt", f"{_CTR} --tilt dot --out {{p}}/run", "tilt: "),
    C("out_of_range", "contrastive-temperature-zero", f"{_CTR} --temperature 0 --out {{p}}/run", "temperature: "),
    C("out_of_range", "contrastive-pair", "contrastive train --pair mfeat:pix --out {p}/run", "pair: "),
    C("out_of_range", "knn-k-zero", "knn {p}/x.npy -k 0 --out {p}/n.npz", "k: "),
    C("out_of_range", "knn-metric", "knn {p}/x.npy -k 2 --metric manhattan --out {p}/n.npz", "metric: "),
    C("out_of_range", "knn-out-suffix", "knn {p}/x.npy -k 2 --out {p}/n.npy", "out: expected a .npz path"),
    C("out_of_range", "hsic-kernel", "hsic {p}/x.npy {p}/x.npy --kernel poly", "kernel: "),
    C("out_of_range", "align-k-zero", "align {p}/x.npy {p}/x.npy -k 0", "k: "),
    C("out_of_range", "align-metric-unknown", "align {p}/x.npy {p}/x.npy --metrics nope", "metrics: "),
    C("out_of_range", "compare-holdout", f"{_CMP} --holdout 1.5", "holdout: "),
    C("out_of_range", "compare-permutations", f"{_CMP} --permutations -1", "permutations: "),
    C("out_of_range", "compare-pool", f"{_CMP} --pool median", "pool: "),
    C("out_of_range", "ksm-latent-dim-zero", "ksm fit {p}/x.npy --out {p}/m.pt --latent-dim 0", "n_components: "),
    C("out_of_range", "ksm-kernel", "ksm fit {p}/x.npy --out {p}/m.pt --kernel poly", "kernel: "),
    C("out_of_range", "ksm-sigma-zero", "ksm fit {p}/x.npy --out {p}/m.pt --sigma 0", "sigma: "),
    C("out_of_range", "ksm-solver", "ksm fit {p}/x.npy --out {p}/m.pt --solver sgd", "solver: "),
    C("out_of_range", "ksm-out-suffix", "ksm fit {p}/x.npy --out {p}/m.pkl", "out: expected a .pt path"),
    C("out_of_range", "ksm-sample-nothing", "ksm sample {p}/model.pt", "out: "),
    C("out_of_range", "lcc-model", f"{_LCC} --model resnet", "model: "),
    C("out_of_range", "lcc-loss", f"{_LCC} --loss x", "loss: "),
    C("out_of_range", "lcc-preset", f"{_LCC} --preset x", "preset: "),
    C("out_of_range", "lcc-matching", f"{_LCC} --matching x", "matching: "),
    C("out_of_range", "ssl-devices-zero", "ssl train --devices 0 --out {p}/run", "devices: "),
    C("out_of_range", "ssl-batch-size-zero", "ssl train --batch-size 0 --out {p}/run", "batch_size: "),
    C("out_of_range", "ssl-embed-dim-zero", "ssl train --embed-dim 0 --out {p}/run", "embed_dim: "),
    C("out_of_range", "contrastive-batch-size-one", f"{_CTR} --batch-size 1 --out {{p}}/run", "batch_size: "),
    C("out_of_range", "contrastive-weight-decay", f"{_CTR} --weight-decay -1 --out {{p}}/run", "weight_decay: "),
    C("out_of_range", "knn-backend", "knn {p}/x.npy -k 2 --backend gpu --out {p}/n.npz", "backend: "),
    C("out_of_range", "align-permutations", "align {p}/x.npy {p}/x.npy --permutations -1", "permutations: "),
    C("out_of_range", "align-bootstrap", "align {p}/x.npy {p}/x.npy --bootstrap -5", "bootstrap: "),
    C("out_of_range", "thresholds-n-noise-zero", f"{_THR} --n-noise 0", "n_noise: "),
    C("degenerate", "thresholds-no-signal", "ssl thresholds --signal-var , --theta 0.5 --gamma 3", "signal_var: "),
    C("out_of_range", "ksm-ridge-negative", "ksm fit {p}/x.npy --out {p}/m.pt --ridge -1", "ridge: "),
    C("out_of_range", "ksm-budget", "ksm fit {p}/x.npy --out {p}/m.pt --budget x", "budget: "),
    C("out_of_range", "report-only-unknown", "report --only nope --out {p}/rep", "only: "),
]
