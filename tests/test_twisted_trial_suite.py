"""Twisted's own trial tests, ported by their imports, run through torsion.trial.

Twisted's ``twisted/trial/test`` modules (the installed Twisted's) are
rewritten by the porting table (``twisted_suite.portTree``) into a package
``ported``, and run with ``python -m torsion.trial`` and with pytest; the
unported originals (package ``original``) run with Twisted's own ``trial``
as the oracle.  Every test must end as it does under Twisted, except those
in ``DIFFERENT`` below, each for a stated reason that is not a torsion bug:
those tests check Twisted's own machinery (its log observers, zope
adapters, its reporter's Failures) rather than behaviour a ported test
suite relies on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from twisted_suite import (
    Outcomes,
    portTree,
    runPytest,
    runTorsionTrial,
    runTwistedTrial,
    sourceDirectory,
)

pytestmark = pytest.mark.twisted_oracle

MODULES = [
    "test_assertions",
    "test_asyncassertions",
    "test_deferred",
    "test_keyboard",
    "test_log",
    "test_pyunitcompat",
    "test_skip",
    "test_suppression",
    "test_testcase",
    "test_tests",
    "test_warning",
]

_TWISTED_REPORTER = (
    "Twisted's reporter wraps errors in Twisted's Failure; the ported test checks for torsion's"
)
DIFFERENT = {
    **{
        f"test_deferred.{name}": _TWISTED_REPORTER
        for name in [
            "NeverFireTests.test_setUp",
            "TimeoutTests.test_addCleanupTimeout",
            "TimeoutTests.test_callbackReturnsNonCallingDeferred",
            "TimeoutTests.test_classTimeout",
            "TimeoutTests.test_timeout",
            "TimeoutTests.test_timeoutZero",
            "TimeoutTests.test_todo",
        ]
    },
    "test_pyunitcompat.PyUnitResultTests.test_dontUseAdapterWhenReporterProvidesIReporter": (
        "a reporter that provides IReporter through zope.interface gets Failures in Twisted"
    ),
    "test_tests.UnhandledDeferredTests.test_isReported": (
        "Twisted's garbage-collecting decorator watches Twisted's log, not logging"
    ),
}


# pytest also collects the mixin classes that trial's loader leaves alone; they
# fail without the TestCase they are mixed into (under Twisted as well).
PYTEST_MIXINS = ("test_testcase.TestCaseMixin.", "test_tests.TestDecoratorMixin.")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcomes]:
    """The three runs, at once: Twisted's trial (originals), torsion.trial and pytest (ported)."""
    pytest.importorskip("twisted.trial")
    where = tmp_path_factory.mktemp("twisted_trial_suite")
    source = sourceDirectory("twisted.trial.test")
    for package, table in (("ported", None), ("original", {})):
        portTree(source, where, package, {"twisted.trial.test": package}, init="", table=table)
    with ThreadPoolExecutor(3) as pool:
        twisted = pool.submit(runTwistedTrial, [f"original.{m}" for m in MODULES], where)
        trial = pool.submit(runTorsionTrial, [f"ported.{m}" for m in MODULES], where)
        pytest_ = pool.submit(runPytest, [f"ported/{m}.py" for m in MODULES], where, "--tb=no")
        results = {
            "twisted": twisted.result(),
            "trial": trial.result(),
            "pytest": pytest_.result(),
        }
    results["where"] = where  # type: ignore[assignment]
    return results


def _byShortId(result: Outcomes, package: str) -> dict[str, str]:
    return {t.removeprefix(package + "."): o for t, o in result.outcomes.items()}


def _failing(outcomes: dict[str, str]) -> set[str]:
    return {t for t, o in outcomes.items() if o in ("failure", "error")}


def test_ported_modules_import_torsion_for_what_the_table_maps(runs: dict[str, Outcomes]) -> None:
    where: Path = runs["where"]  # type: ignore[assignment]
    text = (where / "ported" / "test_deferred.py").read_text()
    assert "from torsion import defer" in text and "from torsion.trial import unittest" in text
    assert "from twisted.trial import reporter" in text  # not in the table: left alone
    assert "from twisted.internet" not in text


def test_under_torsion_trial_as_under_twisted_trial(runs: dict[str, Outcomes]) -> None:
    theirs = _byShortId(runs["twisted"], "original")
    ours = _byShortId(runs["trial"], "ported")
    assert theirs and ours.keys() == theirs.keys(), runs["trial"].output[-3000:]
    differ = {t for t in ours if ours[t] != theirs[t]}
    assert differ == set(DIFFERENT), runs["trial"].output[-5000:]
    assert runs["trial"].returncode == 1
    assert runs["trial"].summary.startswith("FAILED (skips=9, ")


def test_under_pytest_as_under_twisted_trial(runs: dict[str, Outcomes]) -> None:
    ours = _byShortId(runs["pytest"], "ported")
    assert ours, runs["pytest"].output
    failing = _failing(ours)
    mixins = {t for t in failing if t.startswith(PYTEST_MIXINS)}
    theirs = _failing(_byShortId(runs["twisted"], "original"))
    assert failing - mixins == theirs | set(DIFFERENT), runs["pytest"].output[-3000:]
