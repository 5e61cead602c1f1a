"""Deprecated aliases of renamed public names: one helper for keywords, values and objects.

Every alias warns with a ``DeprecationWarning`` that names the old and the new word
and the release that removes the old one (:data:`REMOVED_IN`); the words are those
of the glossary (``docs/glossary.md``).

- :func:`renamed_kwargs`: a decorator mapping old keyword names to new ones (passing
  both is a ``TypeError`` naming both); a ``convert`` function may translate the value
  (a logistic probe's ``C`` becomes ``ridge = 1 / C``).
- :func:`renamed_value`: an old value of a parameter (``kernel="gaussian"``) becomes the new one.
- :func:`renamed_objects`: a module ``__getattr__`` giving old function or class names
  (``variance``) the new object (``variance_loss``).
- :func:`moved_objects`: a package ``__getattr__`` giving names that left the package's face
  (``lcc.knn_graph``) the object from its module (``lcc.graph.knn_graph``).

Examples
--------
>>> import warnings
>>> @renamed_kwargs(lam="ridge")
... def fit(X, *, ridge=1.0):
...     return ridge
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     fit(None, lam=0.5)
0.5
>>> str(caught[0].message)
"fit: 'lam' is deprecated, use 'ridge' (the old name is removed in 0.3)"
>>> fit(None, lam=0.5, ridge=1.0)
Traceback (most recent call last):
...
TypeError: ridge: got both 'lam' (deprecated) and 'ridge'; pass only 'ridge'
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable

__all__ = ["REMOVED_IN", "deprecated", "renamed_kwargs", "renamed_value", "renamed_objects", "moved_objects"]

REMOVED_IN = "0.3"


def deprecated(where: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` (in ``where``) is deprecated in favour of ``new``."""
    warnings.warn(f"{where}: {old} is deprecated, use {new} (the old name is removed in {REMOVED_IN})",
                  DeprecationWarning, stacklevel=stacklevel)


def renamed_kwargs(convert: dict[str, Callable] | None = None, **renames: str):
    """Decorator: keyword ``old`` of the wrapped function is accepted as ``new`` with a warning.

    ``renames`` maps old names to new names; ``convert`` maps an old name to a function
    applied to its value (default: the value unchanged).
    """
    convert = convert or {}

    def decorate(fn):
        where = fn.__qualname__.replace(".__init__", "")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{new}: got both {old!r} (deprecated) and {new!r}; pass only {new!r}")
                    deprecated(where, repr(old), repr(new))
                    value = kwargs.pop(old)
                    kwargs[new] = convert[old](value) if old in convert else value
            return fn(*args, **kwargs)

        wrapper.renamed_kwargs = {**getattr(fn, "renamed_kwargs", {}), **renames}  # old -> new, for option checks
        return wrapper

    return decorate


def renamed_value(value, name: str, renames: dict, *, where: str | None = None):
    """``renames[value]`` with a warning when ``value`` is an old word of parameter ``name``, else ``value``."""
    if isinstance(value, str) and value in renames:
        deprecated(where or name, f"{name}={value!r}", f"{name}={renames[value]!r}")
        return renames[value]
    return value


def renamed_objects(module: str, renames: dict[str, str], *, fallback: Callable[[str], object] | None = None):
    """A module ``__getattr__``: an old name in ``renames`` returns the module's new object with a warning.

    ``renames`` maps old names to new ones, either names in ``module`` or ``"package.module:name"``;
    any other name goes to ``fallback`` (e.g. the package's lazy exports) when given.
    """

    def __getattr__(name: str):
        if name not in renames:
            if fallback is not None:
                return fallback(name)
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target = renames[name]
        home, _, attr = target.rpartition(":") if ":" in target else (module, "", target)
        if home not in sys.modules:
            import importlib

            importlib.import_module(home)
        deprecated(module, f"{name!r}", f"{target.replace(':', '.')!r}")
        return getattr(sys.modules[home], attr)

    return __getattr__


def moved_objects(package: str, *, fallback: Callable[[str], object] | None = None, **modules: list[str]):
    """A package ``__getattr__``: names that left the package's face, still given (with a warning) from their module.

    Each keyword names a submodule of ``package`` and the names that moved there; any other
    name goes to ``fallback`` (the package's lazy exports) when given.

    >>> import warnings
    >>> getattr_ = moved_objects("latentalign", kernels=["gram"])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     getattr_("gram").__module__
    'latentalign.kernels'
    >>> str(caught[0].message)
    "latentalign: 'gram' is deprecated, use 'latentalign.kernels.gram' (the old name is removed in 0.3)"
    """
    moves = {name: f"{package}.{sub}:{name}" for sub, names in modules.items() for name in names}
    return renamed_objects(package, moves, fallback=fallback)
