"""Run registered studies and write one HTML report: ``DIR/index.html``.

Layout of ``DIR``::

    index.html              every study: summary, checks, tables, figures, config, timing
    report.json             the same numbers and timings, machine-readable
    <study>/result.json     one study's config, numbers, tables and checks
    <study>/<figure>.png
    run.json                the manifest: every file above with its SHA-256, written last

Every file is written atomically. A run first deletes the old ``run.json``,
``index.html`` and ``report.json``, and writes ``index.html`` after every file it
points at and ``run.json`` after that: a folder without ``run.json`` is an
interrupted report, and :func:`read_report` refuses it. A study that raises is
shown as failed (with its error) and the others still run.

Examples
--------
>>> from pathlib import Path; import tempfile
>>> out = run_report(Path(tempfile.mkdtemp()), only=["sanity"], quick=True)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from ._extras import require
from ._io import save_figure, write_json, write_text
from ._manifest import begin_set, read_manifest, write_manifest
from .studies.base import STUDIES, Result, load_study

require("matplotlib", "the report").use("Agg")


@dataclass
class StudyRun:
    """One study of a report: its name, title, config, CPU seconds and result (or the error it raised)."""

    name: str
    title: str
    config: dict
    seconds: float
    result: Result | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the study ran and every check passed."""
        return self.error is None and all(c.passed for c in self.result.checks)

    @property
    def state(self) -> str:
        """``"done"``, ``"unreproduced"`` (a check failed) or ``"error"`` (the study raised)."""
        return "error" if self.error is not None else ("done" if self.passed else "unreproduced")


def run_report(
    out: str | os.PathLike = "report",
    *,
    only: list[str] | None = None,
    quick: bool = False,
    on_study: Callable[[str, str], None] | None = None,
) -> list[StudyRun]:
    """Run the studies named in ``only`` (default: all) and write the report into ``out``.

    ``quick`` uses each study's ``QUICK_CONFIG`` (seconds; for tests and smoke runs).
    ``on_study(name, state)`` is called with ``"start"``, then ``"done"`` (every check holds),
    ``"unreproduced"`` (it ran; a claim did not reproduce) or ``"error"`` (it raised).
    """
    names = list(only) if only else list(STUDIES)
    modules = {name: load_study(name) for name in names}  # unknown names fail before any work
    out = Path(out)
    begin_set(out, stale=["index.html", "report.json"])
    runs, files = [], []
    for name, module in modules.items():
        config = dict(module.QUICK_CONFIG if quick else module.DEFAULT_CONFIG)
        if on_study:
            on_study(name, "start")
        t0 = time.perf_counter()
        try:
            result, error = module.run(config), None
        except Exception:  # a failing study is reported, the others still run
            result, error = None, traceback.format_exc()
        run = StudyRun(name, module.TITLE, config, time.perf_counter() - t0, result, error)
        files += [f"{name}/{file}" for file in _write_study(out / name, run)]
        runs.append(run)
        if on_study:
            on_study(name, run.state)
    meta = _machine()
    write_json(out / "report.json", {"meta": meta, "studies": [_study_json(r) for r in runs]})
    write_text(out / "index.html", _html(runs, meta))
    write_manifest(out, files + ["report.json", "index.html"], {"command": "report", "studies": names})
    return runs


def read_report(folder: str | os.PathLike) -> dict:
    """The ``report.json`` of the complete report in ``folder``; a ``ValueError`` naming ``report``
    when the report is incomplete (no ``run.json``: interrupted) or a file changed since.
    """
    read_manifest(folder, "report")
    return json.loads((Path(folder) / "report.json").read_text(encoding="utf-8"))


def _write_study(folder: Path, run: StudyRun) -> list[str]:
    """Write one study's files; return their names."""
    names = []
    if run.result is not None:
        for fig in run.result.figures:
            save_figure(fig.figure, folder / f"{fig.name}.png")
            names.append(f"{fig.name}.png")
    write_json(folder / "result.json", _study_json(run))
    return names + ["result.json"]


def _study_json(run: StudyRun) -> dict:
    body = {"name": run.name, "title": run.title, "config": run.config,
            "seconds": round(run.seconds, 3), "passed": run.passed, "error": run.error}
    if run.result is not None:
        r = run.result
        body.update(summary=r.summary, numbers=r.numbers,
                    tables=[asdict(t) for t in r.tables], checks=[asdict(c) for c in r.checks],
                    figures=[f"{f.name}.png" for f in r.figures])
    return body


def _machine() -> dict:
    import torch

    return {
        "latentalign": __version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.pass{color:#176c2c} .fail{color:#b00020} figure{display:inline-block;margin:.5em;vertical-align:top}
figure img{max-width:520px} figcaption{font-size:.9em;color:#555;max-width:520px}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em} .meta{color:#555;font-size:.9em}
"""


_STATE_LABEL = {"done": "ok", "unreproduced": "claim not reproduced", "error": "ERROR"}


def _html(runs: list[StudyRun], meta: dict) -> str:
    e = html.escape
    total = sum(r.seconds for r in runs)
    toc = "".join(
        f'<li><a href="#{e(r.name)}">{e(r.title)}</a> — '
        f'<span class="{"pass" if r.passed else "fail"}">{_STATE_LABEL[r.state]}</span>'
        f" ({r.seconds:.1f} s)</li>"
        for r in runs
    )
    meta_line = " · ".join(f"{e(k)} {e(str(v))}" for k, v in meta.items())
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>latentalign report</title>",
        f"<style>{_CSS}</style></head><body><h1>latentalign report</h1>",
        f"<p class='meta'>{meta_line} · total {total:.1f} s</p><ul>{toc}</ul>",
    ]
    parts += [_study_html(r) for r in runs]
    parts.append("</body></html>\n")
    return "".join(parts)


def _study_html(run: StudyRun) -> str:
    e = html.escape
    head = f"<h2 id='{e(run.name)}'>{e(run.title)}</h2>"
    head += f"<p class='meta'>study <code>{e(run.name)}</code> · {run.seconds:.1f} s · "
    head += f"<a href='{e(run.name)}/result.json'>numbers (JSON)</a></p>"
    if run.error is not None:
        return head + f"<p class='fail'>The study raised an error:</p><pre>{e(run.error)}</pre>"
    r = run.result
    body = [head, f"<p>{e(r.summary)}</p>"]
    if r.checks:
        items = "".join(
            f"<li class='{'pass' if c.passed else 'fail'}'>{'✓' if c.passed else '✗'} {e(c.claim)}"
            f"{' — ' + e(c.detail) if c.detail else ''}</li>"
            for c in r.checks
        )
        body.append(f"<h3>Checks</h3><ul>{items}</ul>")
    for t in r.tables:
        header = "".join(f"<th>{e(str(c))}</th>" for c in t.columns)
        rows = "".join("<tr>" + "".join(f"<td>{e(_fmt(v))}</td>" for v in row) + "</tr>" for row in t.rows)
        body.append(f"<h3>{e(t.caption)}</h3><table><tr>{header}</tr>{rows}</table>")
    for f in r.figures:
        body.append(
            f"<figure><img src='{e(run.name)}/{e(f.name)}.png' alt='{e(f.caption)}'>"
            f"<figcaption>{e(f.caption)}</figcaption></figure>"
        )
    body.append(f"<details><summary>config</summary><pre>{e(json.dumps(run.config, indent=2))}</pre></details>")
    return "".join(body)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
