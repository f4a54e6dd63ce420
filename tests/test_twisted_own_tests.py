"""Twisted's own tests, ported by their imports, as a standing differential suite (issue 11).

The installed Twisted's test modules that issue 11 names (``own.MODULES``:
test_defer, test_task, test_tcp, internet/test/test_endpoints, the
ReactorBuilder modules...) are copied and rewritten by the porting table
(``twisted_suite.own.portOwnTests``), then run once, in a subprocess, with
``python -m torsion.trial`` on each of ``own.BACKENDS``: the default
backend, ``TORSION_REACTOR=asyncio`` on the stock asyncio loop, and on
uvloop (the ReactorBuilder classes get one torsion reactor of that kind,
``TorsionReactor``).  Every test's outcome is compared with the reviewed
list ``twisted_suite/expected_failures.py`` (``EXPECTED``, and for one
backend ``BACKEND_EXPECTED``): a test that starts passing, or starts
failing, fails ``test_outcomes_are_the_reviewed_ones`` with the list of them.

**Twisted's own code does not count.**  ``twisted_suite/shim.py``, imported
first by each ported package, poisons every ``twisted.internet.*`` module:
importing one gives a stand-in whose names raise when used, and each use is
logged with the running test's id; such a test never counts as a pass,
whatever trial says.  At exit the child also reports any real
``twisted.internet`` module in ``sys.modules`` (there must be none).
The port is strict, as an independent one by the table would be: zope's
``implementer``, ``verifyObject`` and Twisted's interfaces become torsion's,
and a name torsion lacks is an ImportError.  A module that fails at import
is reported by trial under its own id; its tests are listed in the expected
failures under an ``import_*`` reason and count as not passed.

Reading a failure: the message lists test ids; rerun by hand with
``cd tests && python -m twisted_suite.own DIR`` (ports into DIR, prints the
count, writes trial's report to ``DIR/trial.out``), or run one test with
``cd DIR && python -m torsion.trial ported_test.test_defer.DeferredTests``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twisted_suite.expected_failures import BACKEND_EXPECTED, EXPECTED, REASONS
from twisted_suite.own import BACKENDS, Run, portOwnTests, runOwnTests

pytestmark = [pytest.mark.twisted_oracle, pytest.mark.timeout(600)]

PORTING = Path(__file__).resolve().parents[1] / "docs" / "porting.md"
TOTAL = 1144  # the tests of these modules in Twisted 26.10, one reactor for the builders


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Run:
    pytest.importorskip("twisted.internet.test.reactormixins")
    pytest.importorskip("hamcrest")
    if BACKENDS[backend][1]:
        pytest.importorskip("uvloop")
    where = tmp_path_factory.mktemp("twisted_own_tests")
    return runOwnTests(where, portOwnTests(where), backend=backend, timeout=500)


@pytest.fixture(scope="module")
def expected(backend: str) -> dict[str, str]:
    return {**EXPECTED, **BACKEND_EXPECTED.get(backend, {})}


def _listed(ids: set[str], run: Run, expected: dict[str, str]) -> str:
    outcomes = run.allOutcomes(expected)
    return "\n".join(f"  {t} ({outcomes.get(t, 'not run')})" for t in sorted(ids))


def test_outcomes_are_the_reviewed_ones(run: Run, expected: dict[str, str]) -> None:
    outcomes = run.allOutcomes(expected)
    passed = run.passed()
    notPassed = set(outcomes) - passed
    started = set(expected) & passed
    broke = notPassed - set(expected)
    vanished = set(expected) - set(outcomes)
    unlisted = {m for m in run.notImported() if not any(t.startswith(m + ".") for t in expected)}
    message = []
    if unlisted:
        message.append(
            f"failed at import (fix, or list its tests):\n{_listed(unlisted, run, expected)}"
        )
    if started:
        message.append(
            "started passing (remove from expected_failures.py):\n"
            + _listed(started, run, expected)
        )
    if broke:
        message.append(
            f"started failing (fix, or list with a reason):\n{_listed(broke, run, expected)}"
        )
    if vanished:
        message.append(f"listed but not run:\n{_listed(vanished, run, expected)}")
    assert not message, "\n".join(message) + "\n" + run.outcomes.output[-3000:]
    assert len(outcomes) == TOTAL, run.outcomes.summary


def test_no_twisted_internet_code_ran_for_real(run: Run) -> None:
    real = {k: v for k, v in run.poisoned.items() if k in ("<sys.modules>", "<before the shim>")}
    assert not real, real
    assert "<import>" not in run.poisoned, run.poisoned.get("<import>")


def test_a_test_that_touched_twisted_code_does_not_pass(run: Run) -> None:
    # test_loopback drives Twisted's twisted.protocols.loopback, built on twisted.internet.
    touched = {t for t in run.poisoned if t.startswith("ported_test.test_loopback.")}
    assert touched and not touched & run.passed()
    assert all(EXPECTED.get(t) in ("private", "scope", "tls") for t in run.poisoned)


def test_every_reason_is_reviewed_and_cites_porting_md() -> None:
    assert set(EXPECTED.values()) <= set(REASONS)
    for name, more in BACKEND_EXPECTED.items():
        assert name in BACKENDS and set(more.values()) <= set(REASONS)
    text = PORTING.read_text().replace("`", "")
    headings = set(re.findall(r"^\*\*(.+?)\*\*", text, re.M))
    headings |= set(re.findall(r"^## (.+)$", text, re.M))
    for key, reason in REASONS.items():
        cited = re.search(r"porting\.md: ([^)]+)\)", reason)
        if cited is None:
            continue
        heading = cited[1].split(",")[0].strip()
        assert any(h.rstrip(".").startswith(heading) for h in headings), (key, heading)
