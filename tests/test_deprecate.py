"""The deprecation helper: renamed keywords, values and objects warn once per use and map to the new word."""

import sys
import types
import warnings

import pytest

from latentalign._deprecate import REMOVED_IN, renamed_kwargs, renamed_objects, renamed_value


@renamed_kwargs(convert={"C": lambda c: 1.0 / c}, lam="ridge", C="ridge")
def _fit(X, *, ridge: float = 1.0, other: int = 0):
    return ridge, other


def test_renamed_kwarg_maps_old_to_new_and_warns():
    expected = r"^_fit: 'lam' is deprecated, use 'ridge' \(the old name is removed in 0.3\)$"
    with pytest.warns(DeprecationWarning, match=expected):
        assert _fit(None, lam=0.5, other=2) == (0.5, 2)
    with pytest.warns(DeprecationWarning, match="'C' is deprecated, use 'ridge'"):
        assert _fit(None, C=4.0) == (0.25, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name does not warn
        assert _fit(None, ridge=3.0) == (3.0, 0)
    assert REMOVED_IN == "0.3"


def test_renamed_kwarg_with_both_names_is_a_type_error_naming_both():
    with pytest.raises(TypeError, match="^ridge: got both 'lam' \\(deprecated\\) and 'ridge'; pass only 'ridge'$"):
        _fit(None, lam=0.5, ridge=1.0)


def test_renamed_kwarg_keeps_the_new_signature():
    import inspect

    assert list(inspect.signature(_fit).parameters) == ["X", "ridge", "other"]


def test_renamed_value():
    with pytest.warns(DeprecationWarning, match="kernel='gaussian' is deprecated, use kernel='rbf'"):
        assert renamed_value("gaussian", "kernel", {"gaussian": "rbf"}) == "rbf"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert renamed_value("linear", "kernel", {"gaussian": "rbf"}) == "linear"
        assert renamed_value(len, "kernel", {"gaussian": "rbf"}) is len  # callables pass through


def test_renamed_objects():
    module = types.ModuleType("fake_vocab_module")
    module.new_name = object()
    module.__getattr__ = renamed_objects("fake_vocab_module", {"old_name": "new_name",
                                                               "moved": "latentalign._deprecate:REMOVED_IN"})
    sys.modules["fake_vocab_module"] = module
    try:
        with pytest.warns(DeprecationWarning, match="fake_vocab_module: 'old_name' is deprecated, use 'new_name'"):
            assert module.old_name is module.new_name
        with pytest.warns(DeprecationWarning, match="use 'latentalign._deprecate.REMOVED_IN'"):
            assert module.moved == "0.3"
        with pytest.raises(AttributeError, match="has no attribute 'missing'"):
            module.missing  # noqa: B018
    finally:
        del sys.modules["fake_vocab_module"]
