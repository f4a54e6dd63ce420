"""trial's assertions, on top of ``unittest.TestCase``'s.

They behave as in ``twisted.trial``: most return their first argument (so an
assertion can end a callback chain), ``assertRaises`` returns the exception
(or, without a callable, is a context manager), and the old spellings
(``failUnlessEqual``, ``assertEquals``, ``failIf`` ...) are kept as aliases.
``successResultOf``, ``failureResultOf`` and ``assertNoResult`` inspect a
Deferred (or a coroutine, which is started) without running any reactor.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, NoReturn, TypeVar

from torsion.defer import Deferred, ensureDeferred
from torsion.failure import Failure
from torsion.trial._warnings import CollectedWarning, collectWarnings

__all__ = ["Assertions", "FailTest"]

_T = TypeVar("_T")


class FailTest(AssertionError):
    """An assertion of the test failed (trial's ``failureException``)."""


def _qualifiedName(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _RaisesContext:
    """``assertRaises(exception)`` without a callable: checks the ``with`` block."""

    def __init__(self, case: unittest.TestCase, expected: Any) -> None:
        self.case = case
        self.expected = expected
        self.returned: Any = None
        self.exception: BaseException | None = None
        self.name = getattr(expected, "__name__", None) or str(expected)

    def __enter__(self) -> _RaisesContext:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if kind is None or value is None:
            self.case.fail(f"{self.name} not raised ({self.returned} returned)")
        self.exception = value
        if not issubclass(kind, self.expected):
            text = Failure(value, kind, tb).getTraceback()
            self.case.fail(f"{_qualifiedName(kind)} raised instead of {self.name}:\n {text}")
        return True

    def call(self, f: Callable[[], Any]) -> BaseException | None:
        with self:
            self.returned = f()
        return self.exception


class Assertions(unittest.TestCase):
    """trial's assertion methods and their aliases (see the module comment)."""

    failureException = FailTest

    def fail(self, msg: object = None) -> NoReturn:
        """Fail the test now, with ``msg``."""
        raise self.failureException(msg)

    def assertFalse(self, condition: Any, msg: Any = None) -> Any:
        super().assertFalse(condition, msg)
        return condition

    assertNot = failUnlessFalse = failIf = assertFalse  # type: ignore[assignment]

    def assertTrue(self, condition: Any, msg: Any = None) -> Any:
        super().assertTrue(condition, msg)
        return condition

    assert_ = failUnlessTrue = failUnless = assertTrue  # type: ignore[assignment]

    def assertRaises(  # type: ignore[override]
        self, exception: Any, f: Callable[..., Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        """The exception ``f(*args, **kwargs)`` raised; a context manager without ``f``.

        Fails if nothing was raised, or something that is not ``exception``.
        """
        context = _RaisesContext(self, exception)
        if f is None:
            return context
        return context.call(lambda: f(*args, **kwargs))

    failUnlessRaises = assertRaises  # type: ignore[assignment]

    def assertEqual(self, first: _T, second: Any, msg: Any = None) -> _T:
        super().assertEqual(first, second, msg)
        return first

    assertEquals = failUnlessEqual = failUnlessEquals = assertEqual

    def assertIs(self, first: _T, second: Any, msg: Any = None) -> _T:  # type: ignore[override]
        if first is not second:
            raise self.failureException(msg or f"{first!r} is not {second!r}")
        return first

    failUnlessIdentical = assertIdentical = assertIs

    def assertIsNot(self, first: _T, second: Any, msg: Any = None) -> _T:  # type: ignore[override]
        if first is second:
            raise self.failureException(msg or f"{first!r} is {second!r}")
        return first

    failIfIdentical = assertNotIdentical = assertIsNot

    def assertNotEqual(self, first: _T, second: Any, msg: Any = None) -> _T:
        if not first != second:
            raise self.failureException(msg or f"{first!r} == {second!r}")
        return first

    assertNotEquals = failIfEquals = failIfEqual = assertNotEqual

    def assertIn(self, containee: _T, container: Any, msg: Any = None) -> _T:
        if containee not in container:
            raise self.failureException(msg or f"{containee!r} not in {container!r}")
        return containee

    failUnlessIn = assertIn

    def assertNotIn(self, containee: _T, container: Any, msg: Any = None) -> _T:
        if containee in container:
            raise self.failureException(msg or f"{containee!r} in {container!r}")
        return containee

    failIfIn = assertNotIn

    def assertAlmostEqual(  # type: ignore[override]
        self, first: Any, second: Any, places: int = 7, msg: Any = None, delta: Any = None
    ) -> Any:
        """Fail unless ``second - first`` rounds to zero at ``places`` (or is within ``delta``)."""
        if delta is not None:
            super().assertAlmostEqual(first, second, msg=msg, delta=delta)
        elif round(second - first, places) != 0:
            raise self.failureException(msg or f"{first!r} != {second!r} within {places!r} places")
        return first

    assertAlmostEquals = failUnlessAlmostEqual = assertAlmostEqual  # type: ignore[assignment]

    def assertNotAlmostEqual(  # type: ignore[override]
        self, first: Any, second: Any, places: int = 7, msg: Any = None, delta: Any = None
    ) -> Any:
        if delta is not None:
            super().assertNotAlmostEqual(first, second, msg=msg, delta=delta)
        elif round(second - first, places) == 0:
            raise self.failureException(msg or f"{first!r} == {second!r} within {places!r} places")
        return first

    assertNotAlmostEquals = failIfAlmostEqual = failIfAlmostEquals = assertNotAlmostEqual  # type: ignore[assignment]

    def assertApproximates(self, first: _T, second: Any, tolerance: Any, msg: Any = None) -> _T:
        """Fail if ``first`` and ``second`` differ by more than ``tolerance``."""
        if abs(first - second) > tolerance:
            raise self.failureException(msg or f"{first} ~== {second}")
        return first

    failUnlessApproximates = assertApproximates

    def assertSubstring(self, substring: Any, astring: Any, msg: Any = None) -> Any:
        return self.assertIn(substring, astring, msg)

    failUnlessSubstring = assertSubstring

    def assertNotSubstring(self, substring: Any, astring: Any, msg: Any = None) -> Any:
        return self.assertNotIn(substring, astring, msg)

    failIfSubstring = assertNotSubstring

    def assertIsInstance(
        self, instance: Any, classOrTuple: Any, message: str | None = None
    ) -> None:
        if not isinstance(instance, classOrTuple):
            suffix = "" if message is None else f": {message}"
            self.fail(f"{instance!r} is not an instance of {classOrTuple}{suffix}")

    failUnlessIsInstance = assertIsInstance

    def assertNotIsInstance(
        self, instance: Any, classOrTuple: Any, message: str | None = None
    ) -> None:
        if isinstance(instance, classOrTuple):
            suffix = "" if message is None else f": {message}"
            self.fail(f"{instance!r} is an instance of {classOrTuple}{suffix}")

    failIfIsInstance = assertNotIsInstance

    def assertWarns(  # type: ignore[override]
        self, category: type[Warning], *args: Any, **kwargs: Any
    ) -> Any:
        """trial's ``assertWarns(category, message, filename, f, *args, **kwargs)``.

        Calls ``f`` and fails unless it emitted warnings, all alike, of
        ``category`` with text ``message`` from the file ``filename``; returns
        what ``f`` returned.  With fewer arguments, it is unittest's
        ``assertWarns`` (a context manager, or a callable and its arguments).
        """
        if len(args) < 3 or not callable(args[2]):
            return super().assertWarns(category, *args, **kwargs)
        message, filename, f, *rest = args
        seen: list[CollectedWarning] = []
        result = collectWarnings(seen.append, f, *rest, **kwargs)
        if not seen:
            self.fail("No warnings emitted")
        first = seen[0]
        for other in seen[1:]:
            if (other.message, other.category) != (first.message, first.category):
                self.fail("Can't handle different warnings")
        self.assertEqual(first.message, message)
        self.assertIdentical(first.category, category)
        # A prefix test, so that a .pyc or a relative path still matches.
        self.assertTrue(
            filename.startswith(first.filename),
            f"Warning in {first.filename!r}, expected {filename!r}",
        )
        return result

    failUnlessWarns = assertWarns

    # -- Deferreds, looked at without running a reactor -----------------------

    def _resultNow(self, deferred: Any) -> tuple[Deferred[Any], list[Any]]:
        d = ensureDeferred(deferred)
        results: list[Any] = []
        d.addBoth(results.append)
        return d, results

    def successResultOf(
        self,
        deferred: Deferred[_T] | Coroutine[Any, Any, _T] | Generator[Any, Any, _T],
    ) -> _T:
        """The result ``deferred`` has now; fails if it has none, or a failure."""
        d, results = self._resultNow(deferred)
        if not results:
            self.fail(f"Success result expected on {d!r}, found no result instead")
        result = results[0]
        if isinstance(result, Failure):
            self.fail(
                f"Success result expected on {d!r}, found failure result instead:\n"
                f"{result.getTraceback()}"
            )
        return result  # type: ignore[no-any-return]

    def failureResultOf(
        self, deferred: Any, *expectedExceptionTypes: type[BaseException]
    ) -> Failure:
        """The Failure ``deferred`` has now; fails if it has none, a success, or another type."""
        d, results = self._resultNow(deferred)
        if not results:
            self.fail(f"Failure result expected on {d!r}, found no result instead")
        result = results[0]
        if not isinstance(result, Failure):
            self.fail(
                f"Failure result expected on {d!r}, found success result ({result!r}) instead"
            )
        if expectedExceptionTypes and not result.check(*expectedExceptionTypes):
            names = " or ".join(_qualifiedName(t) for t in expectedExceptionTypes)
            self.fail(
                f"Failure of type ({names}) expected on {d!r}, found type {result.type!r} "
                f"instead: {result.getTraceback()}"
            )
        return result

    def assertNoResult(self, deferred: Any) -> None:
        """Fail if ``deferred`` has a result now (a failure result is then swallowed)."""
        d = ensureDeferred(deferred)
        results: list[Any] = []

        def look(result: Any) -> Any:
            results.append(result)
            return result

        d.addBoth(look)
        if results:
            d.addErrback(lambda _: None)
            self.fail(f"No result expected on {d!r}, found {results[0]!r} instead")
