"""``python -m torsion.trial``: trial's command line, on torsion's reactor.

It installs the chosen reactor (``--reactor``) before importing any test,
loads the targets (``_loader``), runs them in a fresh ``_trial_temp``
directory (as trial does: ``mktemp`` paths and ``test.log`` go there; a
directory another run holds is left alone for ``_trial_temp-1``...) and
prints trial's tree report and summary line (``_reporter``).  The exit code
is 1 when a test failed or errored, else 0.

With ``-j N`` the tests are split, class by class, over N worker processes
(this same command with a hidden ``--worker-fd``), each in its own
directory ``_trial_temp/<i>``; workers send outcomes as JSON lines on a pipe
and this process prints them as they come.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import unittest
from collections.abc import Iterator
from queue import SimpleQueue
from typing import Any

from torsion import reactors
from torsion.trial import _loader
from torsion.trial._reporter import Recorder, TreeReporter
from torsion.trial._synctest import _TempBase

__all__ = ["main"]


def _jobs(text: str) -> int:
    if text == "auto":
        return os.cpu_count() or 1
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("the number of jobs must be at least 1")
    return n


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m torsion.trial",
        description="Run unit tests (torsion.trial, unittest) on the torsion reactor.",
    )
    p.add_argument(
        "targets", nargs="*", metavar="TARGET", help="module, package, file, class or test"
    )
    p.add_argument("-r", "--reactor", choices=reactors.available(), help="the reactor backend")
    p.add_argument("-j", "--jobs", type=_jobs, default=1, help="worker processes (or 'auto')")
    p.add_argument("-u", "--until-failure", action="store_true", help="repeat until a test fails")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop after the first failure")
    p.add_argument("-N", "--no-recurse", action="store_true", help="do not recurse into packages")
    p.add_argument("--force-gc", action="store_true", help="collect garbage around each test")
    p.add_argument("--temp-directory", default="_trial_temp", help="where tests run")
    p.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    return p


class _GarbageCollecting(unittest.TestCase):
    """Wraps a test: ``gc.collect()`` before and after it (``--force-gc``)."""

    def __init__(self, test: Any) -> None:
        super().__init__("run")
        self.test = test

    def id(self) -> str:
        return str(self.test.id())

    def run(self, result: Any = None) -> Any:
        gc.collect()
        try:
            return self.test(result)
        finally:
            gc.collect()


def _prepare(suite: unittest.TestSuite, forceGC: bool) -> unittest.TestSuite:
    if not forceGC:
        return suite
    return unittest.TestSuite(_GarbageCollecting(t) for t in _loader.flatten(suite))


def _tryLock(lockPath: str) -> bool:
    """Take the lock at ``lockPath``: a symlink to our pid, as Twisted's trial makes one.

    So a run of either program leaves a directory the other holds alone.  A
    lock whose process is gone is stale and taken over.
    """
    for _ in range(3):
        try:
            os.symlink(str(os.getpid()), lockPath)
        except FileExistsError:
            try:
                os.kill(int(os.readlink(lockPath)), 0)
                return False  # held by a live process
            except (OSError, ValueError):
                try:
                    os.unlink(lockPath)  # stale
                except FileNotFoundError:
                    pass
                continue
        atexit.register(_unlock, lockPath)
        return True
    return False


def _unlock(lockPath: str) -> None:
    try:
        if os.readlink(lockPath) == str(os.getpid()):
            os.unlink(lockPath)
    except OSError:
        pass


def _lockedDirectory(path: str) -> str:
    """``path``, or ``path-1``, ``path-2``... the first no other run holds (as trial does)."""
    for n in range(100):
        candidate = path if n == 0 else f"{path}-{n}"
        os.makedirs(os.path.dirname(os.path.abspath(candidate)), exist_ok=True)
        if _tryLock(candidate + ".lock"):
            return candidate
    raise RuntimeError(f"no free temporary directory like {path!r}")


def _enterTempDirectory(path: str) -> None:
    path = _lockedDirectory(path)
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "_trial_marker")):
        shutil.rmtree(path)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "_trial_marker"), "w"):
        pass
    os.chdir(path)
    _TempBase.inCurrentDirectory = True
    handler = logging.FileHandler("test.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def _runOnce(suite: unittest.TestSuite, options: argparse.Namespace) -> bool:
    reporter = TreeReporter(sys.stdout, failfast=options.exitfirst)
    if options.jobs > 1:
        _runInWorkers(suite, options, reporter)
    else:
        _prepare(suite, options.force_gc).run(reporter)
    reporter.done()
    return reporter.wasSuccessful()


# -- workers ------------------------------------------------------------------------


def _byClass(tests: list[Any], n: int) -> list[list[str]]:
    """Split test ids into ``n`` lists, keeping each class together, balanced by count."""
    groups: dict[str, list[str]] = {}
    for test in tests:
        groups.setdefault(type(test).__module__ + "." + type(test).__qualname__, []).append(
            test.id()
        )
    buckets: list[list[str]] = [[] for _ in range(n)]
    for ids in sorted(groups.values(), key=len, reverse=True):
        min(buckets, key=len).extend(ids)
    return [b for b in buckets if b]


def _readEvents(stream: Any, queue: SimpleQueue[Any]) -> None:
    for line in stream:
        queue.put(json.loads(line))
    queue.put(None)


def _runInWorkers(
    suite: unittest.TestSuite, options: argparse.Namespace, reporter: TreeReporter
) -> None:
    tests = list(_loader.flatten(suite))
    local = [
        t
        for t in tests
        if not isinstance(t, unittest.TestCase) or isinstance(t, _loader._LoadError)
    ]
    remote = [t for t in tests if t not in local]
    unittest.TestSuite(local).run(reporter)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path))
    queue: SimpleQueue[Any] = SimpleQueue()
    workers = []
    for i, ids in enumerate(_byClass(remote, options.jobs)):
        readFd, writeFd = os.pipe()
        command = [sys.executable, "-m", "torsion.trial", "--worker-fd", str(writeFd)]
        command += ["--temp-directory", str(i)]  # inside this process's directory
        if options.reactor:
            command += ["--reactor", options.reactor]
        if options.force_gc:
            command.append("--force-gc")
        proc = subprocess.Popen(command + ids, pass_fds=(writeFd,), env=env)
        os.close(writeFd)
        stream = os.fdopen(readFd, encoding="utf-8")
        threading.Thread(target=_readEvents, args=(stream, queue), daemon=True).start()
        workers.append((proc, stream))
    running = len(workers)
    while running:
        event = queue.get()
        if event is None:
            running -= 1
        else:
            reporter.replay(event)
    for proc, stream in workers:
        proc.wait()
        stream.close()
        if proc.returncode not in (0, 1):
            reporter.addError(
                _WorkerRef(proc), f"worker {proc.pid} exited with code {proc.returncode}"
            )


class _WorkerRef:
    def __init__(self, proc: subprocess.Popen[Any]) -> None:
        self.proc = proc

    def id(self) -> str:
        return f"worker {self.proc.pid}"


def _workerMain(options: argparse.Namespace, suite: unittest.TestSuite) -> int:
    with os.fdopen(options.worker_fd, "w", encoding="utf-8") as out:

        def send(event: dict[str, Any]) -> None:
            out.write(json.dumps(event) + "\n")
            out.flush()

        recorder = Recorder(send)
        _prepare(suite, options.force_gc).run(recorder)
    return 0 if recorder.wasSuccessful() else 1


# -- main --------------------------------------------------------------------------


def _passes() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.reactor:
        reactors.install(options.reactor)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    sys.path[:] = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    suite = _loader.load(options.targets, recurse=not options.no_recurse)
    _enterTempDirectory(options.temp_directory)
    if options.worker_fd is not None:
        return _workerMain(options, suite)
    if not options.until_failure:
        return 0 if _runOnce(suite, options) else 1
    for n in _passes():
        print(f"Test Pass {n}")
        if not _runOnce(suite, options):
            return 1
        suite = _loader.load(options.targets, recurse=not options.no_recurse)
    return 1  # pragma: no cover - the loop only ends by returning
