"""docs/testing.md's examples, run as its reader would run them.

Each module docs/testing.md shows is, byte for byte, the file in examples/
that runs here: the torsion.trial one with ``python -m torsion.trial`` on
every backend and under pytest, the pytest one with the plugin's options.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from _programs import ROOT, environment
from test_examples_guide import fencedBlocks
from torsion import reactors

EXAMPLES = ROOT / "examples"


def run(*args: str, cwd: Path = EXAMPLES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=environment(extra=EXAMPLES),
        cwd=cwd,
        timeout=60,
    )


def test_testing_md_shows_the_examples() -> None:
    blocks = dict(fencedBlocks((ROOT / "docs" / "testing.md").read_text()))
    assert set(blocks) == {"examples/echo_test_trial.py", "examples/echo_test_pytest.py"}
    for path, code in blocks.items():
        assert code == (ROOT / path).read_text(), f"docs/testing.md's copy of {path} differs"


@pytest.mark.parametrize("backend", reactors.available())
def test_trial_example_with_the_runner(backend: str, tmp_path: Path) -> None:
    result = run("-m", "torsion.trial", "--reactor", backend, "echo_test_trial", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("PASSED (successes=4)"), result.stdout


def test_trial_example_under_pytest() -> None:
    result = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "echo_test_trial.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_pytest_example_on_every_backend_with_the_leak_check() -> None:
    result = run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--torsion-backends=all",
        "--torsion-leak-check",
        "echo_test_pytest.py",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{3 + 2 * len(reactors.available())} passed" in result.stdout


def test_trial_example_under_python_m_unittest() -> None:
    result = run("-m", "unittest", "echo_test_trial")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 4 tests" in result.stderr and result.stderr.rstrip().endswith("OK")
