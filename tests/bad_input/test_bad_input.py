"""Every public callable and CLI command on every family of bad input (issue 13).

Runs the tables of ``cases_*.py``: an error names the right argument, a valid-but-unusual
input gives the right value, the CLI answers with exit 2 and one line.
"""

from __future__ import annotations

import collections
import importlib
import pathlib
import warnings

import pytest

from latentalign.cli import main

from .harness import FAMILIES, Case, CliCase

_MODULES = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("cases_*.py"))
ALL = [case for m in _MODULES for case in importlib.import_module(f"{__package__}.{m}").CASES]
API = [c for c in ALL if isinstance(c, Case)]
CLI = [c for c in ALL if isinstance(c, CliCase)]


def test_table_is_large_and_covers_every_family():
    names = [c.name for c in ALL]
    assert len(names) == len(set(names)), [n for n, k in collections.Counter(names).items() if k > 1]
    per_family = collections.Counter(c.family for c in ALL)
    assert len(ALL) >= 300, per_family
    assert set(per_family) == set(FAMILIES), set(FAMILIES) - set(per_family)


@pytest.mark.parametrize("case", API, ids=[c.name for c in API])
def test_api_case(case: Case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a warning is allowed beside the right outcome, never instead of it
        if case.raises is None:
            value = case.call()
            assert case.check(value), f"{case.name}: unexpected value {value!r}"
            return
        with pytest.raises(case.raises) as info:
            case.call()
    message = str(info.value)
    assert message.startswith(f"{case.arg}:"), message
    assert case.words in message, message


@pytest.mark.parametrize("case", CLI, ids=[c.name for c in CLI])
def test_cli_case(case: CliCase, tmp_path, capsys):
    if case.setup is not None:
        case.setup(tmp_path)
    code = main([a.format(p=tmp_path) for a in case.argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("latentalign: error: "), err
    assert case.words.format(p=tmp_path) in err, err
