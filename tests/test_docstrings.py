"""The public API's docstrings are numpydoc: a one-line summary, Parameters, Returns, Examples.

The public API is what each capability's face exports (``__all__``) and the core modules'
public functions and classes. A function documents every parameter of its signature, what
it returns and a runnable example; a class its constructor's parameters and an example (a
result type, its attributes instead); ``forward`` / ``update`` / ``compute`` their
parameters and return value. ruff (``make lint``) checks the rest of pydocstyle's numpy
convention on every docstring.

Objects not converted yet are listed in ``PENDING``: their check is expected to fail
(strict), so converting one means deleting its line here.
"""

import dataclasses
import importlib
import inspect
import typing
import warnings

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

FACES = ["latentalign.align", "latentalign.ksm", "latentalign.ssl", "latentalign.contrastive", "latentalign.lcc"]
CORE = ["latentalign.kernels", "latentalign.neighbors", "latentalign.moments"]
METHODS = ("forward", "update", "compute")


def _public(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, o in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(o) or inspect.isclass(o)) and o.__module__ == module_name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objects = [(f"{module_name}.{n}", getattr(module, n)) for n in names]
    return [(n, o) for n, o in objects if callable(o) and not inspect.ismodule(o)]


def _objects() -> list[tuple[str, object]]:
    seen, out = set(), []
    for module_name in FACES + CORE:
        for name, obj in _public(module_name):
            if id(obj) not in seen:
                seen.add(id(obj))
                out.append((name, obj))
            if inspect.isclass(obj):
                out += [(f"{name}.{m}", vars(obj)[m]) for m in METHODS if inspect.isfunction(vars(obj).get(m))]
    return out


def _parameters(fn) -> list[str]:
    names = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in ("self", "cls"):
            continue
        names.append({p.VAR_POSITIONAL: f"*{p.name}", p.VAR_KEYWORD: f"**{p.name}"}.get(p.kind, p.name))
    return names


def _documented(doc) -> set[str]:
    names = set()
    for param in doc["Parameters"]:
        names.update(part.strip() for part in param.name.split(","))
    return names


def _is_result_type(cls) -> bool:
    return dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields"))


def problems(name: str, obj) -> list[str]:
    """What the docstring of ``obj`` lacks; empty when it is complete."""
    raw = inspect.getdoc(obj) or ""
    if not raw:
        return ["no docstring"]
    out = []
    if "\n" in raw.split("\n\n")[0]:
        out.append("the summary is not one line")
    if inspect.isclass(obj):
        doc = ClassDoc(obj, config={"show_class_members": False})
        if _is_result_type(obj):
            fields = [f.name for f in dataclasses.fields(obj)] if dataclasses.is_dataclass(obj) else list(obj._fields)
            listed = {part.strip() for a in doc["Attributes"] for part in a.name.split(",")}
            out += [f"attribute {f!r} not in Attributes" for f in fields if f not in listed]
            return out
        owner = next(c for c in obj.__mro__ if "__init__" in vars(c))  # a library base's is not ours to document
        params = _parameters(obj.__init__) if owner.__module__.startswith("latentalign") else []
        out += [f"parameter {p!r} not in Parameters" for p in params if p.lstrip("*") not in
                {d.lstrip("*") for d in _documented(doc)}]
        if not doc["Examples"]:
            out.append("no Examples")
        return out
    doc = FunctionDoc(obj)
    params = _parameters(obj)
    out += [f"parameter {p!r} not in Parameters" for p in params if p.lstrip("*") not in
            {d.lstrip("*") for d in _documented(doc)}]
    returns_none = typing.get_type_hints(obj).get("return", object) is type(None) if _hints_ok(obj) else False
    if not (doc["Returns"] or doc["Yields"]) and not returns_none:
        out.append("no Returns")
    if name.rpartition(".")[2] not in METHODS and not doc["Examples"]:
        out.append("no Examples")
    return out


def _hints_ok(fn) -> bool:
    try:
        typing.get_type_hints(fn)
    except Exception:  # a forward reference to an optional library's type
        return False
    return True


OBJECTS = _objects()

# Not converted yet (issue 12): each line goes when its docstring gets its sections.
PENDING: set[str] = set()


@pytest.mark.parametrize(
    ("name", "obj"),
    [pytest.param(n, o, id=n, marks=[pytest.mark.xfail(strict=True, reason="not numpydoc yet")] if n in PENDING
                  else []) for n, o in OBJECTS],
)
def test_public_docstring_is_numpydoc(name, obj):
    assert not problems(name, obj), problems(name, obj)


def test_pending_names_exist():
    assert PENDING <= {n for n, _ in OBJECTS}


def test_no_section_heading_numpydoc_would_drop():
    """``Example`` / ``Fields`` headings are not numpydoc sections: the docs would lose them."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "latentalign"
    heading = re.compile(r"^\s*(Example|Fields)\n\s*-{5,}$", re.MULTILINE)
    found = [f"{path.relative_to(src)}: {m[1]}" for path in sorted(src.rglob("*.py"))
             for m in heading.finditer(path.read_text())]
    assert not found, found
