"""Docstrings cite the math in ``docs/<page>.md#<label>``, never files outside the repository.

Checked over the package, the tests and the benchmarks.

Every citation must name a page that exists and a label defined in it (a MyST target
``(label)=`` or a numbered equation ``$$ ... $$ (label)``), so citations cannot rot.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE = [ROOT / "src", ROOT / "tests", ROOT / "benchmarks"]
OUTSIDE = "specs" + "/"  # spelled in two parts so this file does not match itself

CITATION = re.compile(r"docs/(?P<page>[\w-]+)\.md(?:#(?P<label>[\w-]+))?")
TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=\s*$", re.MULTILINE)
EQUATION = re.compile(r"\$\$\s*\((?P<label>[\w-]+)\)\s*$", re.MULTILINE)


def labels(page: Path) -> set[str]:
    """The labels a MyST page defines: targets and numbered equations."""
    text = page.read_text(encoding="utf-8")
    return {m["label"] for m in TARGET.finditer(text)} | {m["label"] for m in EQUATION.finditer(text)}


def citations(text: str) -> list[tuple[str, str | None]]:
    return [(m["page"], m["label"]) for m in CITATION.finditer(text)]


def source_files() -> list[Path]:
    return sorted(path for folder in CODE for path in folder.rglob("*.py"))


def test_labels_reads_targets_and_equations(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("(sec-a)=\n# A\n\n$$\nx = 1\n$$ (eq-one)\n\n$$ y $$ (eq-two)\nnot (a label)= here\n")
    assert labels(page) == {"sec-a", "eq-one", "eq-two"}


def test_citations_parse_page_and_label():
    text = "see ``docs/align.md#eq-stitch-bound`` and ``docs/ksm.md``"
    assert citations(text) == [("align", "eq-stitch-bound"), ("ksm", None)]


def test_no_reference_to_specs():
    hits = [f"{path.relative_to(ROOT)}:{n}" for path in source_files()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if OUTSIDE in line]
    assert not hits, f"cite docs/<page>.md#<label>, not {OUTSIDE}: " + ", ".join(hits)


def test_every_citation_resolves():
    pages: dict[str, set[str]] = {}
    broken, cited = [], 0
    for path in source_files():
        for page, label in citations(path.read_text(encoding="utf-8")):
            cited += 1
            file = DOCS / f"{page}.md"
            if not file.exists():
                broken.append(f"{path.relative_to(ROOT)}: docs/{page}.md does not exist")
                continue
            known = pages.setdefault(page, labels(file))
            if label is not None and label not in known:
                broken.append(f"{path.relative_to(ROOT)}: docs/{page}.md has no label {label!r}")
    assert cited > 0, "no docstring cites the docs: the pattern or the tree moved"
    assert not broken, "\n".join(broken)
