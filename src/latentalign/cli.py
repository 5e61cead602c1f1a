"""The ``latentalign`` command line.

Bad input never ends in a traceback: it prints one line, ``latentalign: error: ...``,
and exits with status 2. Outputs are files written atomically.

Examples
--------
    latentalign report --out report
    latentalign hsic A.npy B.npy --kernel rbf --unbiased
    latentalign knn X.npy -k 10 --metric cosine --out neighbors.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._extras import MissingExtraError, require

typer = require("typer", "the command line")

try:  # typer >= 0.20 vendors click; older releases use the click package
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

app = typer.Typer(
    help="Measure, learn and correct the similarity structure of neural representations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def report(
    out: Path = typer.Option(Path("report"), "--out", help="Folder for index.html, JSON and PNG files."),
    only: list[str] | None = typer.Option(None, "--only", help="Run only this study (repeatable)."),
    quick: bool = typer.Option(False, "--quick", help="Tiny configs: a smoke run in seconds."),
) -> None:
    """Run every registered study and write OUT/index.html.

    Exits 1 if a study raised an error; a claim a study did not reproduce is
    reported (marked in the page and listed here), not an error.

    Example: latentalign report --out report --only sanity
    """
    from rich.console import Console

    from ._io import check_output
    from .report import run_report

    check_output(out, "out", folder=True)
    console = Console(stderr=True)
    status = {"start": "running", "done": "[green]done[/]", "unreproduced": "[yellow]done, a claim not reproduced[/]",
              "error": "[red]ERROR[/]"}
    runs = run_report(out, only=only, quick=quick, on_study=lambda n, s: console.print(f"study {n}: {status[s]}"))
    console.print(f"wrote {out / 'index.html'} ({sum(r.seconds for r in runs):.1f} s)")
    unreproduced = [r.name for r in runs if r.error is None and not r.passed]
    if unreproduced:  # a claim the study did not reproduce is a result, shown in the report
        console.print(f"[yellow]claims not reproduced (see the report): {', '.join(unreproduced)}[/]")
    errors = [r.name for r in runs if r.error is not None]
    if errors:
        console.print(f"[red]studies that raised an error: {', '.join(errors)}[/]")
        raise typer.Exit(1)


@app.command()
def hsic(
    a: str = typer.Argument(..., help="First representation (n, d1): .npy, .npz[:key] or .pt[:key]."),
    b: str = typer.Argument(..., help="Second representation (n, d2), rows paired with A."),
    kernel: str = typer.Option("linear", help="linear, cosine or rbf (median-heuristic bandwidth)."),
    unbiased: bool = typer.Option(False, "--unbiased", help="Unbiased estimator (Song et al. 2012), n >= 4."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the value to this JSON file."),
) -> None:
    """HSIC between two representations (exact, float64).

    Example: latentalign hsic A.npy B.npy --kernel rbf --unbiased --json hsic.json
    """
    from ._io import check_output, write_json
    from .align.cli import cli_error
    from .kernels import hsic as hsic_value

    if json_out is not None:
        check_output(json_out, "json")
    A, B = _load(a, "A"), _load(b, "B")
    try:
        value = hsic_value(A, B, kernel=kernel, unbiased=unbiased)
    except (ValueError, TypeError) as err:
        raise cli_error(err) from err
    typer.echo(f"HSIC ({kernel}, {'unbiased' if unbiased else 'biased'}) = {value:.10g}")
    if json_out is not None:
        write_json(json_out, {"hsic": value, "kernel": kernel, "unbiased": unbiased, "a": a, "b": b})


@app.command()
def knn(
    x: str = typer.Argument(..., help="Data (n, d): .npy, .npz[:key] or .pt[:key]."),
    k: int = typer.Option(10, "-k", help="Neighbours per row, 1 <= k <= n-1 (self excluded)."),
    metric: str = typer.Option("euclidean", help="euclidean or cosine."),
    backend: str = typer.Option(
        "torch", help="torch (blocked), faiss (flat) or auto (faiss on CPU, torch on GPU); all exact, same neighbours."
    ),
    out: Path = typer.Option(..., "--out", help="Output .npz with arrays 'indices' and 'distances'."),
) -> None:
    """Exact k nearest neighbours of every row, written to an .npz file.

    Example: latentalign knn X.npy -k 10 --metric cosine --out neighbors.npz
    """
    from ._io import check_output, save_array
    from .neighbors import knn as knn_search

    check_output(out, "out", suffix=".npz")
    nb = knn_search(_load(x, "X"), k, metric=metric, backend=backend)
    save_array(out, indices=nb.indices.numpy(), distances=nb.distances.numpy())
    typer.echo(f"wrote {out}: {nb.indices.shape[0]} rows x {k} neighbours ({metric})")


# Each capability's subcommands live in its own <capability>/cli.py (imports there are lazy).
from .align.cli import align_command, compare_models_command  # noqa: E402
from .contrastive.cli import app as contrastive_app  # noqa: E402
from .ksm.cli import app as ksm_app  # noqa: E402
from .lcc.cli import app as lcc_app  # noqa: E402
from .ssl.cli import app as ssl_app  # noqa: E402

app.command("align")(align_command)
app.command("compare-models")(compare_models_command)
app.add_typer(contrastive_app, name="contrastive", help="Tilted-model contrastive learning on paired views.")
app.add_typer(ksm_app, name="ksm", help="Kernel similarity matching: fit latents, sample, generate.")
app.add_typer(lcc_app, name="lcc", help="Latent cluster correction for any torch classifier.")
app.add_typer(ssl_app, name="ssl", help="Joint-embedding vs reconstruction SSL: train, thresholds.")


def _load(spec: str, name: str):
    """``path`` or ``path:key`` (for .npz / .pt holding several arrays)."""
    from ._io import load_array

    return load_array(spec, name)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line and exit status 2 for any bad input."""
    try:
        result = app(args=argv, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("latentalign: aborted", err=True)
        return 130
    except click_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click_errors.ClickException as exc:  # usage errors: unknown option, missing argument
        typer.echo(f"latentalign: error: {exc.format_message()}", err=True)
        return 2
    except (MissingExtraError, ValueError, TypeError, OSError) as exc:
        # the commands check their paths where they take them (naming the option); OSError is the last
        # resort for a folder that became unwritable mid-run or a disk that filled up
        typer.echo(f"latentalign: error: {exc}".splitlines()[0], err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
