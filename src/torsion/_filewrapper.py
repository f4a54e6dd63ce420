"""``protocol.FileWrapper``: a file object dressed as a transport, for debugging protocols."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torsion import _log

__all__ = ["FileWrapper"]


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
