"""The classic small TCP services: echo (RFC 862), discard (863), chargen (864), daytime (867).

Each keeps memory bounded against a peer that does not read: echo makes its
transport its own streaming producer, so reading stops while the echoed bytes
wait to be sent; chargen is a pull producer that writes the next block only
when the previous one has gone out.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from torsion.protocol import Factory, Protocol

__all__ = ["Chargen", "Daytime", "Discard", "Echo", "chargen", "daytime", "discard", "echo"]


class Echo(Protocol):
    """Sends back everything it receives."""

    def connectionMade(self) -> None:
        self.transport.registerProducer(self.transport, True)

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)

    def stopGracefully(self) -> None:
        """Send what is queued, then close."""
        self.transport.unregisterProducer()
        self.transport.loseConnection()


class Discard(Protocol):
    """Reads and ignores everything."""

    def dataReceived(self, data: bytes) -> None:
        pass


def _chargenCycle() -> bytes:
    """RFC 864's pattern: 72-character lines over the 95 printable ASCII characters,
    each line starting one character further on; 95 lines make a full cycle."""
    printable = bytes(range(32, 127))
    ring = printable * 2
    return b"".join(ring[i : i + 72] + b"\r\n" for i in range(len(printable)))


class Chargen(Protocol):
    """Sends the RFC 864 character pattern for as long as the client reads it."""

    block = _chargenCycle() * 9  # about 64 KiB, and still whole cycles

    def connectionMade(self) -> None:
        self.transport.registerProducer(self, False)

    def dataReceived(self, data: bytes) -> None:
        pass  # input is discarded

    def resumeProducing(self) -> None:
        self.transport.write(self.block)

    def pauseProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass

    def stopGracefully(self) -> None:
        self.transport.unregisterProducer()
        self.transport.loseConnection()


class Daytime(Protocol):
    """Sends the date and time (UTC, human-readable), then closes."""

    def connectionMade(self) -> None:
        self.transport.write(time.asctime(time.gmtime()).encode("ascii") + b"\r\n")
        self.transport.loseConnection()


class _SimpleService:
    """A service with no options of its own: one protocol class per connection."""

    def __init__(self, name: str, summary: str, defaultListen: str, protocol: type) -> None:
        self.name = name
        self.summary = summary
        self.defaultListen = defaultListen
        self.protocol = protocol

    def addOptions(self, parser: argparse.ArgumentParser) -> None:
        pass

    def makeFactory(self, reactor: Any, options: argparse.Namespace) -> Any:
        return Factory.forProtocol(self.protocol)


echo = _SimpleService("echo", "send back everything a client sends (RFC 862)", "tcp:8007", Echo)
discard = _SimpleService("discard", "read and ignore everything (RFC 863)", "tcp:8009", Discard)
chargen = _SimpleService(
    "chargen", "send characters for as long as the client reads (RFC 864)", "tcp:8019", Chargen
)
daytime = _SimpleService(
    "daytime", "send the current date and time, then close (RFC 867)", "tcp:8013", Daytime
)
