"""Sphinx configuration: built offline, warnings are errors (``make docs``)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# The gallery runs small iterative examples: one intra-op thread each, so torch and faiss
# do not spin against a busy machine (set before anything imports torch).
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))  # the working tree wins over an installed copy
sys.path.insert(0, str(HERE))

os.environ.setdefault("MPLBACKEND", "Agg")

import _generate  # noqa: E402  (needs the path above)

import latentalign  # noqa: E402

# The API and CLI pages are generated from the code itself (each package's ``__all__``
# and the typer app), so renamed or new public names appear without editing the docs.
_generate.api_pages(HERE / "api" / "generated")
_generate.cli_page(HERE / "api" / "generated" / "cli_commands.md")

project = "latentalign"
author = "the latentalign developers"
copyright = "2026, the latentalign developers"
release = getattr(latentalign, "__version__", "0.1.0")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.pickle", "**/*.json",
                    "api/generated/cli_commands.md"]  # included by cli.md
templates_path = ["_templates"]

# MyST: $...$ and $$...$$ (label) math, numbered equations with stable labels.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_dmath_double_inline = True
myst_heading_anchors = 3
math_number_all = False
math_eqref_format = "({number})"
math_numfig = False  # number equations per page: (1), (2), ... on each capability page

# autodoc / autosummary / numpydoc. numpydoc renders the sections; which sections the public API must
# have is checked by tests/test_docstrings.py.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
autodoc_mock_imports: list[str] = []
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# No network at build time.
intersphinx_mapping: dict = {}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": str(HERE / "auto_examples"),
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "write_computation_times": True,
}

html_theme = "pydata_sphinx_theme"
html_title = "latentalign"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False


# Docstrings cite the math as ``docs/<page>.md#<label>`` (readable in a terminal); in the
# HTML those citations become links to the page and its equation or section.
_CITATION = re.compile(r"``docs/(?P<page>[\w-]+)\.md(?:#(?P<label>[\w-]+))?``")


def _link(match: re.Match) -> str:
    page, label = match["page"], match["label"]
    if label is None:
        return f":doc:`docs/{page}.md </{page}>`"
    if label.startswith("eq-"):
        return f":doc:`docs/{page}.md </{page}>`, eq. :eq:`{label}`"
    return f":ref:`docs/{page}.md#{label} <{label}>`"


def _link_citations(app, what, name, obj, options, lines) -> None:
    lines[:] = [_CITATION.sub(_link, line) for line in lines]


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _link_citations)
