"""``TestCase``: trial's test case whose methods may return Deferreds or be coroutines.

``setUp``, the test method, each cleanup and ``tearDown`` are called in turn;
whatever they return is turned into a Deferred (a coroutine is started), and
the global reactor runs until that fires (``_wait.spin``).  Each part has the
test's ``timeout`` (120 s unless a ``timeout`` attribute says otherwise): when
it runs out, the part fails with ``defer.TimeoutError`` naming the part and
where it was waiting.  Then the janitor (``_janitor``) reports and cleans what
the test left in the reactor: pending calls, selectables, running threads.
"""

from __future__ import annotations

import functools
import gc
import inspect
import sys
import warnings
from collections.abc import Callable
from types import CoroutineType
from typing import Any, TypeVar

from torsion import defer, error, reactors
from torsion._defer.core import _unhandledCount
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.trial import _warnings, util
from torsion.trial._janitor import Janitor
from torsion.trial._result import Outcomes
from torsion.trial._synctest import SkipTest, SynchronousTestCase
from torsion.trial._wait import spin, whereWaiting
from torsion.trial.util import DirtyReactorAggregateError

__all__ = ["TestCase"]

_T = TypeVar("_T")


class TestCase(SynchronousTestCase):
    """A test case run on the global torsion reactor (see the module comment)."""

    timeout: Any

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        # Installs the default reactor if none is; a runner installs its choice first.
        self._reactor = reactors.getGlobal()
        self._timedOut = False

    def getTimeout(self) -> float:
        """The seconds each part of this test may take (``timeout`` attribute, or 120)."""
        default = util.DEFAULT_TIMEOUT_DURATION  # looked up now: tests may patch it
        timeout = self._acquire("timeout", default)
        try:
            return float(timeout)
        except (TypeError, ValueError):
            warnings.warn(
                "'timeout' attribute needs to be a number.", DeprecationWarning, stacklevel=2
            )
            return float(default)

    def assertFailure(
        self, deferred: Deferred[Any], *expectedFailures: type[BaseException]
    ) -> Deferred[Any]:
        """``deferred``, made to fail the test unless it fails with one of ``expectedFailures``.

        Its result becomes the exception; return it from the test.
        """

        def succeeded(result: Any) -> Any:
            raise self.failureException(f"did not catch an error, instead got {result!r}")

        def failed(failure: Failure) -> BaseException:
            if failure.check(*expectedFailures):
                return failure.value
            raise self.failureException(f"\nExpected: {expectedFailures!r}\nGot:\n{failure}")

        return deferred.addCallbacks(succeeded, failed)

    failUnlessFailure = assertFailure

    # -- running --------------------------------------------------------------

    def _callPart(self, func: Callable[[], Any], description: str) -> Deferred[Any]:
        """Call ``func``; a Deferred of its outcome that fails if it takes too long."""
        if inspect.isgeneratorfunction(func):
            return defer.fail(
                TypeError(f"{func!r} is a generator function and therefore will never run")
            )
        timeout = self.getTimeout()
        coroutines: list[Any] = []

        def call() -> Any:
            returned = _warnings.runWithWarningsSuppressed(self._getSuppress(), func)
            if isinstance(returned, CoroutineType):
                coroutines.append(returned)
            return returned

        d = defer.maybeDeferred(call)
        if d.called and not d.paused:
            return d

        def expire() -> None:
            where = whereWaiting(d, coroutines[0] if coroutines else None)
            message = f"{self!r} ({description}) still running at {timeout} secs"
            failure = Failure(defer.TimeoutError(f"{message}: {where}" if where else message))
            try:
                d.errback(failure)
            except defer.AlreadyCalledError:
                # It fired but its callbacks wait on something else: give up on it.
                self._timedOut = True
                self._timeoutFailure = failure
                self._reactor.crash()

        guard = self._reactor.callLater(timeout, expire)

        def disarm(result: Any) -> Any:
            if guard.active():
                guard.cancel()
            return result

        return d.addBoth(disarm)

    async def _fixturesAndTest(self, outcomes: Outcomes) -> bool:
        """setUp, the test, cleanups, tearDown (as trial orders them); did it pass?"""
        passed = False
        setUpDone = False
        try:
            try:
                try:
                    await self._callPart(self.setUp, "setUp")
                except SkipTest as e:
                    outcomes.skip(self._skipReason(self.setUp, e))
                    return False
                except BaseException:
                    _error(outcomes, sys.exc_info())
                    return False
                setUpDone = True
                todo = self.getTodo()
                try:
                    await self._callPart(getattr(self, self._testMethodName), self._testMethodName)
                except KeyboardInterrupt:
                    outcomes.interrupted(sys.exc_info())  # type: ignore[arg-type]
                except BaseException:
                    self._reportFailure(outcomes, todo, sys.exc_info())
                else:
                    if todo is not None:
                        outcomes.unexpectedSuccess(todo)
                    else:
                        passed = True
            finally:
                await self._runCleanupsOnReactor(outcomes)
        finally:
            if setUpDone:
                try:
                    await self._callPart(self.tearDown, "tearDown")
                except BaseException:
                    _error(outcomes, sys.exc_info())
                    passed = False
        return passed

    async def _runCleanupsOnReactor(self, outcomes: Outcomes) -> None:
        failures = []
        while self._cleanups:  # type: ignore[attr-defined]
            f, args, kwargs = self._cleanups.pop()  # type: ignore[attr-defined]
            name = getattr(f, "__name__", repr(f))
            try:
                await self._callPart(
                    functools.partial(f, *args, **kwargs), f"cleanup function {name}"
                )
            except BaseException:
                failures.append(sys.exc_info())
        for info in failures:
            _error(outcomes, info)

    def _runFixturesAndTest(self, outcomes: Outcomes) -> bool:
        reactor = self._reactor
        self._janitor = Janitor(reactor)
        unhandledBefore = _unhandledCount()
        self._timedOut = False
        passed = False
        try:
            d = Deferred.fromCoroutine(self._fixturesAndTest(outcomes))
            results: list[Any] = []
            d.addBoth(results.append)
            try:
                fired = spin(reactor, d)
            except error.ReactorNotRestartable:
                raise RuntimeError(
                    "the global reactor was stopped (reactor.stop() outside a test's wait?) "
                    "and cannot run the tests that follow"
                ) from None
            if results and isinstance(results[0], Failure):
                results[0].trap(KeyboardInterrupt)  # anything else: a bug here, never hidden
                results[0].raiseException()
            elif results:
                passed = bool(results[0])
            elif self._timedOut:
                self._reportFailure(outcomes, self.getTodo(), _excInfo(self._timeoutFailure))
            elif not fired:
                outcomes.error(
                    Failure(RuntimeError(f"the reactor stopped before {self!r} finished"))
                )
        finally:
            calls = self._janitor.pendingCalls()
            if calls:
                outcomes.error(Failure(DirtyReactorAggregateError(calls)))
                passed = False
            if _unhandledCount() > unhandledBefore:
                gc.collect()  # so that failed Deferreds the test dropped report now
        return passed

    def _classCleanUp(self, outcomes: Outcomes) -> None:
        """What trial checks once the outcome is out: descriptors, then threads."""
        selectables = self._janitor.selectables()
        threads = self._janitor.threads()
        if selectables or threads:
            outcomes.error(Failure(DirtyReactorAggregateError([], selectables, threads)))


def _error(outcomes: Outcomes, info: Any) -> None:
    """Report a fixture's exception: an error (a KeyboardInterrupt stops the run)."""
    if isinstance(info[1], KeyboardInterrupt):
        outcomes.interrupted(info)
    else:
        outcomes.error(info)


def _excInfo(failure: Failure) -> Any:
    return (failure.type, failure.value, failure.getTracebackObject())
