"""An echo server: everything a client sends comes back.

python examples/echoserv.py [PORT]
"""

import sys

from torsion import reactor
from torsion.protocol import Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


def main(port: int = 8000) -> None:
    listening = reactor.listenTCP(port, Factory.forProtocol(Echo), interface="127.0.0.1")
    print(f"echo server on {listening.getHost().host}:{listening.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
