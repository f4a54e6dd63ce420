"""torsion.trial's assertions and helpers (SynchronousTestCase), checked one by one."""

from __future__ import annotations

import os
import unittest
import warnings
from typing import Any

import pytest

from _trial_results import Results, runTest
from torsion import defer, trial
from torsion.failure import Failure
from torsion.trial import (
    FailTest,
    PyUnitResultAdapter,
    SkipTest,
    SynchronousTestCase,
    Todo,
    decorate,
    makeTodo,
)
from torsion.trial import unittest as trial_unittest
from torsion.trial.util import acquireAttribute, suppress


class Case(SynchronousTestCase):
    __test__ = False  # an instance to call assertions on, not a test

    def test_it(self) -> None:
        pass


case = Case()


def fails(f: Any, *args: Any, **kwargs: Any) -> str:
    """The message of the FailTest that ``f(*args, **kwargs)`` raises."""
    with pytest.raises(FailTest) as info:
        f(*args, **kwargs)
    return str(info.value)


# -- import paths -----------------------------------------------------------------


def test_both_import_spellings_give_the_same_classes() -> None:
    from torsion.trial.unittest import TestCase

    assert trial_unittest.TestCase is TestCase
    assert trial_unittest.SynchronousTestCase is SynchronousTestCase
    assert issubclass(TestCase, unittest.TestCase)
    assert issubclass(SynchronousTestCase, unittest.TestCase)
    assert TestCase.__module__ == "torsion.trial"


def test_failure_exception_is_failtest_an_assertion_error() -> None:
    assert case.failureException is FailTest
    assert issubclass(FailTest, AssertionError)
    assert fails(case.fail, "why") == "why"


# -- the aliases and what assertions return -----------------------------------------

ALIASES = {
    "assertTrue": ["assert_", "failUnlessTrue", "failUnless"],
    "assertFalse": ["assertNot", "failUnlessFalse", "failIf"],
    "assertRaises": ["failUnlessRaises"],
    "assertEqual": ["assertEquals", "failUnlessEqual", "failUnlessEquals"],
    "assertIs": ["failUnlessIdentical", "assertIdentical"],
    "assertIsNot": ["failIfIdentical", "assertNotIdentical"],
    "assertNotEqual": ["assertNotEquals", "failIfEquals", "failIfEqual"],
    "assertIn": ["failUnlessIn"],
    "assertNotIn": ["failIfIn"],
    "assertAlmostEqual": ["assertAlmostEquals", "failUnlessAlmostEqual"],
    "assertNotAlmostEqual": ["assertNotAlmostEquals", "failIfAlmostEqual", "failIfAlmostEquals"],
    "assertApproximates": ["failUnlessApproximates"],
    "assertSubstring": ["failUnlessSubstring"],
    "assertNotSubstring": ["failIfSubstring"],
    "assertWarns": ["failUnlessWarns"],
    "assertIsInstance": ["failUnlessIsInstance"],
    "assertNotIsInstance": ["failIfIsInstance"],
}


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_trial_spellings_are_aliases(name: str) -> None:
    for alias in ALIASES[name]:
        assert getattr(SynchronousTestCase, alias) is getattr(SynchronousTestCase, name), alias


def test_the_aliases_are_those_of_twisted() -> None:
    twisted = pytest.importorskip("twisted.trial.unittest")
    names = {n for n in dir(twisted.SynchronousTestCase) if n.startswith(("assert", "fail"))}
    missing = names - set(dir(SynchronousTestCase))
    # Twisted's deprecation helpers need twisted.python.deprecate: not ported.
    assert missing <= {"callDeprecated", "getDeprecatedModuleAttribute"}


def test_assertions_return_their_first_argument() -> None:
    marker = object()
    assert case.assertTrue(marker) is marker
    assert case.assertFalse(0) == 0
    assert case.assertEqual(marker, marker) is marker
    assert case.assertIs(marker, marker) is marker
    assert case.assertIsNot(marker, None) is marker
    assert case.assertNotEqual(1, 2) == 1
    assert case.assertIn(1, [1]) == 1
    assert case.assertNotIn(3, [1]) == 3
    assert case.assertAlmostEqual(1.0, 1.00000001) == 1.0
    assert case.assertNotAlmostEqual(1.0, 1.1) == 1.0
    assert case.assertApproximates(10, 11, 1) == 10
    assert case.assertSubstring("b", "abc") == "b"
    assert case.assertNotSubstring("x", "abc") == "x"


def test_failure_messages_are_trials() -> None:
    assert fails(case.assertIs, 1, 2) == "1 is not 2"
    assert fails(case.assertIsNot, None, None) == "None is None"
    assert fails(case.assertNotEqual, 1, 1) == "1 == 1"
    assert fails(case.assertIn, 3, [1]) == "3 not in [1]"
    assert fails(case.assertNotIn, 1, [1]) == "1 in [1]"
    assert fails(case.assertAlmostEqual, 1.0, 1.1, 3) == "1.0 != 1.1 within 3 places"
    assert fails(case.assertNotAlmostEqual, 1.0, 1.0) == "1.0 == 1.0 within 7 places"
    assert fails(case.assertEqual, 1, 2) == "1 != 2"
    assert fails(case.assertIs, 1, 2, "custom") == "custom"


def test_assertApproximates_fails_beyond_the_tolerance() -> None:
    assert fails(case.assertApproximates, 10, 12, 1) == "10 ~== 12"
    assert case.assertApproximates(12, 10, 2) == 12


def test_assertIsInstance() -> None:
    case.assertIsInstance(1, int)
    case.assertIsInstance(1, (str, int))
    assert fails(case.assertIsInstance, 1, str) == "1 is not an instance of <class 'str'>"
    assert fails(case.assertIsInstance, 1, str, "why").endswith(": why")
    case.assertNotIsInstance(1, str)
    assert "is an instance of" in fails(case.assertNotIsInstance, 1, int)


# -- assertRaises -------------------------------------------------------------------


def test_assertRaises_returns_the_exception() -> None:
    def boom(x: int) -> None:
        raise ValueError(x)

    e = case.assertRaises(ValueError, boom, 3)
    assert isinstance(e, ValueError) and e.args == (3,)


def test_assertRaises_as_a_context_manager() -> None:
    with case.assertRaises(KeyError) as context:
        raise KeyError("k")
    assert isinstance(context.exception, KeyError)


def test_assertRaises_fails_when_nothing_or_something_else_is_raised() -> None:
    assert fails(case.assertRaises, ValueError, lambda: 5) == "ValueError not raised (5 returned)"
    message = fails(case.assertRaises, ValueError, lambda: {}["x"])
    assert message.startswith("builtins.KeyError raised instead of ValueError:")
    with pytest.raises(FailTest, match="not raised"), case.assertRaises(ValueError):
        pass


# -- Deferreds, without a reactor ----------------------------------------------------


def test_successResultOf() -> None:
    assert case.successResultOf(defer.succeed(3)) == 3
    assert "found no result instead" in fails(case.successResultOf, defer.Deferred())
    message = fails(case.successResultOf, defer.fail(ValueError("v")))
    assert "found failure result instead" in message and "ValueError" in message


def test_successResultOf_takes_a_coroutine() -> None:
    async def three() -> int:
        return 3

    assert case.successResultOf(three()) == 3


def test_failureResultOf() -> None:
    f = case.failureResultOf(defer.fail(ValueError("v")))
    assert isinstance(f, Failure) and f.check(ValueError)
    assert case.failureResultOf(defer.fail(ValueError()), KeyError, ValueError).check(ValueError)
    assert "found no result instead" in fails(case.failureResultOf, defer.Deferred())
    assert "found success result (3) instead" in fails(case.failureResultOf, defer.succeed(3))
    message = fails(case.failureResultOf, defer.fail(ValueError()), KeyError)
    assert message.startswith("Failure of type (builtins.KeyError) expected on")


def test_assertNoResult() -> None:
    d: defer.Deferred[int] = defer.Deferred()
    case.assertNoResult(d)
    d.callback(4)
    assert "found 4 instead" in fails(case.assertNoResult, d)
    failed = defer.fail(ValueError())
    fails(case.assertNoResult, failed)
    assert failed.result is None  # the failure was swallowed, not left unhandled


# -- warnings -------------------------------------------------------------------------


def warn_deprecated() -> int:
    warnings.warn("old", DeprecationWarning, stacklevel=1)
    return 7


def test_assertWarns_trial_form_returns_the_result() -> None:
    assert case.assertWarns(DeprecationWarning, "old", __file__, warn_deprecated) == 7
    assert fails(case.assertWarns, DeprecationWarning, "new", __file__, warn_deprecated)
    assert fails(case.assertWarns, UserWarning, "old", __file__, warn_deprecated)
    assert fails(case.assertWarns, DeprecationWarning, "old", __file__, lambda: 1) == (
        "No warnings emitted"
    )


def test_assertWarns_unittest_form_still_works() -> None:
    with case.assertWarns(DeprecationWarning):
        warn_deprecated()


def test_flushWarnings_takes_the_test_warnings() -> None:
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            warn_deprecated()
            warnings.warn("other", UserWarning, stacklevel=1)
            flushed = self.flushWarnings([warn_deprecated])
            self.assertEqual([w["message"] for w in flushed], ["old"])
            self.assertEqual(flushed[0]["category"], DeprecationWarning)
            self.assertEqual([w["message"] for w in self.flushWarnings()], ["other"])

    assert runTest(T).kinds() == {"successes": 1}


def test_a_warning_left_unflushed_is_emitted_again_after_the_test() -> None:
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            warnings.warn("left over", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        results = runTest(T)
    assert [str(w.message) for w in seen] == ["left over"]
    assert results.kinds() == {"successes": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = runTest(T)
    assert results.kinds() == {"errors": 1}  # -W error: the re-emitted warning fails it


def test_suppress_attribute_silences_warnings() -> None:
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            warnings.warn("noisy", UserWarning, stacklevel=1)
            self.assertEqual(self.flushWarnings(), [])

        test_it.suppress = [suppress(category=UserWarning)]  # type: ignore[attr-defined]

    assert runTest(T).kinds() == {"successes": 1}


# -- patch, mktemp, cleanups ----------------------------------------------------------


class Target:
    value = 1


def test_patch_is_undone_after_the_test() -> None:
    seen = []

    class T(SynchronousTestCase):
        def test_it(self) -> None:
            patch = self.patch(Target, "value", 2)
            seen.append(Target.value)
            patch.restore()
            seen.append(Target.value)
            patch.patch()
            seen.append(Target.value)
            self.patch(Target, "added", 5)

    assert runTest(T).kinds() == {"successes": 1}
    assert seen == [2, 1, 2]
    assert Target.value == 1 and not hasattr(Target, "added")


def test_mktemp_gives_a_new_path_in_an_existing_directory() -> None:
    paths = []

    class T(SynchronousTestCase):
        def test_it(self) -> None:
            paths.extend([self.mktemp(), self.mktemp()])

    runTest(T)
    first, second = paths
    assert first != second
    assert os.path.isdir(os.path.dirname(first)) and not os.path.exists(first)
    assert os.path.join(__name__, "T", "test_it") in first
    assert not os.path.abspath(first).startswith(os.getcwd())  # not littering the project


def test_cleanups_run_last_added_first_before_tearDown() -> None:
    order = []

    class T(SynchronousTestCase):
        def setUp(self) -> None:
            self.addCleanup(order.append, "first added")

        def test_it(self) -> None:
            self.addCleanup(order.append, "second added")

        def tearDown(self) -> None:
            order.append("tearDown")

    assert runTest(T).kinds() == {"successes": 1}
    assert order == ["second added", "first added", "tearDown"]


def test_a_failing_cleanup_is_an_error() -> None:
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            self.addCleanup(lambda: 1 / 0)

    results = runTest(T)
    assert results.kinds() == {"errors": 1}
    assert "ZeroDivisionError" in results.texts()


# -- skip and todo ---------------------------------------------------------------------


def test_skip_attribute_on_method_class_and_module() -> None:
    class OnMethod(SynchronousTestCase):
        def test_it(self) -> None:
            raise AssertionError("not run")

        test_it.skip = "method says"  # type: ignore[attr-defined]

    class OnClass(SynchronousTestCase):
        skip = "class says"

        def test_it(self) -> None:
            raise AssertionError("not run")

    for cls, why in ((OnMethod, "method says"), (OnClass, "class says")):
        results = runTest(cls)
        assert results.kinds() == {"skips": 1}
        assert results.skipped[0][1] == why


def test_SkipTest_raised_in_setUp_or_test_skips() -> None:
    class InSetUp(SynchronousTestCase):
        def setUp(self) -> None:
            raise SkipTest("not here")

        def test_it(self) -> None:
            raise AssertionError("not run")

    class InTest(SynchronousTestCase):
        def test_it(self) -> None:
            raise SkipTest("not now")

    assert runTest(InSetUp).skipped[0][1] == "not here"
    assert runTest(InTest).skipped[0][1] == "not now"


def test_unittest_skip_decorators_work() -> None:
    @unittest.skip("decorated")
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            raise AssertionError("not run")

    assert runTest(T).skipped[0][1] == "decorated"


def test_todo_expected_failure_and_unexpected_success() -> None:
    class T(SynchronousTestCase):
        def test_fails(self) -> None:
            self.fail("not yet")

        test_fails.todo = "later"  # type: ignore[attr-defined]

        def test_passes(self) -> None:
            pass

        test_passes.todo = "later"  # type: ignore[attr-defined]

        def test_wrong_error(self) -> None:
            raise KeyError()

        test_wrong_error.todo = (ValueError, "only ValueError")  # type: ignore[attr-defined]

    assert runTest(T, "test_fails").kinds() == {"expectedFailures": 1}
    assert runTest(T, "test_fails").todos[0].reason == "later"
    assert runTest(T, "test_passes").kinds() == {"unexpectedSuccesses": 1}
    assert runTest(T, "test_wrong_error").kinds() == {"errors": 1}


def test_makeTodo() -> None:
    assert makeTodo("why") == Todo("why")
    assert makeTodo((ValueError, "why")) == Todo("why", [ValueError])  # as trial keeps it
    todo = makeTodo(([ValueError, KeyError], "why"))
    assert todo.expected(Failure(KeyError())) and not todo.expected(Failure(OSError()))
    assert str(todo) == "why" and "reason='why'" in repr(todo)


def test_assertion_failure_is_a_failure_other_exceptions_errors() -> None:
    class T(SynchronousTestCase):
        def test_fail(self) -> None:
            self.assertEqual(1, 2)

        def test_error(self) -> None:
            raise ValueError("v")

        def test_plain_assert(self) -> None:
            raise AssertionError("plain")

    assert runTest(T, "test_fail").kinds() == {"failures": 1}
    assert runTest(T, "test_error").kinds() == {"errors": 1}
    assert runTest(T, "test_plain_assert").kinds() == {"errors": 1}  # as in trial


def test_generator_and_coroutine_methods_are_errors_not_silent_passes() -> None:
    class T(SynchronousTestCase):
        def test_gen(self) -> Any:
            yield 1

        async def test_coro(self) -> None:
            pass

    assert "generator function" in runTest(T, "test_gen").texts()
    assert "use torsion.trial.TestCase" in runTest(T, "test_coro").texts()


def test_functions_named_skip_or_suppress_in_the_module_do_not_count() -> None:
    # This module imports the function ``suppress``; trial would take it as
    # the module's suppress list (and ``from unittest import skip`` as a skip).
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            pass

    T.__module__ = __name__
    assert runTest(T).kinds() == {"successes": 1}


def test_acquireAttribute() -> None:
    class A:
        x = 1

    assert acquireAttribute([object(), A], "x") == 1
    assert acquireAttribute([object()], "x", 5) == 5
    with pytest.raises(AttributeError):
        acquireAttribute([object()], "x")


def test_tests_of_a_case_are_collected_by_unittest() -> None:
    class T(SynchronousTestCase):
        def test_one(self) -> None:
            pass

        def test_two(self) -> None:
            pass

    suite = unittest.TestLoader().loadTestsFromTestCase(T)
    result = unittest.TestResult()
    suite.run(result)
    assert (result.testsRun, result.wasSuccessful()) == (2, True)


def test_a_case_without_a_method_name_runs_nothing_and_passes() -> None:
    results = Results()
    Case().run(results)  # trial's runTest default
    assert results.kinds() == {"successes": 1}
    assert "runTest" not in vars(SynchronousTestCase)  # no phantom test for collectors


def test_SkipTest_without_a_reason_warns_at_the_method() -> None:
    class T(SynchronousTestCase):
        def test_it(self) -> None:
            raise SkipTest()

    class Outer(SynchronousTestCase):
        def test_it(self) -> None:
            runTest(T)
            (w,) = self.flushWarnings([T.test_it])
            self.assertEqual(w["category"], DeprecationWarning)
            self.assertIn("Give a reason for skipping tests!", w["message"])

    assert runTest(Outer).kinds() == {"successes": 1}


def test_KeyboardInterrupt_stops_a_unittest_run_after_reporting_it() -> None:
    class T(SynchronousTestCase):
        def test_a(self) -> None:
            raise KeyboardInterrupt()

        def test_b(self) -> None:
            pass

    results = Results()
    unittest.TestSuite([T("test_a"), T("test_b")]).run(results)
    assert results.shouldStop and results.testsRun == 1
    assert results.kinds() == {"errors": 1}


def test_KeyboardInterrupt_goes_up_to_a_result_that_cannot_stop() -> None:
    class Bare:
        def startTest(self, test: Any) -> None:
            pass

        def stopTest(self, test: Any) -> None:
            pass

    class T(SynchronousTestCase):
        def test_it(self) -> None:
            raise KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        T("test_it").run(Bare())


def test_PyUnitResultAdapter_reports_todo_outcomes_as_failures() -> None:
    result = unittest.TestResult()
    adapter = PyUnitResultAdapter(result)
    adapter.addExpectedFailure(case, Failure(ValueError()), Todo("x"))
    adapter.addUnexpectedSuccess(case, Todo("x"))
    adapter.addError(case, Failure(ValueError()))
    assert (len(result.failures), len(result.errors)) == (2, 1)


def test_decorate_wraps_each_test_and_reports_as_the_decorator() -> None:
    class T(SynchronousTestCase):
        def test_a(self) -> None:
            pass

    suite = unittest.TestSuite([unittest.TestSuite([T("test_a")])])
    assert decorate(suite, trial.TestDecorator) is suite
    (inner,) = list(suite)
    (wrapped,) = list(inner)
    assert isinstance(wrapped, trial.TestDecorator) and wrapped._testMethodName == "test_a"
    results = Results()
    wrapped(results)
    assert isinstance(results.successes[0], trial.TestDecorator)
    assert isinstance(decorate(T("test_a"), trial.TestDecorator), trial.TestDecorator)


def test_callDeprecated_and_getDeprecatedModuleAttribute_use_twisteds_words() -> None:
    deprecate = pytest.importorskip("twisted.python.deprecate")
    incremental = pytest.importorskip("incremental")
    version = incremental.Version("torsion-test", 1, 2, 3)

    @deprecate.deprecated(version)
    def old() -> int:
        return 5

    class T(SynchronousTestCase):
        def test_it(self) -> None:
            self.assertEqual(self.callDeprecated(version, old), 5)
            self.assertRaises(self.failureException, self.callDeprecated, version, len, "")

    assert runTest(T).kinds() == {"successes": 1}
