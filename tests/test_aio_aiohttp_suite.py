"""aiohttp's own test suite, the part that drives the loop, on torsion's loop
beside the stock one.

aiohttp's suite runs its async tests on loops from ``asyncio.new_event_loop()``
(its ``loop`` fixture, ``loop_context``, ``asyncio.run`` in ``run_app``).
This test unpacks the suite of the installed aiohttp and runs the modules of
``FILES`` side by side (tests/_upstream.py: two child pytests at once, one
as they are and one with ``torsion.aio.install()`` done first, so that every
loop they make is torsion's), and compares the outcomes test by test: every
test that passes on the stock loop must pass on torsion's, but for
``DIFFERENT``, each with its reason.  What fails on both is this machine's (running as root, the
permission tests cannot refuse a read) and not torsion's to fix.

The modules are those whose tests run real servers, clients, connections,
timers and loops; aiohttp's parsers, cookie jar and multipart code are
loop-free and left out (the whole suite takes a quarter of an hour here).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _upstream import SideBySide, fetchSdist

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("torsion.aio runs on POSIX systems", allow_module_level=True)

pytest.importorskip("aiohttp")

FILES = (
    "test_base_protocol.py",
    "test_client_functional.py",
    "test_client_proto.py",
    "test_client_session.py",
    "test_client_ws_functional.py",
    "test_connector.py",
    "test_flowcontrol_streams.py",
    "test_loop.py",
    "test_proxy_functional.py",
    "test_pytest_plugin.py",
    "test_resolver.py",
    "test_run_app.py",
    "test_streams.py",
    "test_tcp_helpers.py",
    "test_test_utils.py",
    "test_tracing.py",
    "test_web_app.py",
    "test_web_functional.py",
    "test_web_protocol.py",
    "test_web_runner.py",
    "test_web_sendfile_functional.py",
    "test_web_server.py",
    "test_web_websocket_functional.py",
)

#: Passes on the stock loop, not on torsion's: {test id: why}.
DIFFERENT = {
    "tests.test_web_functional::test_keepalive_expires_on_time[pyloop]": (
        "patches loop.time() to make a timer fire: the stock loop's turn reads loop.time(), "
        "torsion's timer queue (shared with the reactor's callLater) and uvloop's libuv "
        "timers do not; it fails on uvloop too"
    ),
}

#: aiohttp's pytest.ini, less its plugins (xdist, coverage) and their options.
INI = """\
[pytest]
filterwarnings =
  error
  ignore:Unclosed client session <aiohttp.client.ClientSession object at 0x:ResourceWarning
  ignore:aiohttp.pytest_plugin will be removed in v4:DeprecationWarning
markers =
  autobahn: aiohttp's Autobahn suite
  dev_mode: aiohttp's dev-mode tests
  internal: aiohttp's internal tests
  skip_blockbuster: aiohttp's marker for its blocking-call detector
xfail_strict = true
empty_parameter_set_mark = xfail
"""


@pytest.mark.timeout(900)
def test_aiohttp_suite_passes_on_torsion_wherever_it_passes_on_asyncio(tmp_path: Path) -> None:
    root = fetchSdist("aiohttp", {"tests": "tests"})
    (tmp_path / "pytest.ini").write_text(INI)
    suite = SideBySide(
        "aiohttp",
        root,
        tmp_path,
        [
            *("-c", str(tmp_path / "pytest.ini")),
            *("-m", "not dev_mode and not autobahn and not internal", "--timeout", "60"),
        ],
    )
    suite.check([f"tests/{name}" for name in FILES], DIFFERENT, minPassed=1300, minLoops=1000)
