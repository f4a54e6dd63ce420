"""STARTTLS: a line protocol that upgrades its plain TCP connection to TLS.

python examples/starttls.py server CERT KEY [PORT]
    Serve on 127.0.0.1:PORT (default 8025; 0 picks a free port).  Stops on
    SIGINT/SIGTERM.
python examples/starttls.py client HOST PORT CA [MESSAGE]
    Connect in the clear, say STARTTLS, and once the server answers READY
    start TLS on the same connection (verifying the server against the CA
    file and HOST); then send MESSAGE, now encrypted, and print the answer.

``transport.startTLS(options)`` does the upgrade on both sides: what was
written before it goes out in the clear, everything after is encrypted.
"""

import sys
from pathlib import Path
from typing import Any

from torsion import defer, task
from torsion.protocol import ClientCreator, Factory
from torsion.protocols.basic import LineReceiver
from torsion.ssl import Certificate, PrivateCertificate, optionsForClientTLS


class StartTLSServer(LineReceiver):
    secure = False

    def connectionMade(self) -> None:
        self.sendLine(b"HELLO say STARTTLS")

    def lineReceived(self, line: bytes) -> None:
        if self.secure:
            self.sendLine(b"SECURE " + line)
        elif line == b"STARTTLS":
            self.sendLine(b"READY")  # the last plain-text line
            self.transport.startTLS(self.factory.options)
            self.secure = True
        else:
            self.sendLine(b"ERROR say STARTTLS first")


class StartTLSClient(LineReceiver):
    def __init__(self, options: Any, message: bytes) -> None:
        self.options = options
        self.message = message
        self.answer: defer.Deferred[bytes] = defer.Deferred()

    def lineReceived(self, line: bytes) -> None:
        if line.startswith(b"HELLO"):
            self.sendLine(b"STARTTLS")
        elif line == b"READY":
            self.transport.startTLS(self.options)
            self.sendLine(self.message)  # held until the handshake has verified the server
        elif line.startswith(b"SECURE "):
            self.answer.callback(line)
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        if not self.answer.called:
            self.answer.errback(reason)


def serve(reactor: Any, cert: str, key: str, port: str = "8025") -> None:
    pem = Path(cert).read_bytes() + b"\n" + Path(key).read_bytes()
    factory = Factory.forProtocol(StartTLSServer)
    factory.options = PrivateCertificate.loadPEM(pem).options()
    listening = reactor.listenTCP(int(port), factory, interface="127.0.0.1")
    print(f"starttls server on 127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()


async def client(reactor: Any, host: str, port: str, ca: str, message: str = "hello") -> None:
    options = optionsForClientTLS(host, Certificate.loadPEM(Path(ca).read_bytes()))
    creator = ClientCreator(reactor, StartTLSClient, options, message.encode())
    protocol = await creator.connectTCP(host, int(port))
    answer = await protocol.answer
    print(answer.decode(), flush=True)
    print(f"(over {protocol.transport.getHandle().version()}, server verified)", flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "server":
        from torsion import reactor

        serve(reactor, *sys.argv[2:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        task.react(client, sys.argv[2:])
    else:
        sys.exit(__doc__)
