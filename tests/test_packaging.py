"""Package metadata: the dependencies and extras, the one version, the citation file."""

import re
import tomllib
from pathlib import Path

import latentalign
from latentalign._extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
CORE = {"numpy", "scipy", "scikit-learn", "threadpoolctl", "torch"}  # threadpoolctl: scikit-learn needs it too


def test_pyproject_declares_every_optional_library_in_its_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = re.compile(r"[A-Za-z0-9_.-]+")
    core = {name.match(req).group(0) for req in project["dependencies"]}
    assert core == CORE
    extras = project["optional-dependencies"]

    def closure(extra: str) -> set[str]:  # distributions an extra installs, self-references expanded
        out = set()
        for req in extras[extra]:
            if req.startswith("latentalign["):
                out |= set().union(*(closure(e) for e in req[len("latentalign["):-1].split(",")))
            else:
                out.add(name.match(req).group(0))
        return out

    for top, (dist, extra) in EXTRAS.items():
        assert dist in closure(extra), (top, extra)
    assert {dist for dist, _ in EXTRAS.values()} <= closure("all")
    assert closure("all") <= closure("dev")
    assert project["dynamic"] == ["version"]


def test_version_is_pep440_and_the_citation_names_it():
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", latentalign.__version__)
    cited = re.search(r'^version: "(.+)"$', (ROOT / "CITATION.cff").read_text(), re.MULTILINE)
    assert cited and cited.group(1) == latentalign.__version__


def test_citation_references_the_five_papers():
    text = (ROOT / "CITATION.cff").read_text()
    cited = re.findall(r"doi: 10\.48550/arXiv\.(\d{4}\.\d{5})", text)
    assert sorted(cited) == ["2501.11919", "2502.14047", "2503.00655", "2505.12477", "2505.24134"]
