"""trial's test decoration: ``TestDecorator`` wraps a test, ``decorate`` wraps every
test in a suite (in place).

A decorated test reports to its result as itself, the decorator: the result
it is run with is wrapped so that ``startTest``, ``addError`` and the rest
receive the decorator, not the test inside.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable
from typing import Any

__all__ = ["TestDecorator", "decorate"]

_TEST_METHODS = frozenset(
    {
        "startTest",
        "stopTest",
        "addSuccess",
        "addFailure",
        "addError",
        "addSkip",
        "addExpectedFailure",
        "addUnexpectedSuccess",
    }
)


class _DecoratedResult:
    """``result``, with the test of each report replaced by ``wrap(test)``."""

    def __init__(self, result: Any, wrap: Callable[[Any], Any]) -> None:
        self._result = result
        self._wrap = wrap

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._result, name)
        if name not in _TEST_METHODS:
            return attribute

        def report(test: Any, *args: Any, **kwargs: Any) -> Any:
            return attribute(self._wrap(test), *args, **kwargs)

        return report


class TestDecorator:
    """Wraps a test: its attributes are the test's, and it runs the test."""

    def __init__(self, test: Any) -> None:
        self._originalTest = test

    def __getattr__(self, name: str) -> Any:
        return getattr(self._originalTest, name)

    def __call__(self, result: Any) -> Any:
        return self.run(result)

    def run(self, result: Any) -> Any:
        return self._originalTest.run(_DecoratedResult(result, type(self)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._originalTest!r}>"


def decorate(test: Any, decorator: Callable[[Any], Any]) -> Any:
    """``decorator(test)``; for a suite, the same suite with every test in it decorated."""
    if not isinstance(test, unittest.TestSuite):
        return decorator(test)
    tests = list(test)
    test._tests = []
    for case in tests:
        test.addTest(decorate(case, decorator))
    return test
