"""Shared test fixtures.

* ``reactor``: a fresh reactor per test, parametrised over every backend the
  platform has, so every reactor-level test runs on select, poll and epoll.
  At teardown it must hold no reader, writer or pending timer, and it is closed.
* An autouse check that a test leaks no file descriptor, thread or child process.
* ``run_until(reactor, d)``: run the reactor until Deferred ``d`` fires, and
  return its result (or raise its failure); a timeout fails the test instead of
  hanging it.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from torsion import reactors

BACKENDS = reactors.available()


def _open_fds() -> set[int]:
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            os.fstat(fd)
        except OSError:
            continue  # the listdir's own descriptor, already closed
        fds.add(fd)
    return fds


def _children() -> set[int]:
    me = str(os.getpid())
    kids = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me:
            kids.add(int(name))
    return kids


def _describe_fd(fd: int) -> str:
    try:
        return f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}"
    except OSError:
        return str(fd)


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("allow_leaks"):
        yield
        return
    fds = _open_fds()
    threads = set(threading.enumerate())
    kids = _children()
    yield
    deadline = time.monotonic() + 2.0
    while True:
        gc.collect()
        new_fds = _open_fds() - fds
        new_threads = {t for t in threading.enumerate() if t not in threads and t.is_alive()}
        new_kids = _children() - kids
        if not (new_fds or new_threads or new_kids) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    problems = []
    if new_fds:
        problems.append("file descriptors: " + ", ".join(_describe_fd(f) for f in sorted(new_fds)))
    if new_threads:
        problems.append("threads: " + ", ".join(t.name for t in new_threads))
    if new_kids:
        problems.append(f"child processes: {sorted(new_kids)}")
    if problems:
        pytest.fail("test leaked " + "; ".join(problems))


@pytest.fixture(params=BACKENDS)
def reactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    r = reactors.create(request.param)
    try:
        yield r
        leftovers = []
        if r.getReaders():
            leftovers.append(f"readers {r.getReaders()}")
        if r.getWriters():
            leftovers.append(f"writers {r.getWriters()}")
        if r.getDelayedCalls():
            leftovers.append(f"delayed calls {r.getDelayedCalls()}")
        if leftovers and not request.node.get_closest_marker("allow_leaks"):
            pytest.fail("test left reactor state behind: " + "; ".join(leftovers))
    finally:
        for s in r.removeAll():
            try:
                s.connectionLost(None)
            except Exception:
                pass
        r.close()


class RunTimeout(AssertionError):
    pass


def run_until(reactor: Any, d: Any, timeout: float = 10.0) -> Any:
    """Run ``reactor`` until ``d`` fires; return its result or raise its failure."""
    from torsion.failure import Failure

    outcome: list[Any] = []

    def done(result: Any) -> None:
        outcome.append(result)
        if reactor.running or not reactor._stopped:
            reactor.stop()

    def expire() -> None:
        outcome.append(Failure(RunTimeout(f"Deferred did not fire within {timeout}s")))
        reactor.stop()

    guard = reactor.callLater(timeout, expire)
    d.addBoth(done)
    if not outcome:
        reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


@pytest.fixture
def run(reactor: Any) -> Any:
    """``run(d)`` runs the test's reactor until ``d`` fires."""

    def runner(d: Any, timeout: float = 10.0) -> Any:
        return run_until(reactor, d, timeout)

    return runner
