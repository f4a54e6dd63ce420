"""starlette's own test suite on torsion's loop beside the stock one.

starlette's ``TestClient`` runs the application on a loop of its own in
another thread (an anyio blocking portal: ``asyncio.Runner`` there, which
makes its loop through asyncio's policy), and its async tests run on anyio's
asyncio backend.  So the suite makes some 800 loops, most of them outside the
main thread, and drives them from the test's thread with thread-safe calls
and cancellation: the part of a loop that socket tests do not reach.  This
test unpacks the suite of the installed starlette (with its pytest
configuration) and runs it side by side (tests/_upstream.py): every test that
passes on the stock loop must pass on torsion's, but for ``DIFFERENT``.
starlette's trio variants are left out (no asyncio loop runs in them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _upstream import SideBySide, fetchSdist

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("torsion.aio runs on POSIX systems", allow_module_level=True)

for _module in ("starlette", "httpx", "jinja2", "multipart", "trio", "opentelemetry.sdk"):
    pytest.importorskip(_module)

#: Passes on the stock loop, not on torsion's: {test id: why}.
DIFFERENT: dict[str, str] = {}


@pytest.mark.timeout(900)
def test_starlette_suite_passes_on_torsion_wherever_it_passes_on_asyncio(tmp_path: Path) -> None:
    root = fetchSdist("starlette", {"tests": "tests", "pyproject.toml": "pyproject.toml"})
    suite = SideBySide("starlette", root, tmp_path, ["-k", "not trio", "--timeout", "60"])
    suite.check(["tests"], DIFFERENT, minPassed=700, minLoops=500)
