"""TLS echo: a server that echoes over TLS, and a client that verifies it.

python examples/tls_echo.py server CERT KEY [PORT]
    Serve on 127.0.0.1:PORT (default 8443; 0 picks a free port).  CERT and KEY
    are PEM files (one file holding both works too).  Stops on SIGINT/SIGTERM.
python examples/tls_echo.py client HOST PORT CA [MESSAGE]
    Connect, check the server's certificate against the CA file and HOST,
    send MESSAGE, print the echo and exit.  A certificate that does not
    verify ends the client with an error saying why, before any data is sent.

To try it: ``python -m trustme`` writes a test CA (client.pem) and a
certificate for localhost (server.pem, server.key).
"""

import sys
from pathlib import Path
from typing import Any

from torsion import defer, task
from torsion.error import ConnectionDone
from torsion.protocol import ClientCreator, Factory, Protocol
from torsion.ssl import Certificate, PrivateCertificate, optionsForClientTLS


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class EchoClient(Protocol):
    def __init__(self, message: bytes) -> None:
        self.message = message
        self.received = b""
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        # Written now, sent once the handshake has verified the server.
        self.transport.write(self.message)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= len(self.message):
            self.transport.loseConnection()  # sends close_notify

    def connectionLost(self, reason: Any = None) -> None:
        if reason is not None and not reason.check(ConnectionDone):
            self.done.errback(reason)  # e.g. the certificate did not verify
        else:
            self.done.callback(self.received)


def serve(reactor: Any, cert: str, key: str, port: str = "8443") -> None:
    pem = Path(cert).read_bytes() + b"\n" + Path(key).read_bytes()
    options = PrivateCertificate.loadPEM(pem).options()
    listening = reactor.listenSSL(
        int(port), Factory.forProtocol(Echo), options, interface="127.0.0.1"
    )
    print(f"tls echo server on 127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()


async def client(reactor: Any, host: str, port: str, ca: str, message: str = "hello") -> None:
    trust = Certificate.loadPEM(Path(ca).read_bytes())
    creator = ClientCreator(reactor, EchoClient, message.encode())
    protocol = await creator.connectSSL(host, int(port), optionsForClientTLS(host, trust))
    print((await protocol.done).decode(), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "server":
        from torsion import reactor

        serve(reactor, *sys.argv[2:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        task.react(client, sys.argv[2:])
    else:
        sys.exit(__doc__)
