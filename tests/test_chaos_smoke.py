"""Smoke run of the chaos suite: bench/chaos in its short form, against ``torsion run``.

Each scenario of bench/chaos (docs/reliability.md) runs against a real
``torsion run`` process, with the short form's counts, once on the default
backend and once on the asyncio backend over the stock loop and over uvloop; the test passes when
every criterion holds (no traceback, descriptors and memory back to their
baseline, no loop stall over 250 ms, a clean exit on SIGTERM, and the
scenario's own checks).  The comparison with twist is left to the full form.

Scenarios that fail today because their fix is pending in another part of the
tree are marked ``xfail(strict=True)``: the fix makes them pass, which fails
this test until the mark is removed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from twisted_suite import UVLOOP_SITECUSTOMIZE

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))

from chaos import cli, runner, scenarios  # noqa: E402

pytestmark = [
    pytest.mark.smoke,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="the suite reads /proc (Linux)"
    ),
]

#: Scenario -> why it fails today; empty since the fixes of issue 15 landed.
#: A scenario that regresses for a known, pending reason goes here.
PENDING: dict[str, str] = {}


def _param(name: str) -> Any:
    if name in PENDING:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=PENDING[name]))
    return name


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> runner.Options:
    return cli.options(short=True, work=tmp_path_factory.mktemp("chaos"))


def test_every_scenario_is_covered() -> None:
    assert set(PENDING) <= set(scenarios.BY_NAME)
    assert len(scenarios.SCENARIOS) >= 11


@pytest.fixture(params=["default", "asyncio", "asyncio+uvloop"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """The reactor ``torsion run`` uses: the default, or the asyncio backend on
    the stock loop or on uvloop (whose policy a ``sitecustomize`` sets)."""
    name = str(request.param)
    if name != "default":
        monkeypatch.setenv("TORSION_REACTOR", "asyncio")
    if name == "asyncio+uvloop":
        pytest.importorskip("uvloop")
        (tmp_path / "sitecustomize.py").write_text(UVLOOP_SITECUSTOMIZE)
        monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return name


@pytest.mark.parametrize("name", [_param(s.name) for s in scenarios.SCENARIOS])
def test_scenario_short_form(name: str, backend: str, options: runner.Options) -> None:
    result = runner.run_one(scenarios.BY_NAME[name], "torsion", options)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.passed, result.explain() + "\n  " + result.headline


def test_table_puts_the_systems_side_by_side() -> None:
    ok = runner.Result("churn", "torsion", headline="100 connections")
    ok.checks["clean_exit"] = (True, "exit status 0")
    ok.figures.update(exit=0, fds_before=7, fds_after=7)
    bad = runner.Result("churn", "twist", headline="90 connections")
    bad.checks["fds_back"] = (False, "9 descriptors")
    text = cli.tables([ok, bad], ["torsion", "twist"])
    assert "| churn | 100 connections | 90 connections | pass | FAIL: fds_back |" in text
    assert "| churn | torsion | 0 | 7 -> 7 | - | - | 0 (clean) |" in text
