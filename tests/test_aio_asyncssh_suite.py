"""asyncssh's own test suite, the part that moves data, on torsion's loop
beside the stock one.

asyncssh's test classes each make their loop with ``asyncio.new_event_loop()``
and run real SSH servers and clients on it over loopback.  This test unpacks
the suite of the installed asyncssh and runs the modules of ``FILES`` side by
side (tests/_upstream.py): every test that passes on the stock loop must pass
on torsion's, but for ``DIFFERENT``.  These modules forward TCP and UNIX
connections through SSH channels (with flow control both ways), run remote
processes and local subprocesses, and stream data; the rest of the suite
(keys, authentication, SFTP) was run by hand with the same outcomes on both
loops, and takes four minutes.

It found that ``write_eof()`` after writes that had paused the protocol
never sent the EOF.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _upstream import SideBySide, fetchSdist

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("torsion.aio runs on POSIX systems", allow_module_level=True)

pytest.importorskip("asyncssh")

FILES = (
    "test_channel.py",
    "test_forward.py",
    "test_process.py",
    "test_stream.py",
    "test_subprocess.py",
)

#: Passes on the stock loop, not on torsion's: {test id: why}.
DIFFERENT: dict[str, str] = {}


@pytest.mark.timeout(900)
def test_asyncssh_suite_passes_on_torsion_wherever_it_passes_on_asyncio(tmp_path: Path) -> None:
    root = fetchSdist("asyncssh", {"tests": "tests", "tox.ini": "tox.ini"})  # its [pytest]
    # A test that hangs ends its child at once (thread method): its class's
    # teardown, which would wait for the hung connection, never runs.
    options = ["--timeout", "60", "--timeout-method", "thread"]
    suite = SideBySide("asyncssh", root, tmp_path, options)
    suite.check([f"tests/{name}" for name in FILES], DIFFERENT, minPassed=350, minLoops=10)
