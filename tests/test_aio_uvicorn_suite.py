"""uvicorn's own test suite on torsion's loop beside the stock one.

uvicorn's async tests run on anyio's asyncio backend, which makes its loops
through asyncio's policy; its servers (``Server.serve()``) run as tasks of
those loops.  This test unpacks the suite of the installed uvicorn (with its
pytest configuration, less the options of plugins not installed here) and
runs it side by side (tests/_upstream.py): every test that passes on the
stock loop must pass on torsion's, but for ``DIFFERENT``, each with its
reason.  uvicorn's benchmarks (a plugin of their own) are left out.

It found that torsion's ``add_signal_handler`` callbacks stopped when other
code replaced the Python-level handler (uvicorn's server does, for as long
as it serves): asyncio's loops learn of their signals from the wakeup
descriptor.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _upstream import SideBySide, fetchSdist

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("torsion.aio runs on POSIX systems", allow_module_level=True)

for _module in ("uvicorn", "httpx2", "a2wsgi", "wsproto", "zttp", "websockets", "pytest_mock"):
    pytest.importorskip(_module)

#: Passes on the stock loop, not on torsion's: {test id: why}.
DIFFERENT = {
    "tests.test_compat::test_asyncio_run__default_loop_factory": (
        "asserts that the default loop is asyncio's SelectorEventLoop; with "
        "torsion.aio.install() it is torsion's, as with uvloop.install() it is uvloop's"
    ),
}


@pytest.mark.timeout(900)
def test_uvicorn_suite_passes_on_torsion_wherever_it_passes_on_asyncio(tmp_path: Path) -> None:
    root = fetchSdist("uvicorn", {"tests": "tests", "pyproject.toml": "pyproject.toml"})
    suite = SideBySide(
        "uvicorn",
        root,
        tmp_path,
        # addopts: uvicorn's asks for pytest-xdist (-n 8)
        ["-o", "addopts=", "--ignore", "tests/benchmarks", "--timeout", "60"],
    )
    suite.check(["tests"], DIFFERENT, minPassed=1200, minLoops=500)
