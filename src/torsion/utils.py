"""Run a program and get its output or exit code as a Deferred (Twisted's ``utils``).

Each helper spawns ``executable`` with argv ``(executable, *args)`` (so
``args`` does not repeat the program name) and environment ``env`` (``{}``:
empty, as in Twisted; ``None``: this process's).  A missing executable or bad
argument raises at the call, as ``spawnProcess`` does.
"""

from __future__ import annotations

from typing import Any

from torsion import defer, error
from torsion._global import globalReactor
from torsion.failure import Failure
from torsion.protocol import ProcessProtocol

__all__ = ["getProcessOutput", "getProcessOutputAndValue", "getProcessValue"]


def _spawn(
    protocolClass: Any,
    executable: Any,
    args: Any,
    env: Any,
    path: Any,
    reactor: Any,
    *protocolArgs: Any,
) -> defer.Deferred[Any]:
    if reactor is None:
        reactor = globalReactor()
    if isinstance(args, (str, bytes)):
        raise TypeError(
            f"args must be a sequence of str or bytes, not a single {type(args).__name__}"
        )
    d: defer.Deferred[Any] = defer.Deferred()
    p = protocolClass(d, *protocolArgs)
    reactor.spawnProcess(p, executable, (executable, *tuple(args)), env, path)
    return d


class _UnexpectedErrorOutput(IOError):
    """The program wrote on stderr; ``processEnded`` fires (errback) when it has ended."""

    def __init__(self, text: bytes, processEnded: defer.Deferred[Any]) -> None:
        super().__init__(f"got stderr: {text!r}")
        self.processEnded = processEnded


class _BackRelay(ProcessProtocol):
    """Collects stdout (and stderr with ``errortoo``) for getProcessOutput."""

    def __init__(self, deferred: defer.Deferred[bytes], errortoo: bool = False) -> None:
        self.deferred: defer.Deferred[bytes] | None = deferred
        self.onProcessEnded: defer.Deferred[Any] | None = None
        self.chunks: list[bytes] = []
        self.errortoo = errortoo

    def outReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def errReceived(self, data: bytes) -> None:
        if self.errortoo:
            self.chunks.append(data)
            return
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            self.onProcessEnded = defer.Deferred()
            d.errback(Failure(_UnexpectedErrorOutput(data, self.onProcessEnded)))
            self.transport.loseConnection()

    def processEnded(self, reason: Failure) -> None:
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(b"".join(self.chunks))
        elif self.onProcessEnded is not None:
            self.onProcessEnded.errback(reason)


def getProcessOutput(
    executable: Any,
    args: Any = (),
    env: dict[Any, Any] | None = {},  # noqa: B006 - Twisted's default: an empty environment
    path: Any = None,
    reactor: Any = None,
    errortoo: bool = False,
) -> defer.Deferred[bytes]:
    """Fire with everything the program wrote on stdout (whatever its exit code).

    With ``errortoo`` stderr is mixed in; without, the first byte on stderr
    errbacks with an ``IOError`` whose ``processEnded`` Deferred errbacks with
    the process's end reason once it has ended (its stdio is closed at once).
    """
    return _spawn(_BackRelay, executable, args, env, path, reactor, errortoo)


class _ValueGetter(ProcessProtocol):
    def __init__(self, deferred: defer.Deferred[int | None]) -> None:
        self.deferred = deferred

    def processEnded(self, reason: Failure) -> None:
        self.deferred.callback(reason.value.exitCode)  # type: ignore[attr-defined]


def getProcessValue(
    executable: Any,
    args: Any = (),
    env: dict[Any, Any] | None = {},  # noqa: B006 - Twisted's default: an empty environment
    path: Any = None,
    reactor: Any = None,
) -> defer.Deferred[int | None]:
    """Fire with the program's exit code (None if a signal killed it)."""
    return _spawn(_ValueGetter, executable, args, env, path, reactor)


class ProcessKilled(Exception):
    """getProcessOutputAndValue's errback when a signal killed the program.

    It holds ``(out, err, signal)`` and unpacks, indexes and compares like
    that tuple (Twisted errbacks with the bare tuple, which a torsion Failure
    cannot carry).
    """

    def __init__(self, out: bytes, err: bytes, signal: int) -> None:
        super().__init__(out, err, signal)
        self.out = out
        self.err = err
        self.signal = signal

    def __iter__(self) -> Any:
        return iter(self.args)

    def __len__(self) -> int:
        return len(self.args)

    def __getitem__(self, index: Any) -> Any:
        return self.args[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProcessKilled):
            return self.args == other.args
        if isinstance(other, tuple):
            return self.args == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.args)

    def __str__(self) -> str:
        return (
            f"process killed by signal {self.signal} "
            f"(stdout {self.out!r:.60}, stderr {self.err!r:.60})"
        )


class _EverythingGetter(ProcessProtocol):
    def __init__(self, deferred: defer.Deferred[tuple[bytes, bytes, int | None]]) -> None:
        self.deferred = deferred
        self.out: list[bytes] = []
        self.err: list[bytes] = []

    def outReceived(self, data: bytes) -> None:
        self.out.append(data)

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)

    def processEnded(self, reason: Failure) -> None:
        out, err = b"".join(self.out), b"".join(self.err)
        value = reason.value
        code = getattr(value, "exitCode", None)
        if reason.check(error.ProcessTerminated) and value.signal:  # type: ignore[attr-defined]
            self.deferred.errback(Failure(ProcessKilled(out, err, value.signal)))  # type: ignore[attr-defined]
            return
        self.deferred.callback((out, err, code))


def getProcessOutputAndValue(
    executable: Any,
    args: Any = (),
    env: dict[Any, Any] | None = {},  # noqa: B006 - Twisted's default: an empty environment
    path: Any = None,
    reactor: Any = None,
) -> defer.Deferred[tuple[bytes, bytes, int | None]]:
    """Fire with ``(stdout, stderr, exitCode)``.

    If a signal killed the program, errback instead with ``(stdout, stderr,
    signal)`` (a ``ProcessKilled``, which unpacks like that tuple).
    """
    return _spawn(_EverythingGetter, executable, args, env, path, reactor)
