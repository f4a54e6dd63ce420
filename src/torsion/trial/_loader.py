"""Finding tests from the runner's targets, as trial does.

A target is a module, a package (every ``test_*`` module in it, recursively),
a class or a method, named with dots; or a file or directory path, turned
into that name (its top package's parent goes on ``sys.path``).  A target
that cannot be imported becomes one failing test naming the error, so the
run reports it and goes on.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
import unittest
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["flatten", "load"]


class _LoadError(unittest.TestCase):
    """A target that could not be loaded, reported as an error."""

    def __init__(self, target: str, text: str) -> None:
        super().__init__("runTest")
        self.target = target
        self.text = text

    def id(self) -> str:
        return self.target

    def runTest(self) -> None:
        raise ImportError(f"cannot load {self.target!r}:\n{self.text}")


def _nameFromPath(path: str) -> str:
    """The dotted name of the module or package at ``path``; puts its root on sys.path."""
    path = os.path.abspath(path)
    if path.endswith(".py"):
        path = path[:-3]
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)
    parts = [os.path.basename(path)]
    parent = os.path.dirname(path)
    while os.path.exists(os.path.join(parent, "__init__.py")):
        parts.insert(0, os.path.basename(parent))
        parent = os.path.dirname(parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    return ".".join(parts)


def _testModules(package: ModuleType) -> Iterator[str]:
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.rsplit(".", 1)[-1].startswith("test_") and not info.ispkg:
            yield info.name


def _loadName(loader: unittest.TestLoader, name: str, recurse: bool) -> unittest.TestSuite:
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        if e.name is None or not name.startswith(e.name) or "." not in name:
            raise
        return loader.loadTestsFromName(name)  # a class or method in a module
    suite = loader.loadTestsFromModule(module)
    if recurse and hasattr(module, "__path__"):
        for child in sorted(_testModules(module)):
            suite.addTest(_loadOne(loader, child, recurse=False))
    return suite


def _loadOne(loader: unittest.TestLoader, target: str, recurse: bool) -> unittest.TestSuite:
    name = target
    try:
        if os.sep in target or target.endswith(".py") or os.path.isdir(target):
            name = _nameFromPath(target)
        return _loadName(loader, name, recurse)
    except Exception:
        return unittest.TestSuite([_LoadError(target, traceback.format_exc())])


def load(targets: list[str], recurse: bool = True) -> unittest.TestSuite:
    """A suite of every test the targets name (see the module comment)."""
    loader = unittest.TestLoader()
    return unittest.TestSuite(_loadOne(loader, t, recurse) for t in targets)


def flatten(suite: Any) -> Iterator[Any]:
    """The tests of ``suite``, in order."""
    if isinstance(suite, unittest.TestSuite):
        for test in suite:
            yield from flatten(test)
    else:
        yield suite
