"""Write the API and CLI reference pages from the code (called by ``conf.py``).

The API pages list each package's ``__all__`` (or, for a module without one, the
functions and classes it defines), so the reference follows the code without edits.
The CLI page walks the typer app's command tree and lists every command's usage,
arguments and options, as ``--help`` prints them.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

# (module, title, one line): one API page each, in this order.
API_MODULES = [
    ("latentalign.align", "align", "Alignment metrics, linear stitching and its bound, significance, streaming."),
    ("latentalign.ksm", "ksm", "Kernel similarity matching: objective, solvers, decoder, estimator."),
    ("latentalign.ssl", "ssl", "Joint-embedding vs reconstruction: closed forms, thresholds, losses, training."),
    ("latentalign.contrastive", "contrastive",
     "Tilted contrastive losses, Gaussian closed forms, retrieval, sampling."),
    ("latentalign.lcc", "lcc", "Latent cluster correction: latents, graph, communities, matching, losses."),
    ("latentalign.kernels", "kernels", "Gram matrices, centring and HSIC (core)."),
    ("latentalign.moments", "moments", "HSIC from sums and mergeable moments (core)."),
    ("latentalign.neighbors", "neighbors", "Exact k-nearest-neighbour search (core)."),
    ("latentalign.data", "data", "Offline data sets and synthetic generators."),
    ("latentalign.models", "models", "Small networks with named layers and a layer recorder."),
    ("latentalign.train", "train", "Loaders, seeding, classifier training and probes."),
]


def public_names(module) -> list[str]:
    """``module.__all__``, or the public functions and classes the module defines."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return sorted(
        name for name, obj in vars(module).items()
        if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
    )


def _short_repr(value, width: int = 90) -> str:
    text = " ".join(repr(value).split()).replace("``", "` `")
    return text if len(text) <= width else text[: width - 3] + "..."


def _write_if_changed(path: Path, text: str) -> None:
    """Rewrite only on change, so Sphinx does not reread unchanged pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def api_pages(out: Path) -> None:
    """One reStructuredText page per module of ``API_MODULES`` plus their index."""
    toc, stubs = [], set()
    for module_name, title, line in API_MODULES:
        module = importlib.import_module(module_name)
        names = public_names(module)
        objects = {n: getattr(module, n) for n in names}
        modules = [n for n, o in objects.items() if inspect.ismodule(o)]
        members = [n for n, o in objects.items() if callable(o) and not inspect.ismodule(o)]
        constants = [n for n in names if n not in modules and n not in members]
        heading = f"``{module_name}``"
        lines = [heading, "=" * len(heading), "", line, "", f".. automodule:: {module_name}",
                 "   :no-members:", "", f".. currentmodule:: {module_name}", "",
                 ".. autosummary::", "   :toctree: .", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in members]
        if constants:  # plain values: their type's docstring says nothing about them
            lines += ["", ".. rubric:: Constants", ""]
            lines += [f"- ``{name}`` = ``{_short_repr(objects[name])}``" for name in constants]
        for sub in modules:
            lines += ["", f"``{module_name}.{sub}``", "-" * (len(module_name) + len(sub) + 5), "",
                      f".. automodule:: {module_name}.{sub}", "   :members:", ""]
        _write_if_changed(out / f"{title}.rst", "\n".join(lines) + "\n")
        stubs.update(f"{module_name}.{name}.rst" for name in members)
        toc.append(title)
    for stale in out.glob("latentalign.*.rst"):  # a renamed or removed name's old page
        if stale.name not in stubs:
            stale.unlink()
    index = ["API reference", "=============", "",
             "Generated from the docstrings. Every public name of each package is listed; the",
             "math the docstrings cite lives in the capability pages.", "",
             ".. toctree::", "   :maxdepth: 1", ""] + [f"   {t}" for t in toc]
    _write_if_changed(out / "index.rst", "\n".join(index) + "\n")


def _commands(command, path):
    yield path, command
    for name in sorted(getattr(command, "commands", {})):
        yield from _commands(command.commands[name], f"{path} {name}")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def cli_page(out: Path) -> None:
    """Every command of ``latentalign``: help text, usage and a table of its parameters."""
    import typer

    from latentalign.cli import app

    root = typer.main.get_command(app)
    lines: list[str] = []
    for path, command in _commands(root, "latentalign"):
        if getattr(command, "hidden", False):
            continue
        ctx = root.context_class(command, info_name=path)
        depth = path.count(" ")
        lines += ["#" * min(2 + depth, 4) + f" `{path}`", ""]
        help_text = inspect.cleandoc(command.help or "")
        lines += ["```text", f"Usage: {path} {' '.join(command.collect_usage_pieces(ctx))}", "",
                  help_text, "```", ""]
        records = [r for p in command.params if not getattr(p, "hidden", False)
                   for r in [p.get_help_record(ctx)] if r]
        if records:
            lines += ["| parameter | description |", "|---|---|"]
            lines += [f"| `{_cell(name)}` | {_cell(text)} |" for name, text in records]
            lines.append("")
    _write_if_changed(out, "\n".join(lines) + "\n")
