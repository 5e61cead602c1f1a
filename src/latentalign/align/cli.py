"""Command-line entry points of ``latentalign.align``: two top-level commands.

``align_command`` (``latentalign align``) scores two saved representations with any
registered metrics, optionally with permutation p-values, bootstrap intervals and the
stitching bound. ``compare_models_command`` (``latentalign compare-models``) loads two
checkpoints of the library's own encoders and writes their layer x layer comparison.
Both print a table and write JSON atomically. They are plain typer-annotated
functions; ``app`` registers them for tests and standalone use.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Optional

import typer

__all__ = ["align_command", "compare_models_command", "app"]

_ARRAY_HELP = ".npy, .npz[:key] or .pt[:key]"


def _names(text: str, what: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError(f"{what}: expected a comma-separated list, got {text!r}")
    return names


_CLI_NAMES = ((re.compile(r"^X:"), "A:"), (re.compile(r"^Y:"), "B:"),
              (re.compile(r"\b(as|like) X\b"), r"\1 A"), (re.compile(r"\b(as|like) Y\b"), r"\1 B"))


def _cli_error(err: Exception) -> Exception:
    """The metrics name their inputs X and Y; on the command line they are A and B."""
    message = str(err)
    for pattern, repl in _CLI_NAMES:
        message = pattern.sub(repl, message)
    return type(err)(message)


def _options(info, k: int, unbiased: bool, kernel: str) -> dict:
    given = {"k": k, "unbiased": unbiased, "kernel": kernel}
    return {key: value for key, value in given.items() if key in info.options}


def _fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def align_command(
    a: str = typer.Argument(..., help=f"First representation (n, d1): {_ARRAY_HELP}."),
    b: str = typer.Argument(..., help=f"Second representation (n, d2), rows paired with A ({_ARRAY_HELP}); "
                                      "labels (n,) for kta."),
    metrics: str = typer.Option("cka,mutual_knn", "--metrics", help="Comma-separated metric names: ka, cka, hsic, "
                                "dcor, rsa, mutual_knn, cycle_knn, cknna, cca, svcca, procrustes, kta."),
    permutations: int = typer.Option(0, "--permutations", help="Shuffled pairings for permutation p-values (0: none)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Resamples for 95% bootstrap intervals (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutations and resamples."),
    k: int = typer.Option(10, "-k", help="Neighbours of the kNN metrics."),
    unbiased: bool = typer.Option(False, "--unbiased", help="Unbiased HSIC in cka / hsic (n >= 4)."),
    kernel: str = typer.Option("linear", "--kernel", help="Kernel of ka / cka / hsic: linear, rbf or cosine."),
    stitch: bool = typer.Option(False, "--stitch", help="Also fit linear stitchers both ways: e*, its bound, lambda."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every number to this JSON file."),
) -> None:
    """Alignment of two representations with the chosen metrics (exact, float64).

    Example: latentalign align A.npy B.npy --metrics cka,mutual_knn --permutations 1000 --json out.json
    """
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from .._io import load_array, write_json
    from .registry import metric
    from .significance import significance
    from .stitching import stitch as fit_both

    try:
        infos = [metric(name) for name in _names(metrics, "metrics")]
    except ValueError as err:  # the registry calls its argument "name"
        raise ValueError(str(err).replace("name:", "metrics:", 1)) from err
    X, Y = load_array(a, "A"), load_array(b, "B")
    rows = {}
    for info in track(infos, description="alignment", console=Console(stderr=True), transient=True):
        opts = _options(info, k, unbiased, kernel)
        try:
            res = significance(X, Y, info, seed=seed, permutations=permutations, bootstrap=bootstrap, **opts)
        except (ValueError, TypeError) as err:
            raise _cli_error(err) from err
        rows[info.name] = {"value": res.value, "p_value": res.p_value, "ci": res.ci, "null_mean": res.null_mean,
                           "null_sd": res.null_sd, "calibrated": res.calibrated, "z": res.z, "options": opts,
                           "kind": info.kind}
    table = Table(title=f"alignment of {a} and {b} (n = {len(X)})")
    for col in ("metric", "value", "p", "95% CI", "null mean", "calibrated", "z"):
        table.add_column(col)
    for name, r in rows.items():
        ci = "-" if r["ci"] is None else f"[{r['ci'][0]:.4g}, {r['ci'][1]:.4g}]"
        table.add_row(name, _fmt(r["value"]), _fmt(r["p_value"]), ci, _fmt(r["null_mean"]), _fmt(r["calibrated"]),
                      _fmt(r["z"]))
    console = Console()
    console.print(table)
    out = {"a": a, "b": b, "n": len(X), "seed": seed, "permutations": permutations, "bootstrap": bootstrap,
           "metrics": rows}
    if stitch:
        st = fit_both(X, Y)
        out["stitch"] = {"cka_b": st.alignment}
        for key, d in (("A->B", st.forward), ("B->A", st.backward)):
            out["stitch"][key] = {"e_star": d.e_star, "lower": d.lower, "upper": d.upper, "e_train": d.e_train,
                                  "lam": d.stitcher.lam}
            console.print(f"stitch {key}: e* = {d.e_star:.4g} in bound [{d.lower:.4g}, {d.upper:.4g}], "
                          f"ridge lambda {d.stitcher.lam:.3g}, in-sample error {d.e_train:.4g}")
    if json_out is not None:
        write_json(json_out, out)
        console.print(f"wrote {json_out}")


def _load_model(path: Path, name: str, arch: str, hidden: str | None, in_dim: int, in_shape: str | None,
                n_classes: int | None):
    import torch

    from ..models import build_model

    if not path.is_file():
        raise ValueError(f"{name}: checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a non-checkpoint file
        raise ValueError(f"{name}: cannot read {path} as a torch checkpoint: {err}".splitlines()[0]) from err
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not state:
        raise ValueError(f"{name}: {path} holds no state_dict")
    if all(key.startswith("model.") for key in state):  # a Lightning ClassifierModule checkpoint
        state = {key[len("model."):]: value for key, value in state.items()}
    if n_classes is None:
        if "logits.weight" not in state:
            raise ValueError(f"{name}: cannot infer n_classes from {path}; pass --n-classes")
        n_classes = int(state["logits.weight"].shape[0])
    shape = None if in_shape is None else [int(v) for v in _names(in_shape, "in_shape")]
    widths = None if hidden is None else [int(v) for v in _names(hidden, "hidden")]
    model = build_model(arch, n_classes=n_classes, in_dim=None if shape else in_dim, in_shape=shape, hidden=widths)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{name}: checkpoint does not fit the {arch} architecture given: "
                         f"{str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else err}") from err
    return model


def _dataset(data: str, labels: str | None):
    import numpy as np

    from .._io import load_array
    from ..data import digits, mnist1d

    if data in ("digits", "mnist1d"):
        ds = digits() if data == "digits" else mnist1d()
        return ds.X, ds.y
    X = np.asarray(load_array(data, "data"), dtype=np.float32)
    y = None if labels is None else np.asarray(load_array(labels, "labels"))
    return X, y


def compare_models_command(
    ckpt_a: Path = typer.Argument(..., help="Checkpoint of model A: a Lightning .ckpt from fit_classifier or a "
                                            "state_dict .pt."),
    ckpt_b: Path = typer.Argument(..., help="Checkpoint of model B (same kinds)."),
    data: str = typer.Option(..., "--data", help=f"'digits', 'mnist1d', or inputs (n, d) as {_ARRAY_HELP}."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Labels (n,) for an array --data (enables the task "
                                                                "penalties)."),
    model: str = typer.Option("mlp", "--model", help="Architecture of both: mlp, cnn, cnn1d or cnn2d."),
    hidden: Optional[str] = typer.Option(None, "--hidden", help="Hidden widths of A, comma-separated (mlp)."),
    hidden_b: Optional[str] = typer.Option(None, "--hidden-b", help="Hidden widths of B if they differ from A's."),
    in_shape: Optional[str] = typer.Option(None, "--in-shape", help="Input shape for the CNNs, e.g. 1,8,8."),
    n_classes: Optional[int] = typer.Option(None, "--n-classes", help="Classes (default: from the checkpoint)."),
    layers_a: Optional[str] = typer.Option(None, "--layers-a", help="Layers of A, comma-separated (default: all)."),
    layers_b: Optional[str] = typer.Option(None, "--layers-b", help="Layers of B, comma-separated (default: all)."),
    metrics: str = typer.Option("cka,mutual_knn", "--metrics", help="Comma-separated metric names."),
    k: int = typer.Option(10, "-k", help="Neighbours of the kNN metrics."),
    holdout: float = typer.Option(0.4, "--holdout", help="Fraction of rows held out to score the stitchers "
                                                          "(fit on the rest)."),
    lam: str = typer.Option("gcv", "--lam", help="Stitchers' relative ridge, or 'gcv' (leave-one-out pick)."),
    reduce: str = typer.Option("flatten", "--reduce", help="Conv maps: flatten or mean (mean: no penalties)."),
    no_stitch: bool = typer.Option(False, "--no-stitch", help="Skip the stitchers and penalties."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out split."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every matrix to this JSON file."),
) -> None:
    """Layer x layer alignment and stitching of two trained latentalign encoders.

    Example: latentalign compare-models a.ckpt b.ckpt --data digits --hidden 64,64,32,16 --json cmp.json
    """
    import numpy as np
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .._io import write_json
    from ..train import make_loader
    from .compare import compare_models
    from .registry import metric

    if not 0 < holdout < 1:
        raise ValueError(f"holdout: expected a fraction in (0, 1), got {holdout}")
    ridge = _ridge(lam)
    X, y = _dataset(data, labels)
    model_a = _load_model(ckpt_a, "ckpt_a", model, hidden, X.shape[1], in_shape, n_classes)
    model_b = _load_model(ckpt_b, "ckpt_b", model, hidden_b or hidden, X.shape[1], in_shape, n_classes)
    specs = {}
    for name in _names(metrics, "metrics"):
        info = metric(name)
        specs[name] = {"k": k} if "k" in info.options else {}
    order = np.random.default_rng(seed).permutation(len(X))
    n_eval = max(1, round(holdout * len(X)))
    fit_rows, eval_rows = np.sort(order[n_eval:]), np.sort(order[:n_eval])
    pick = lambda rows: make_loader(X[rows], None if y is None else y[rows], batch_size=512)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("comparing layers", total=None)
        result = compare_models(
            model_a, model_b, pick(fit_rows),
            None if layers_a is None else _names(layers_a, "layers_a"),
            None if layers_b is None else _names(layers_b, "layers_b"),
            specs, reduce=reduce, stitch=not no_stitch, eval_loader=pick(eval_rows), lam=ridge,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    console = Console()
    shown = list(result.metrics.items())
    if result.stitching and "delta_ce" in result.stitching["a->b"]:
        shown.append(("delta_ce A->B", result.stitching["a->b"]["delta_ce"]))
    for title, mat in shown:
        table = Table(title=f"{title} (rows: A's layers, columns: B's)")
        table.add_column("A \\ B")
        for name in result.layers_b:
            table.add_column(name)
        for name, row in zip(result.layers_a, mat):
            table.add_row(name, *(_fmt(float(v), 3) for v in row))
        console.print(table)
    for line in result.undefined:
        console.print(f"[yellow]undefined: {line}[/]")
    if json_out is not None:
        write_json(json_out, {"ckpt_a": str(ckpt_a), "ckpt_b": str(ckpt_b), "data": data, **result.to_dict()})
        console.print(f"wrote {json_out}")


def _ridge(text: str):
    from .._validate import check_nonnegative

    if text == "gcv":
        return "gcv"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"lam: expected a number >= 0 or 'gcv', got {text!r}") from None
    return check_nonnegative(value, "lam")


app = typer.Typer(help="latentalign.align commands (registered at the top level of `latentalign`).",
                  add_completion=False, pretty_exceptions_enable=False)
app.command("align")(align_command)
app.command("compare-models")(compare_models_command)
