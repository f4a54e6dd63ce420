"""A client that reconnects, with back-off, until it has connected TIMES times.

python examples/reconnecting_client.py HOST PORT [TIMES]

Start it before the server to see it retry.  Each connection sends a line,
prints the answer and hangs up; ReconnectingClientFactory reconnects after a
growing delay, and starts over at the initial delay once a connection is made.
"""

import sys
from typing import Any

from torsion import reactor
from torsion.protocol import Protocol, ReconnectingClientFactory


class Greeter(Protocol):
    factory: "GreeterFactory"

    def connectionMade(self) -> None:
        self.factory.resetDelay()
        self.factory.connections += 1
        self.transport.write(f"hello #{self.factory.connections}\n".encode())

    def dataReceived(self, data: bytes) -> None:
        print(f"got {data.decode().strip()}", flush=True)
        self.transport.loseConnection()


class GreeterFactory(ReconnectingClientFactory):
    protocol = Greeter
    initialDelay = 0.1
    maxDelay = 2.0

    def __init__(self, times: int) -> None:
        self.times = times
        self.connections = 0

    def clientConnectionLost(self, connector: Any, reason: Any) -> None:
        if self.connections >= self.times:
            self.stopTrying()
            reactor.stop()
            return
        super().clientConnectionLost(connector, reason)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        print(f"connection failed ({reason.getErrorMessage()}); retrying", flush=True)
        super().clientConnectionFailed(connector, reason)


def main(host: str, port: str, times: str = "3") -> None:
    reactor.connectTCP(host, int(port), GreeterFactory(int(times)))
    reactor.run()


if __name__ == "__main__":
    main(*sys.argv[1:])
