"""``latentalign`` and ``python -m latentalign``: the command line, or one line naming the
extra to install when its libraries are missing (exit status 2, no traceback).
"""

from __future__ import annotations

import sys

from ._extras import MissingExtraError


def main(argv: list[str] | None = None) -> int:
    """Run :func:`latentalign.cli.main`; without the ``[cli]`` extra, print what to install."""
    try:
        from .cli import main as cli_main
    except MissingExtraError as exc:
        print(f"latentalign: error: {exc}", file=sys.stderr)
        return 2
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
