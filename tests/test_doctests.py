"""Every docstring example in the library runs and says what the docstring says: the doctests of every module
of ``accountability`` and ``graph_schema``, one test each."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import accountability
import graph_schema

MODULES = sorted(
    name for package in (accountability, graph_schema)
    for _, name, _ in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
)


@pytest.mark.parametrize("name", MODULES)
def test_the_module_s_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (run it with -s)"


def test_every_module_is_collected():
    assert {"accountability.trace", "accountability.stores.sqlite", "accountability.cli.trace",
            "graph_schema.loader"} <= set(MODULES)
