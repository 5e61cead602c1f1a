"""latentalign: measure, learn and correct the similarity structure of representations.

``latentalign.set_threads(n)`` sets the thread count of every solver and training loop
(``None``: the default policy, one thread for small problems; see :mod:`latentalign._threads`).
"""

from ._extras import lazy_exports

__version__ = "0.2.0.dev0"  # the one place it is written: pyproject.toml reads it at build time

# imported on first use: `import latentalign` stays free of torch
__getattr__ = lazy_exports(__name__, _threads=["set_threads"])
