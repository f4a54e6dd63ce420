"""uvloop's own test suite, the half that tests the stock asyncio loop, run
against ``torsion.aio.new_event_loop()``.

uvloop checks itself against asyncio with one suite: each ``_Test...`` mixin
is run as ``Test_UV_...`` on uvloop and as ``Test_AIO_...`` on asyncio's loop,
so the ``AIO`` classes are a loop-generic record of what asyncio does (TCP,
UNIX, TLS, UDP, pipes, subprocesses, signals, DNS, executors, contexts,
aiohttp).  The suite is not in uvloop's wheel: it comes from the sdist of the
installed uvloop version (tests/_upstream.py: ``pip download``, cached in
``.cache/``, never committed).  Each ``AIO`` class is subclassed here with torsion's loop and
event loop policy; the tests keep ``implementation == "asyncio"`` and see
``is_asyncio_loop()`` true, since torsion.aio promises asyncio's behaviour (its
datagram, pipe and TLS transports are asyncio's own classes).

``SKIPS`` lists every test that does not run, with the reason.  Anything not
listed must pass.
"""

from __future__ import annotations

import importlib
import sys
import unittest
from typing import Any

import pytest

import torsion.aio
from _upstream import fetchSdist

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("torsion.aio runs on POSIX systems", allow_module_level=True)

pytest.importorskip("uvloop")
from uvloop import _testbase as tb

pytestmark = [
    # aiohttp's deprecations, met by uvloop's aiohttp tests (not torsion's code)
    pytest.mark.filterwarnings("ignore:It is recommended to use web.AppKey"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:aiohttp.web_runner"),
]

PACKAGE = "uvloop_tests"

#: uvloop's test modules that have asyncio-loop (``AIO``) classes.
MODULES = (
    "test_aiohttp",
    "test_base",
    "test_context",
    "test_dns",
    "test_executors",
    "test_pipes",
    "test_process",
    "test_signals",
    "test_sockets",
    "test_tcp",
    "test_udp",
    "test_unix",
)

_EXTERNAL_DNS = "resolves example.com: tests here use loopback only"

#: "Class.test" (uvloop's class name): why it does not run on torsion's loop.
SKIPS: dict[str, str] = {
    "TestBaseAIO.test_thread_name_prefix_in_default_executor": (
        "expects the default executor's threads to be named 'asyncio_N'; torsion's"
        " default executor is the reactor's thread pool, shared with"
        " callInThread/deferToThread, whose threads carry the pool's name"
    ),
    "Test_AIO_Process.test_process_streams_redirect": (
        "checks what a child wrote to this process's own stdout (fd 1), which"
        " pytest's capture replaces; it fails so on the stock asyncio loop too"
    ),
    **{
        f"Test_AIO_DNS.test_getaddrinfo_{n}": _EXTERNAL_DNS
        for n in ("1", "2", "4", "5", "6", "11", "21", "22")
    },
}


sys.path.insert(0, str(fetchSdist("uvloop", {"tests": PACKAGE})))


class _OnTorsion:
    """Makes a uvloop ``AIO`` test class run on torsion's loop."""

    def new_loop(self) -> Any:
        return torsion.aio.new_event_loop()

    def new_policy(self) -> Any:
        return torsion.aio.EventLoopPolicy()

    def is_asyncio_loop(self) -> bool:
        return True


def _onTorsion(cls: type) -> type:
    name = f"Torsion_{cls.__name__}"
    made = type(name, (_OnTorsion, cls), {"__module__": __name__, "__qualname__": name})
    for attr in dir(made):
        reason = SKIPS.get(f"{cls.__name__}.{attr}")
        if reason is not None:
            setattr(made, attr, unittest.skip(reason)(getattr(made, attr)))
    return made


#: uvloop's class name -> its torsion variant (each also a name of this module).
CLASSES: dict[str, type] = {}
for _module in MODULES:
    _mod = importlib.import_module(f"{PACKAGE}.{_module}")
    for _cls in list(vars(_mod).values()):
        if (
            isinstance(_cls, type)
            and issubclass(_cls, tb.AIOTestCase)
            and _cls.__module__ == _mod.__name__
        ):
            CLASSES[_cls.__name__] = globals()[f"Torsion_{_cls.__name__}"] = _onTorsion(_cls)


def test_every_asyncio_class_of_the_suite_runs_here() -> None:
    """The suite's ``AIO`` classes are all here: none is lost to a rename upstream."""
    assert len(CLASSES) == 15, sorted(CLASSES)


def test_skips_name_real_tests() -> None:
    """Every entry of SKIPS names a test that exists (so the list stays honest)."""
    for key in SKIPS:
        cls, _, name = key.partition(".")
        assert hasattr(CLASSES[cls], name), key
