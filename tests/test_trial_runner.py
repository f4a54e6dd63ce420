"""``python -m torsion.trial``, run as a user runs it: targets, options, output, exit code.

The module ``twisty`` below is written for Twisted; the runner tests use it
twice: as is, under Twisted's own ``trial`` (the oracle for the report's
format and each test's outcome), and with its imports ported by the table,
under ``python -m torsion.trial``.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from torsion import reactors
from twisted_suite import Outcomes, rewrite, runTorsionTrial, runTwistedTrial

TWISTY = """
from twisted.internet import defer, protocol, reactor, task
from twisted.trial import unittest


class Outcomes(unittest.TestCase):
    def test_ok(self):
        pass

    def test_deferred(self):
        return task.deferLater(reactor, 0.001, lambda: None)

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise ValueError("boom")

    def test_skip(self):
        pass

    test_skip.skip = "not today"

    def test_todo(self):
        self.fail("not yet")

    test_todo.todo = "later"

    def test_surprise(self):
        pass

    test_surprise.todo = "later"


class Janitor(unittest.TestCase):
    def test_delayed_call(self):
        reactor.callLater(100, lambda: None)

    def test_port(self):
        reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")

    def test_unhandled(self):
        defer.fail(KeyError("dropped"))

    def test_timeout(self):
        return defer.Deferred()

    test_timeout.timeout = 0.1
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runner")
    (root / "twisty_original.py").write_text(TWISTY)
    (root / "twisty.py").write_text(rewrite(TWISTY))
    package = root / "pkg"
    (package / "sub").mkdir(parents=True)
    for init in (package / "__init__.py", package / "sub" / "__init__.py"):
        init.write_text("")
    passing = textwrap.dedent(
        """
        import os
        from torsion import reactors
        from torsion.trial import TestCase

        class Passing(TestCase):
            def test_a(self):
                pass

            def test_b(self):
                pass

            def test_backend(self):
                want = os.environ.get("WANT_BACKEND")
                if want:
                    self.assertEqual(reactors.getGlobal().backendName, want)
        """
    )
    (package / "test_one.py").write_text(passing)
    (package / "sub" / "test_two.py").write_text(passing.replace("Passing", "Deeper"))
    (package / "helpers.py").write_text(passing.replace("Passing", "NotATestModule"))
    return root


@pytest.fixture(scope="module")
def twisty(project: Path) -> Outcomes:
    return runTorsionTrial(["twisty"], project)


def test_report_and_outcomes_match_twisted_trial(project: Path, twisty: Outcomes) -> None:
    pytest.importorskip("twisted.trial")
    theirs = runTwistedTrial(["twisty_original"], project)
    assert twisty.summary == theirs.summary, twisty.output
    assert twisty.summary == (
        "FAILED (skips=1, expectedFailures=1, failures=1, errors=5, "
        "unexpectedSuccesses=1, successes=3)"
    )
    ours = {k.removeprefix("twisty."): v for k, v in twisty.outcomes.items()}
    assert ours == {k.removeprefix("twisty_original."): v for k, v in theirs.outcomes.items()}
    assert twisty.returncode == theirs.returncode == 1


def test_report_names_each_problem(twisty: Outcomes) -> None:
    out = twisty.output
    assert "twisty\n  Janitor\n    test_delayed_call ... " in out
    assert "Reactor was unclean." in out and "Janitor.test_delayed_call.<locals>.<lambda>" in out
    assert "KeyError: 'dropped'" in out
    assert "(test_timeout) still running at 0.1 secs" in out
    assert "Ran 11 tests in " in out


def test_all_passing_package_recursion_and_exit_code(project: Path) -> None:
    result = runTorsionTrial(["pkg"], project)
    assert (result.returncode, result.summary) == (0, "PASSED (successes=6)"), result.output
    assert set(result.outcomes) == {
        f"pkg.{module}.{cls}.{name}"
        for module, cls in (("test_one", "Passing"), ("sub.test_two", "Deeper"))
        for name in ("test_a", "test_b", "test_backend")
    }


def test_targets_by_class_method_and_file(project: Path) -> None:
    result = runTorsionTrial(
        ["pkg.test_one.Passing", "pkg.sub.test_two.Deeper.test_a", "pkg/helpers.py"], project
    )
    assert result.summary == "PASSED (successes=7)", result.output


def test_a_target_that_does_not_load_is_an_error(project: Path) -> None:
    result = runTorsionTrial(["no_such_module"], project)
    assert result.returncode == 1
    assert result.summary == "FAILED (errors=1)"
    assert "No module named 'no_such_module'" in result.output


@pytest.mark.parametrize("backend", reactors.available())
def test_reactor_option_picks_the_backend(project: Path, backend: str) -> None:
    result = runTorsionTrial(
        ["pkg.test_one"], project, "--reactor", backend, env={"WANT_BACKEND": backend}
    )
    assert result.summary == "PASSED (successes=3)", result.output


def test_jobs_split_the_run_over_workers(project: Path, twisty: Outcomes) -> None:
    result = runTorsionTrial(["twisty", "pkg"], project, "-j", "2")
    assert result.returncode == 1
    assert result.summary == (
        "FAILED (skips=1, expectedFailures=1, failures=1, errors=5, "
        "unexpectedSuccesses=1, successes=9)"
    ), result.output
    assert {k: v for k, v in result.outcomes.items() if k.startswith("twisty.")} == (
        twisty.outcomes
    )


def test_exitfirst_stops_at_the_first_failure(project: Path) -> None:
    result = runTorsionTrial(["twisty.Outcomes"], project, "-x")
    # Sorted by name: test_deferred passes, test_error ends the run.
    assert result.summary == "FAILED (errors=1, successes=1)", result.output


def test_until_failure_repeats_until_a_test_fails(project: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    (project / "flaky.py").write_text(
        textwrap.dedent(
            f"""
            from torsion.trial import SynchronousTestCase

            class Flaky(SynchronousTestCase):
                def test_third_time(self):
                    with open({str(counter)!r}, "a+") as f:
                        f.write("x")
                        f.seek(0)
                        self.assertLess(len(f.read()), 3)
            """
        )
    )
    result = runTorsionTrial(["flaky"], project, "--until-failure")
    assert result.returncode == 1
    assert "Test Pass 3" in result.output and "Test Pass 4" not in result.output
    assert counter.read_text() == "xxx"


def test_a_temp_directory_another_run_holds_is_left_alone(tmp_path: Path, project: Path) -> None:
    (tmp_path / "_trial_temp").mkdir()
    (tmp_path / "_trial_temp" / "theirs").write_text("")
    os.symlink(str(os.getpid()), tmp_path / "_trial_temp.lock")  # held, as trial holds it
    os.symlink("999999999", tmp_path / "_trial_temp-1.lock")  # stale: taken over
    result = runTorsionTrial(["pkg.test_one"], tmp_path, env={"PYTHONPATH": str(project)})
    assert result.summary == "PASSED (successes=3)", result.output
    assert (tmp_path / "_trial_temp" / "theirs").exists()
    assert (tmp_path / "_trial_temp-1" / "test.log").exists()
    assert not (tmp_path / "_trial_temp-1.lock").exists()  # released at exit
