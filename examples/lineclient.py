"""Send lines to a line-based server and print the answers (ClientCreator + LineReceiver).

python examples/lineclient.py HOST PORT LINE...

Exits once as many lines have come back as were sent (try it against
``torsion run echo``).
"""

import sys
from typing import Any

from torsion import defer, task
from torsion.protocol import ClientCreator
from torsion.protocols.basic import LineReceiver


class LineClient(LineReceiver):
    delimiter = b"\n"

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.answers: list[bytes] = []
        self.finished: defer.Deferred[list[bytes]] = defer.Deferred()

    def lineReceived(self, line: bytes) -> None:
        print(line.decode("utf-8", "replace"))
        self.answers.append(line)
        if len(self.answers) == self.expected:
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        self.finished.callback(self.answers)


async def main(reactor: Any, host: str, port: str, *lines: str) -> None:
    creator = ClientCreator(reactor, LineClient, len(lines))
    client = await creator.connectTCP(host, int(port), timeout=10)
    for line in lines:
        client.sendLine(line.encode())
    await client.finished


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
