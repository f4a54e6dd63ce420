"""Endpoints over child processes and over our own stdin/stdout.

``ProcessEndpoint(...).connect(factory)`` spawns a child and speaks to it with
an ordinary stream protocol: the child's stdout is ``dataReceived``, writing
goes to its stdin, and the protocol's ``connectionLost`` comes with the
child's ``processEnded`` (``ConnectionDone`` for a clean exit).  What the
child writes on stderr is logged or dropped (``errFlag``).

``StandardIOEndpoint(reactor).listen(factory)`` gives the factory's protocol
this process's stdin and stdout (``torsion.stdio.StandardIO``).
``torsion.endpoints`` re-exports both classes.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING, Any

from torsion import defer, error
from torsion._process.addresses import PipeAddress, ProcessAddress
from torsion.failure import Failure
from torsion.protocol import ProcessProtocol

if TYPE_CHECKING:
    from torsion.defer import Deferred

__all__ = [
    "ProcessEndpoint",
    "StandardErrorBehavior",
    "StandardIOEndpoint",
]

_logger = logging.getLogger("torsion.process")


class StandardErrorBehavior(enum.Enum):
    """What ProcessEndpoint does with the child's stderr."""

    LOG = "log"
    DROP = "drop"


class _ProcessEndpointTransport:
    """The stream transport a ProcessEndpoint protocol sees: the process, by delegation."""

    def __init__(self, process: Any) -> None:
        self._process = process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._process, name)

    def __repr__(self) -> str:
        return f"<ProcessEndpoint transport for {self._process!r}>"


class _WrapIProtocol(ProcessProtocol):
    """A process protocol driving a stream protocol."""

    def __init__(self, proto: Any, executable: Any, errFlag: StandardErrorBehavior) -> None:
        self.protocol = proto
        self.executable = executable
        self.errFlag = errFlag

    def makeConnection(self, transport: Any) -> None:
        self.transport = _ProcessEndpointTransport(transport)
        self.protocol.makeConnection(self.transport)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 1:
            self.protocol.dataReceived(data)
        elif childFD == 2 and self.errFlag == StandardErrorBehavior.LOG:
            _logger.warning(
                "Process %r wrote on stderr, unhandled by %r: %r",
                self.executable,
                self.protocol,
                data,
            )

    def processEnded(self, reason: Failure) -> None:
        if reason.check(error.ProcessDone) and reason.value.status == 0:  # type: ignore[attr-defined]
            self.protocol.connectionLost(Failure(error.ConnectionDone()))
        else:
            self.protocol.connectionLost(reason)


class ProcessEndpoint:
    """A client endpoint that runs a child process (arguments as ``spawnProcess``)."""

    def __init__(
        self,
        reactor: Any,
        executable: Any,
        args: Any = (),
        env: dict[Any, Any] | None = {},  # noqa: B006 - Twisted's default: an empty environment
        path: Any = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: Any = 0,
        childFDs: dict[int, Any] | None = None,
        errFlag: StandardErrorBehavior = StandardErrorBehavior.LOG,
    ) -> None:
        if not isinstance(errFlag, StandardErrorBehavior):
            raise TypeError(f"errFlag must be a StandardErrorBehavior, not {errFlag!r}")
        self._reactor = reactor
        self._executable = executable
        self._args = args
        self._env = env
        self._path = path
        self._uid = uid
        self._gid = gid
        self._usePTY = usePTY
        self._childFDs = childFDs
        self._errFlag = errFlag
        self._spawnProcess = reactor.spawnProcess

    def connect(self, protocolFactory: Any) -> Deferred[Any]:
        """Spawn the child for a protocol built by ``protocolFactory``; fires with it."""
        try:
            proto = protocolFactory.buildProtocol(ProcessAddress())
            self._spawnProcess(
                _WrapIProtocol(proto, self._executable, self._errFlag),
                self._executable,
                self._args,
                self._env,
                self._path,
                self._uid,
                self._gid,
                self._usePTY,
                self._childFDs,
            )
        except Exception:
            return defer.fail()
        return defer.succeed(proto)


class StandardIOEndpoint:
    """A server endpoint on this process's stdin and stdout."""

    #: What makes the transport: ``torsion.stdio.StandardIO`` (tests replace it).
    _stdio: Any = None

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor

    def listen(self, stdioProtocolFactory: Any) -> Deferred[Any]:
        """Connect a protocol from ``stdioProtocolFactory``; fires with the StandardIO."""
        stdio = self._stdio
        if stdio is None:
            from torsion._process.stdio import StandardIO as stdio
        return defer.execute(
            stdio, stdioProtocolFactory.buildProtocol(PipeAddress()), reactor=self._reactor
        )
