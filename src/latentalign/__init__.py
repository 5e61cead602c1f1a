"""latentalign: measure, learn and correct the similarity structure of representations.

``latentalign.set_threads(n)`` sets the thread count of every solver and training loop
(``None``: the default policy, one thread for small problems; see :mod:`latentalign._threads`).
"""
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "set_threads":  # imported on first use: `import latentalign` stays free of torch
        from ._threads import set_threads

        return set_threads
    raise AttributeError(f"module 'latentalign' has no attribute {name!r}")
