"""Objects dressed as others, for ``torsion.protocol``.

``FileWrapper``: a file object dressed as a transport, for debugging
protocols.  ``ProtocolToConsumerAdapter`` and ``ConsumerToProtocolAdapter``:
a protocol as a consumer (what is written to it is received) and a consumer
as a protocol (what is received is written to it), as Twisted's adapters of
the same names (which zope registers; here they are plain wrappers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torsion import _log

__all__ = ["ConsumerToProtocolAdapter", "FileWrapper", "ProtocolToConsumerAdapter"]


class FileWrapper:
    """A transport that writes to ``file``; ``loseConnection()`` closes the file.

    Nothing is read from the file.  An error raised by the file's ``write``
    or ``close`` goes to ``handleException()``, which logs it (Twisted's does
    nothing); override it to handle such errors otherwise.
    """

    closed = 0
    disconnecting = 0
    producer: Any = None
    streamingProducer: bool = False

    def __init__(self, file: Any) -> None:
        self.file = file

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except Exception:
            self.handleException()

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        self.write(b"".join(iovec))

    def loseConnection(self) -> None:
        self.closed = 1
        try:
            self.file.close()
        except OSError:
            self.handleException()

    def getPeer(self) -> tuple[str, str]:
        return ("file", "file")

    def getHost(self) -> str:
        return "file"

    def handleException(self) -> None:
        """Called inside ``except`` when the file raised; logs the error."""
        _log.log_failure(f"Unhandled error in FileWrapper of {self.file!r}:")

    # As a consumer: a pull producer is asked for data once, at registration.

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer
        self.streamingProducer = streaming
        if not streaming:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        self.producer = None

    def stopConsuming(self) -> None:
        self.unregisterProducer()
        self.loseConnection()

    # As a producer: nothing to pause; stopping closes the file.

    def resumeProducing(self) -> None:
        pass

    def pauseProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self.loseConnection()


class ProtocolToConsumerAdapter:
    """A consumer that hands what is written to it to ``original.dataReceived``."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def write(self, data: bytes) -> None:
        self.original.dataReceived(data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        pass

    def unregisterProducer(self) -> None:
        pass


class ConsumerToProtocolAdapter:
    """A protocol that writes what it receives to the consumer ``original``."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def dataReceived(self, data: bytes) -> None:
        self.original.write(data)

    def connectionLost(self, reason: Any) -> None:
        pass

    def makeConnection(self, transport: Any) -> None:
        pass

    def connectionMade(self) -> None:
        pass
