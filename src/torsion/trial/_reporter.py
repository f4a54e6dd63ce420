"""trial's tree report: each test's line as it ends, the details, then the summary.

::

    tests.test_x
      SomeTests
        test_one ...                                                   [OK]
    ...
    -------------------------------------------------------------------------------
    Ran 3 tests in 0.012s

    FAILED (failures=1, successes=2)

The summary counts, in trial's order, skips, expectedFailures, failures,
errors, unexpectedSuccesses and successes; the run passes unless there are
failures or errors.  The reporter is a ``unittest.TestResult`` that also
takes trial's ``todo`` arguments, and it can replay outcomes that worker
processes recorded (``Recorder``), which only carry a test id and text.
"""

from __future__ import annotations

import time
import traceback
import unittest
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Recorder", "TestRef", "TreeReporter", "formatError"]

_WIDTH = 79


def formatError(err: Any) -> str:
    """An exc_info tuple (or a string) as traceback text."""
    if isinstance(err, str):
        return err.rstrip("\n") + "\n"
    kind, value, tb = err
    return "".join(traceback.format_exception(kind, value, tb))


class TestRef:
    """Stands for a test that ran elsewhere (a worker): its id is all we know."""

    def __init__(self, testId: str) -> None:
        self._id = testId

    def id(self) -> str:
        return self._id

    def __repr__(self) -> str:
        return self._id


def _reason(todo: Any) -> str:
    return getattr(todo, "reason", None) or str(todo or "")


class TreeReporter(unittest.TestResult):
    """Prints each test as trial's default reporter does (see the module comment)."""

    def __init__(self, stream: TextIO, *, failfast: bool = False) -> None:
        super().__init__()
        self.stream = stream
        self.failfast = failfast
        self.successes = 0
        self.skips: list[tuple[str, str]] = []
        self.todos: list[tuple[str, str]] = []
        self.fails: list[tuple[str, str]] = []
        self.errs: list[tuple[str, str]] = []
        self.surprises: list[tuple[str, str]] = []
        self._branch: list[str] = []
        self._open: set[str] = set()  # started, no outcome printed yet
        self._started = time.monotonic()

    # -- the tree -------------------------------------------------------------

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._open.add(test.id())

    def _status(self, test: Any, status: str) -> None:
        testId = test.id()
        if testId in self._open:
            self._open.discard(testId)
            *branch, name = _split(testId)
            for depth, segment in enumerate(branch):
                if depth >= len(self._branch) or self._branch[depth] != segment:
                    self._write("  " * depth + segment + "\n")
            self._branch = branch
            line = "  " * len(branch) + f"{name} ... "
        else:
            line = ""  # a second outcome for the same test: a line of its own
        self._write(line + " " * max(1, _WIDTH - len(line) - len(status)) + status + "\n")

    # -- outcomes -----------------------------------------------------------

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self.successes += 1
        self._status(test, "[OK]")

    def _bad(self) -> None:
        if self.failfast:
            self.stop()

    def addFailure(self, test: Any, err: Any) -> None:
        self.fails.append((test.id(), formatError(err)))
        self._status(test, "[FAIL]")
        self._bad()

    def addError(self, test: Any, err: Any) -> None:
        self.errs.append((test.id(), formatError(err)))
        self._status(test, "[ERROR]")
        self._bad()

    def addSkip(self, test: Any, reason: Any) -> None:
        super().addSkip(test, str(reason))
        self.skips.append((test.id(), f"{reason}\n"))
        self._status(test, "[SKIPPED]")

    def addExpectedFailure(self, test: Any, err: Any, todo: Any = None) -> None:
        self.todos.append((test.id(), f"Reason: {_reason(todo)!r}\n{formatError(err)}"))
        self._status(test, "[TODO]")

    def addUnexpectedSuccess(self, test: Any, todo: Any = None) -> None:
        self.surprises.append((test.id(), f"Reason: {_reason(todo)!r}\n"))
        self._status(test, "[SUCCESS!?!]")

    def wasSuccessful(self) -> bool:
        return not (self.fails or self.errs)

    # -- the end --------------------------------------------------------------

    def summary(self) -> str:
        counts = [
            ("skips", len(self.skips)),
            ("expectedFailures", len(self.todos)),
            ("failures", len(self.fails)),
            ("errors", len(self.errs)),
            ("unexpectedSuccesses", len(self.surprises)),
            ("successes", self.successes),
        ]
        shown = ", ".join(f"{name}={n}" for name, n in counts if n)
        status = "PASSED" if self.wasSuccessful() else "FAILED"
        return f"{status} ({shown})" if shown else status

    def done(self) -> None:
        self._write("\n")
        for title, entries in (
            ("[SKIPPED]", self.skips),
            ("[TODO]", self.todos),
            ("[FAIL]", self.fails),
            ("[ERROR]", self.errs),
            ("[SUCCESS!?!]", self.surprises),
        ):
            groups: dict[str, list[str]] = {}
            for testId, text in entries:
                groups.setdefault(text, []).append(testId)
            for text, ids in groups.items():
                self._write("=" * _WIDTH + "\n" + title + "\n" + text + "\n")
                self._write("".join(i + "\n" for i in ids))
        self._write("-" * _WIDTH + "\n")
        self._write(f"Ran {self.testsRun} tests in {time.monotonic() - self._started:.3f}s\n\n")
        self._write(self.summary() + "\n")

    # -- replaying a worker's outcomes ------------------------------------------

    def replay(self, event: dict[str, Any]) -> None:
        test = TestRef(event["id"])
        kind = event["kind"]
        text = event.get("text", "")
        if kind == "start":
            self.startTest(test)
        elif kind == "stop":
            self.stopTest(test)  # type: ignore[arg-type]
        elif kind == "success":
            self.addSuccess(test)
        elif kind == "failure":
            self.addFailure(test, text)
        elif kind == "error":
            self.addError(test, text)
        elif kind == "skip":
            self.addSkip(test, text)
        elif kind == "todo":
            self.addExpectedFailure(test, text, _Reason(event.get("reason", "")))
        elif kind == "surprise":
            self.addUnexpectedSuccess(test, _Reason(event.get("reason", "")))


class _Reason:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _split(testId: str) -> list[str]:
    """``pkg.mod.Class.test`` -> ``["pkg.mod", "Class", "test"]`` (trial's tree levels)."""
    parts = testId.split(".")
    if len(parts) < 3:
        return parts
    return [".".join(parts[:-2]), parts[-2], parts[-1]]


class Recorder(unittest.TestResult):
    """Records outcomes as events (``send(event)``) for a parent process to replay."""

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self.send = send

    def _event(self, kind: str, test: Any, **extra: Any) -> None:
        self.send({"kind": kind, "id": test.id(), **extra})

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._event("start", test)

    def stopTest(self, test: Any) -> None:
        super().stopTest(test)
        self._event("stop", test)

    def addSuccess(self, test: Any) -> None:
        self._event("success", test)

    def addFailure(self, test: Any, err: Any) -> None:
        self.failures.append((test, ""))
        self._event("failure", test, text=formatError(err))

    def addError(self, test: Any, err: Any) -> None:
        self.errors.append((test, ""))
        self._event("error", test, text=formatError(err))

    def addSkip(self, test: Any, reason: Any) -> None:
        self._event("skip", test, text=str(reason))

    def addExpectedFailure(self, test: Any, err: Any, todo: Any = None) -> None:
        self._event("todo", test, text=formatError(err), reason=_reason(todo))

    def addUnexpectedSuccess(self, test: Any, todo: Any = None) -> None:
        self._event("surprise", test, reason=_reason(todo))
