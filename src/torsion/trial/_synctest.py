"""``SynchronousTestCase``: trial's test case for code that needs no reactor.

A test runs as in trial: ``setUp``, the test method, the cleanups (last added
first), then ``tearDown``; ``skip``, ``todo``, ``suppress`` (and, for
``TestCase``, ``timeout``) are looked up on the method, then the instance and
its class, then the module.  While it runs, warnings are collected (see
``_warnings``) and errors logged through the ``torsion`` logger are kept
(see ``_logcapture``); a logged error nobody flushed fails the test, and a
warning nobody flushed is emitted again when the test ends.  Outcomes go to
any result object, including pytest's and trial's (see ``_result``).
"""

from __future__ import annotations

import atexit
import importlib
import inspect
import os
import shutil
import sys
import tempfile
import unittest
import warnings
from collections.abc import Callable, Iterable
from types import CoroutineType
from typing import Any

from torsion.failure import Failure
from torsion.trial import _warnings
from torsion.trial._assertions import Assertions, FailTest
from torsion.trial._logcapture import observer
from torsion.trial._result import Outcomes, Todo, makeTodo
from torsion.trial.util import acquireAttribute

__all__ = ["SkipTest", "SynchronousTestCase"]

SkipTest = unittest.SkipTest


def _nothing() -> None:
    pass


class _MonkeyPatch:
    """What ``patch`` returns: the replacement can be undone and redone."""

    def __init__(self, obj: Any, attribute: str, value: Any) -> None:
        self.obj = obj
        self.attribute = attribute
        self.value = value
        self._saved: list[tuple[bool, Any]] = []

    def patch(self) -> None:
        had = hasattr(self.obj, self.attribute)
        self._saved.append((had, getattr(self.obj, self.attribute, None)))
        setattr(self.obj, self.attribute, self.value)

    def restore(self) -> None:
        while self._saved:
            had, old = self._saved.pop()
            if had:
                setattr(self.obj, self.attribute, old)
            else:
                delattr(self.obj, self.attribute)


class _TempBase:
    """Where ``mktemp`` makes its directories (see ``SynchronousTestCase.mktemp``)."""

    #: None: the current directory (``python -m torsion.trial`` runs tests in
    #: its ``_trial_temp`` directory, as trial does).
    inCurrentDirectory = False
    _base: str | None = None

    @classmethod
    def get(cls) -> str | None:
        if cls.inCurrentDirectory:
            return None
        if cls._base is None:
            cls._base = tempfile.mkdtemp(prefix="torsion-trial-")
            atexit.register(shutil.rmtree, cls._base, True)
        return cls._base


class SynchronousTestCase(Assertions):
    """A unittest ``TestCase`` with trial's helpers (see the module comment)."""

    failureException = FailTest
    skip: Any
    todo: Any
    suppress: Any

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        if methodName == "runTest" and not hasattr(self, "runTest"):
            # trial's default test does nothing; on the instance, so that
            # collectors do not find a ``runTest`` on every class.
            self.runTest = _nothing
        method = getattr(self, methodName, None)
        self._parents: list[Any] = [
            *([method] if method is not None else []),
            self,
            sys.modules.get(type(self).__module__),
        ]
        self._warnings: list[_warnings.CollectedWarning] = []

    # Trial runs one test object more than once; keep identity semantics.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, SynchronousTestCase):
            return self is other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self), self._testMethodName))

    def shortDescription(self) -> str:
        return super().shortDescription() or self._testMethodName

    # -- what applies to this test ------------------------------------------

    def _acquire(self, name: str, default: Any) -> Any:
        """``name`` from the method, the test, or the module; functions do not count.

        A module that imports a function called ``skip`` (``from unittest
        import skip``) or ``suppress`` does not mean to skip or suppress
        anything; trial takes it at its word, torsion does not.
        """
        holders = [p for p in self._parents if not callable(getattr(p, name, None))]
        return acquireAttribute(holders, name, default)

    def getSkip(self) -> tuple[bool, Any]:
        """(skip it?, why): a ``skip`` attribute, or unittest's skip decorators."""
        reason = self._acquire("skip", None)
        if reason is not None:
            return True, reason
        if getattr(self, "__unittest_skip__", False):
            return True, getattr(self, "__unittest_skip_why__", "")
        return False, None

    def getTodo(self) -> Todo | None:
        """The ``todo`` of this test (or unittest's ``expectedFailure``), if any."""
        todo = self._acquire("todo", None)
        if todo is not None:
            return makeTodo(todo)
        method = getattr(self, self._testMethodName, None)
        if getattr(method, "__unittest_expecting_failure__", False) or getattr(
            self, "__unittest_expecting_failure__", False
        ):
            return Todo("expected failure")
        return None

    def _getSuppress(self) -> Any:
        return self._acquire("suppress", [])

    def getSuppress(self) -> Any:
        return self._getSuppress()

    # -- helpers --------------------------------------------------------------

    def patch(self, obj: Any, attribute: str, value: Any) -> _MonkeyPatch:
        """Set ``obj.attribute = value`` until the test ends; returns the patch."""
        monkeyPatch = _MonkeyPatch(obj, attribute, value)
        monkeyPatch.patch()
        self.addCleanup(monkeyPatch.restore)
        return monkeyPatch

    def flushLoggedErrors(self, *errorTypes: type[BaseException]) -> list[Failure]:
        """Take the errors logged so far in this test (only those of ``errorTypes``, if given).

        What is taken no longer fails the test.
        """
        return observer.flushErrors(*errorTypes)

    def flushWarnings(
        self, offendingFunctions: Iterable[Any] | None = None
    ) -> list[dict[str, Any]]:
        """Take the warnings emitted so far in this test, as dicts (message,
        category, filename, lineno); only those whose source line lies in one
        of ``offendingFunctions``, if given."""
        return _warnings.flushWarnings(self._warnings, offendingFunctions)

    # -- Twisted's deprecation helpers ----------------------------------------
    # They check warnings made by twisted.python.deprecate, in its words, so
    # they need it (code that deprecates with it has it installed).

    def getDeprecatedModuleAttribute(
        self, moduleName: str, name: str, version: Any, message: str | None = None
    ) -> Any:
        """``moduleName.name``, failing unless getting it warned of its deprecation
        (as ``twisted.python.deprecate.deprecatedModuleAttribute`` does) since ``version``."""
        deprecate = importlib.import_module("twisted.python.deprecate")
        qualified = f"{moduleName}.{name}"
        attribute = getattr(sys.modules[moduleName], name)
        shown = self.flushWarnings([self.getDeprecatedModuleAttribute])
        if not shown:
            self.fail(f"{qualified} is not deprecated.")
        expected = deprecate.DEPRECATION_WARNING_FORMAT % {
            "fqpn": qualified,
            "version": deprecate.getVersionString(version),
        }
        if message is not None:
            expected = f"{expected}: {message}"
        observed = shown[0]["message"]
        self.assertTrue(
            observed.startswith(expected), f"Expected {observed!r} to start with {expected!r}"
        )
        return attribute

    def callDeprecated(
        self, version: Any, f: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``f(*args, **kwargs)``, failing unless it warned that it is deprecated since
        ``version`` (or ``(version, replacement)``), in ``twisted.python.deprecate``'s words."""
        deprecate = importlib.import_module("twisted.python.deprecate")
        result = f(*args, **kwargs)
        shown = self.flushWarnings([self.callDeprecated])
        try:
            since, replacement = list(version)
        except TypeError:
            since, replacement = version, None
        if not shown:
            self.fail(f"{f!r} is not deprecated.")
        expected = deprecate.getDeprecationWarningString(f, since, replacement=replacement)
        self.assertEqual(expected, shown[0]["message"])
        return result

    def mktemp(self) -> str:
        """A new path (not created; its parent directory is) unique to this call.

        Under ``python -m torsion.trial`` it is relative to the current
        directory, trial's ``_trial_temp``; under other runners it is inside a
        temporary directory removed when the process exits, so that running
        tests does not litter the project.
        """
        limit = 32
        base = os.path.join(
            type(self).__module__[:limit],
            type(self).__name__[:limit],
            self._testMethodName[:limit],
        )
        root = _TempBase.get()
        if root is not None:
            base = os.path.join(root, base)
        os.makedirs(base, exist_ok=True)
        directory = tempfile.mkdtemp("", "", base)
        if root is None:
            directory = os.path.relpath(directory)
        return os.path.join(directory, "temp")

    # -- running --------------------------------------------------------------

    def run(self, result: Any = None) -> Any:
        """Run the test, reporting to ``result`` (see the module comment)."""
        stopTestRun = None
        if result is None:
            result = self.defaultTestResult()
            startTestRun = getattr(result, "startTestRun", None)
            stopTestRun = getattr(result, "stopTestRun", None)
            if startTestRun is not None:
                startTestRun()
        outcomes = Outcomes(result, self)
        result.startTest(self)
        try:
            skip, why = self.getSkip()
            if skip:
                outcomes.skip(why)
                return result
            self._warnings = []
            observer.add()
            try:
                passed = _warnings.collectWarnings(
                    self._warnings.append, self._runFixturesAndTest, outcomes
                )
                passed = self._reportLoggedErrors(outcomes) and passed
            finally:
                observer.remove()
            for w in self.flushWarnings():
                try:
                    warnings.warn_explicit(**w)
                except Exception:
                    outcomes.error(sys.exc_info())  # type: ignore[arg-type]
            if passed and not outcomes.bad:
                outcomes.success()
            self._classCleanUp(outcomes)
        finally:
            result.stopTest(self)
            if stopTestRun is not None:
                stopTestRun()
        return result

    def _classCleanUp(self, outcomes: Outcomes) -> None:
        """After the outcome is reported: nothing here (TestCase's janitor)."""

    def _reportLoggedErrors(self, outcomes: Outcomes) -> bool:
        errors = observer.flushErrors()
        outcomes.errors(errors)
        return not errors

    def _skipReason(self, method: Any, skip: BaseException) -> Any:
        if skip.args:
            return skip.args[0]
        code = getattr(method, "__code__", None)
        warnings.warn_explicit(
            "Do not raise unittest.SkipTest with no arguments! Give a reason for skipping tests!",
            DeprecationWarning,
            code.co_filename if code else "<unknown>",
            code.co_firstlineno if code else 0,
        )
        return skip

    def _reportFailure(self, outcomes: Outcomes, todo: Todo | None, info: Any) -> None:
        """Report the exception ``info`` (an exc_info tuple) of a test method."""
        if isinstance(info[1], SkipTest):
            outcomes.skip(self._skipReason(getattr(self, self._testMethodName), info[1]))
        elif todo is not None and todo.expected(Failure(info[1], info[0], info[2])):
            outcomes.expectedFailure(info, todo)
        elif isinstance(info[1], (self.failureException, FailTest)):
            outcomes.failure(info)
        else:
            outcomes.error(info)

    def _runPart(
        self, suppress: Any, todo: Todo | None, method: Callable[[], Any], outcomes: Outcomes
    ) -> bool:
        """Run a fixture or the test method; True if it did not succeed."""
        if inspect.isgeneratorfunction(method):
            outcomes.error(
                Failure(
                    TypeError(f"{method!r} is a generator function and therefore will never run")
                )
            )
            return True
        try:
            returned = _warnings.runWithWarningsSuppressed(suppress, method)
            if isinstance(returned, CoroutineType):
                returned.close()
                raise TypeError(
                    f"{method!r} is a coroutine function: SynchronousTestCase does not "
                    "run it; use torsion.trial.TestCase"
                )
        except KeyboardInterrupt:
            outcomes.interrupted(sys.exc_info())  # type: ignore[arg-type]
            return True
        except BaseException:
            self._reportFailure(outcomes, todo, sys.exc_info())
            return True
        return False

    def _runFixturesAndTest(self, outcomes: Outcomes) -> bool:
        """setUp, the test, cleanups, tearDown; True if the test passed."""
        suppress = self._getSuppress()
        todo = None
        failed = False
        try:
            if self._runPart(suppress, None, self.setUp, outcomes):
                return False
            todo = self.getTodo()
            failed = self._runPart(suppress, todo, getattr(self, self._testMethodName), outcomes)
        finally:
            self._runCleanups(outcomes)
        if todo is not None and not failed:
            outcomes.unexpectedSuccess(todo)
        if self._runPart(suppress, None, self.tearDown, outcomes):
            failed = True
        return not failed and todo is None

    def _runCleanups(self, outcomes: Outcomes) -> None:
        while self._cleanups:  # type: ignore[attr-defined]
            f, args, kwargs = self._cleanups.pop()  # type: ignore[attr-defined]
            try:
                f(*args, **kwargs)
            except KeyboardInterrupt:
                outcomes.interrupted(sys.exc_info())  # type: ignore[arg-type]
            except BaseException:
                outcomes.error(sys.exc_info())  # type: ignore[arg-type]
