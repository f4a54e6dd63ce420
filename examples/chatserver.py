"""A chat server: each line a client sends goes to everyone else.

python examples/chatserver.py [PORT]       (then: telnet 127.0.0.1 PORT, twice)

A client first sends its name; then every line it sends is shown to the
others as ``<name> line``.  The factory holds the state all connections share.
"""

import sys
from typing import Any

from torsion import reactor
from torsion.protocol import Factory
from torsion.protocols.basic import LineReceiver


class Chat(LineReceiver):
    delimiter = b"\n"

    def __init__(self, users: dict[str, "Chat"]) -> None:
        self.users = users
        self.name: str | None = None

    def connectionMade(self) -> None:
        self.sendLine(b"What is your name?")

    def lineReceived(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").strip()
        if self.name is not None:
            self.broadcast(f"<{self.name}> {text}")
        elif not text or text in self.users:
            self.sendLine(b"That name is taken (or empty); try another.")
        else:
            self.name = text
            self.users[text] = self
            self.sendLine(f"Welcome, {text}!".encode())
            self.broadcast(f"* {text} joined")

    def connectionLost(self, reason: Any = None) -> None:
        if self.name is not None:
            del self.users[self.name]
            self.broadcast(f"* {self.name} left")

    def broadcast(self, message: str) -> None:
        for user in self.users.values():
            if user is not self:
                user.sendLine(message.encode())


class ChatFactory(Factory):
    def __init__(self) -> None:
        self.users: dict[str, Chat] = {}

    def buildProtocol(self, addr: Any) -> Chat:
        return Chat(self.users)


def main(port: int = 8000) -> None:
    listening = reactor.listenTCP(port, ChatFactory(), interface="127.0.0.1")
    print(f"chat server on 127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
