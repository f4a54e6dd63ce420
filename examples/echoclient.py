"""An echo client: send a message, print what comes back, exit.

python examples/echoclient.py [HOST] [PORT] [MESSAGE]

The connection is made through an endpoint and awaited in a coroutine;
``task.react`` runs the reactor until ``main`` is done.
"""

import sys
from typing import Any

from torsion import defer, task
from torsion.endpoints import TCP4ClientEndpoint, connectProtocol
from torsion.protocol import Protocol


class EchoClient(Protocol):
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.received = b""
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= self.expected:
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(self.received)


async def main(
    reactor: Any, host: str = "127.0.0.1", port: str = "8000", message: str = "hello"
) -> None:
    payload = message.encode()
    endpoint = TCP4ClientEndpoint(reactor, host, int(port))
    client = await connectProtocol(endpoint, EchoClient(len(payload)))
    client.transport.write(payload)
    print((await client.done).decode())


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
