"""Reporting a test's outcome to a result object of any flavour.

``unittest.TestCase.run`` talks to a ``unittest.TestResult``; trial's
reporters take more: a ``Todo`` with an expected failure or an unexpected
success.  pytest's unittest bridge sits in between (it takes a reason as third
argument).  ``Outcomes`` passes the ``Todo`` only to methods that accept a
third argument, and always hands errors over as ``sys.exc_info()`` tuples,
which every flavour understands.  ``Todo`` converts to its reason as a
string, which is what pytest shows for an expected failure.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from torsion.failure import Failure

__all__ = ["Outcomes", "PyUnitResultAdapter", "Todo", "UnsupportedTrialFeature", "makeTodo"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@dataclass(frozen=True)
class Todo:
    """A test expected to fail: why, and with which exceptions (None: any)."""

    reason: str
    errors: Iterable[type[BaseException]] | None = None

    def expected(self, failure: Failure) -> bool:
        """Is ``failure`` one of the failures this todo expects?"""
        return self.errors is None or bool(failure.check(*self.errors))

    def __repr__(self) -> str:
        return f"<Todo reason={self.reason!r} errors={self.errors!r}>"

    def __str__(self) -> str:
        return self.reason


def makeTodo(value: Any) -> Todo:
    """A ``Todo`` from a ``todo`` attribute: a reason, or ``(errors, reason)``.

    ``errors`` is one exception class or an iterable of them.
    """
    if isinstance(value, Todo):
        return value
    if isinstance(value, tuple):
        errors, reason = value
        return Todo(str(reason), [errors] if isinstance(errors, type) else errors)
    return Todo(str(value))


# Frames of these modules are plumbing between the test and its outcome.
_PLUMBING = ("torsion.trial.", "torsion._defer", "torsion.defer")


def _isPlumbing(tb: TracebackType) -> bool:
    """Is ``tb``'s frame torsion's machinery or unittest's (which marks its own)?"""
    names = tb.tb_frame.f_globals
    name = names.get("__name__", "")
    return "__unittest" in names or (isinstance(name, str) and name.startswith(_PLUMBING))


def _withoutPlumbing(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without the frames of the testing machinery (if that leaves any)."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    kept = [t for t in frames if not _isPlumbing(t)] or frames[-1:]
    if len(kept) == len(frames):
        return frames[0] if frames else None
    rebuilt = None
    for t in reversed(kept):
        rebuilt = TracebackType(rebuilt, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return rebuilt


def _realTraceback(value: BaseException) -> TracebackType | None:
    """A traceback for ``value``, which has none (pytest cannot report without one)."""
    try:
        raise value
    except BaseException as e:
        return e.__traceback__


def excInfo(error: Failure | ExcInfo) -> ExcInfo:
    """``error`` as an exc_info tuple with a real, trimmed traceback."""
    if isinstance(error, Failure):
        kind, value, tb = error.type, error.value, error.getTracebackObject()
        if tb is not None and not isinstance(tb, TracebackType):
            # A cleaned Failure: keep its frames as text, on the exception.
            value.add_note(error.getTraceback().rstrip("\n"))
    else:
        kind, value, tb = error
    if not isinstance(tb, TracebackType):
        tb = _realTraceback(value)
    return (kind, value, _withoutPlumbing(tb))


def _takes(method: Any, count: int) -> bool:
    """Does ``method`` take ``count`` positional arguments (test, error, todo...)?"""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= count


class Outcomes:
    """Reports the outcomes of ``test`` to ``result`` (see the module comment)."""

    def __init__(self, result: Any, test: Any) -> None:
        self.result = result
        self.test = test
        self.bad = False  # a failure or error was reported

    def success(self) -> None:
        self.result.addSuccess(self.test)

    def failure(self, error: Failure | ExcInfo) -> None:
        self.bad = True
        self.result.addFailure(self.test, excInfo(error))

    def error(self, error: Failure | ExcInfo) -> None:
        self.bad = True
        self.result.addError(self.test, excInfo(error))

    def errors(self, errors: Iterable[Failure]) -> None:
        for e in errors:
            self.error(e)

    def interrupted(self, info: ExcInfo) -> None:
        """A KeyboardInterrupt: reported, and the run stopped, if ``result`` can stop one.

        Otherwise (pytest) it goes on up, to whoever runs the tests.
        """
        stop = getattr(self.result, "stop", None)
        if stop is None or not hasattr(self.result, "shouldStop"):
            raise info[1]
        self.error(info)
        stop()

    def skip(self, reason: Any) -> None:
        addSkip = getattr(self.result, "addSkip", None)
        if addSkip is None:
            self.result.addSuccess(self.test)
        else:
            addSkip(self.test, reason)

    def expectedFailure(self, error: Failure | ExcInfo, todo: Todo) -> None:
        add = getattr(self.result, "addExpectedFailure", None)
        if add is None:
            self.result.addSuccess(self.test)
        elif _takes(add, 3):
            add(self.test, excInfo(error), todo)
        else:
            add(self.test, excInfo(error))

    def unexpectedSuccess(self, todo: Todo) -> None:
        add = getattr(self.result, "addUnexpectedSuccess", None)
        if add is None:
            self.bad = True
            self.result.addFailure(self.test, _unexpected(todo))
        elif _takes(add, 2):
            add(self.test, todo)
        else:
            add(self.test)


def _unexpected(todo: Todo) -> ExcInfo:
    e = AssertionError(f"unexpected success (todo: {todo.reason})")
    return (AssertionError, e, None)


class UnsupportedTrialFeature(Exception):
    """A trial outcome (todo) that a plain unittest result cannot record."""


class PyUnitResultAdapter:
    """Wraps a ``unittest.TestResult`` so it takes trial's outcomes, as trial's does.

    An expected failure or an unexpected success (trial's ``todo``) is
    reported to it as a failure (``UnsupportedTrialFeature``).  torsion's test
    cases do not need it (they talk to any result), it is kept for code
    that uses it directly.
    """

    def __init__(self, original: Any) -> None:
        self.original = original

    def startTest(self, test: Any) -> None:
        self.original.startTest(test)

    def stopTest(self, test: Any) -> None:
        self.original.stopTest(test)

    def addSuccess(self, test: Any) -> None:
        self.original.addSuccess(test)

    def addFailure(self, test: Any, error: Any) -> None:
        self.original.addFailure(test, excInfo(error))

    def addError(self, test: Any, error: Any) -> None:
        self.original.addError(test, excInfo(error))

    def addSkip(self, test: Any, reason: Any) -> None:
        self.original.addSkip(test, reason)

    def _unsupported(self, test: Any, feature: str, info: Any) -> None:
        e = UnsupportedTrialFeature(feature, info)
        self.original.addFailure(test, (UnsupportedTrialFeature, e, None))

    def addUnexpectedSuccess(self, test: Any, todo: Any = None) -> None:
        self._unsupported(test, "unexpected success", todo)

    def addExpectedFailure(self, test: Any, error: Any, todo: Any = None) -> None:
        self._unsupported(test, "expected failure", error)

    def upDownError(self, method: Any, error: Any, warn: Any, printStatus: Any) -> None:
        pass
