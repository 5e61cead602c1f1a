r"""One shared writer for benchmarks/RESULTS.md: each benchmark owns one ``## <name>`` section.

>>> replace_section("# Benchmark results\n\n## a\nold\n\n## b\nkeep\n", "a", "## a\nnew\n")
'# Benchmark results\n\n## a\nnew\n\n## b\nkeep\n'
"""

from __future__ import annotations

from pathlib import Path

from latentalign._io import write_text

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(old: str, name: str, section: str) -> str:
    """``old`` with its ``## name`` section (up to the next ``## `` heading) replaced, or appended."""
    heading = f"## {name}"
    lines = old.rstrip("\n").splitlines() if old.strip() else ["# Benchmark results"]
    new = section.rstrip("\n").splitlines()
    stripped = [ln.strip() for ln in lines]
    if heading not in stripped:
        return "\n".join(lines + [""] + new) + "\n"
    start = stripped.index(heading)
    stop = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
    rest = lines[stop:]
    return "\n".join(lines[:start] + new + ([""] + rest if rest else [])) + "\n"


def publish(name: str, section: str, *, quick: bool, path: Path = RESULTS) -> int:
    """A benchmark's last step: write ``section`` as ``## name`` of ``path`` unless ``quick`` (a smoke
    run writes nothing), say which, and return the script's exit status."""
    if quick:
        print("--quick: RESULTS.md not written")
    else:
        update_section(name, section, path)
        print(f"wrote {path}")
    return 0


def update_section(name: str, section: str, path: Path = RESULTS) -> None:
    """Rewrite ``path`` atomically with ``section`` as its ``## name`` section, keeping the others."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text(path, replace_section(old, name, section))
