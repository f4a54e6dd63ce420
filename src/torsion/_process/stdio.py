"""A transport on this process's own stdin and stdout (Twisted's ``stdio``).

``StandardIO(protocol)`` connects a stream protocol to descriptors 0 and 1 (or
those given): what arrives on stdin is ``dataReceived``, ``write`` goes to
stdout through a write queue with producer support.

The two halves close separately.  At EOF on stdin, a half-closeable protocol
(one with ``readConnectionLost``) is told and may keep writing; any other
protocol's transport is closed as by ``loseConnection``: queued output is
written first (Twisted drops it), then ``connectionLost``.  ``loseConnection``
stops reading and closes once the output is flushed.  A reader of our stdout
going away closes the transport too (or, for a half-closeable protocol, calls
``writeConnectionLost``).

The descriptors are borrowed, not owned: they are made non-blocking while in
use and put back in blocking mode, never closed, when the transport ends.  A
regular file or ``/dev/null``, which epoll cannot watch, works too.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from torsion import _log, error
from torsion._global import globalReactor
from torsion._process.addresses import PipeAddress
from torsion._process.pipes import PipeReader, PipeWriter
from torsion.failure import Failure

__all__ = ["StandardIO"]

_READ = "read"
_WRITE = "write"


def _isWriteOnlyPipe(fd: int) -> bool:
    import fcntl

    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        return False
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY


class StandardIO:
    """Connect ``proto`` to ``stdin`` and ``stdout`` (descriptor numbers)."""

    disconnected = False
    disconnecting = False

    def __init__(self, proto: Any, stdin: int = 0, stdout: int = 1, reactor: Any = None) -> None:
        if reactor is None:
            reactor = globalReactor()
        self.reactor = reactor
        self.protocol = proto
        self._writer: PipeWriter | None = PipeWriter(
            reactor, self, _WRITE, stdout, owned=False, readHack=_isWriteOnlyPipe(stdout)
        )
        self._reader: PipeReader | None = PipeReader(reactor, self, _READ, stdin, owned=False)
        self._reader.startReading()
        self.protocol.makeConnection(self)

    def __repr__(self) -> str:
        return f"<StandardIO protocol={type(self.protocol).__name__}>"

    # -- ITransport -----------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)

    def writeSequence(self, data: Any) -> None:
        if self._writer is not None:
            self._writer.writeSequence(data)

    def loseWriteConnection(self) -> None:
        """Flush and stop writing; keep reading (there is no EOF to send on a shared stdout)."""
        if self._writer is not None:
            self._writer.loseConnection()

    def loseConnection(self) -> None:
        """Stop reading; close once everything written has been flushed."""
        self.disconnecting = True
        if self._reader is not None:
            self._reader.stopReading()
        if self._writer is not None:
            self._writer.loseConnection()
        else:
            self.connectionLost(Failure(error.ConnectionDone()))

    def getPeer(self) -> PipeAddress:
        return PipeAddress()

    def getHost(self) -> PipeAddress:
        return PipeAddress()

    # -- from the pipes -------------------------------------------------------

    def childDataReceived(self, fd: str, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def childConnectionLost(self, fd: str, reason: Failure) -> None:
        if self.disconnected:
            return
        if fd == _READ:
            self._reader = None
            readConnectionLost = getattr(self.protocol, "readConnectionLost", None)
            if readConnectionLost is None:
                self.loseConnection()
            else:
                self._halfClosed(readConnectionLost)
        else:
            self._writer = None
            writeConnectionLost = getattr(self.protocol, "writeConnectionLost", None)
            if self.disconnecting or writeConnectionLost is None:
                self.connectionLost(reason)
            else:
                self._halfClosed(writeConnectionLost)

    def _halfClosed(self, callback: Any) -> None:
        try:
            callback()
        except Exception as e:
            _log.log_failure(f"Error in half-close callback of {self.protocol!r}:", e)
            self.connectionLost(Failure(e))
            return
        if self._reader is None and self._writer is None:
            self.connectionLost(Failure(error.ConnectionDone()))

    def connectionLost(self, reason: Failure) -> None:
        """Close both halves now and tell the protocol (once)."""
        if self.disconnected:
            return
        self.disconnected = True
        reader, writer, self._reader, self._writer = self._reader, self._writer, None, None
        if writer is not None and not writer.disconnected:
            writer.connectionLost(reason)
        if reader is not None and not reader.disconnected:
            reader.connectionLost(reason)
        try:
            self.protocol.connectionLost(reason)
        except Exception as e:
            _log.log_failure(f"Error in connectionLost of {self.protocol!r}:", e)

    # -- IConsumer / IProducer ------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self._writer is None:
            producer.stopProducing()
        else:
            self._writer.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        if self._writer is not None:
            self._writer.unregisterProducer()

    def stopProducing(self) -> None:
        self.loseConnection()

    def pauseProducing(self) -> None:
        if self._reader is not None:
            self._reader.stopReading()

    def resumeProducing(self) -> None:
        if self._reader is not None and not self.disconnecting:
            self._reader.startReading()

    stopReading = pauseProducing
    startReading = resumeProducing
