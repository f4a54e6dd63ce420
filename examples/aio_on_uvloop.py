"""torsion on somebody else's asyncio loop: here uvloop's.

    python examples/aio_on_uvloop.py      (needs uvloop; falls back to asyncio's loop)

``reactors.install("asyncio", loop=...)`` makes the global reactor run on an
existing asyncio loop (the same as ``TORSION_REACTOR=asyncio``).  Twisted-style
code is unchanged.
"""

from __future__ import annotations

import asyncio

from torsion import reactors

try:
    import uvloop

    loop = uvloop.new_event_loop()
except ImportError:
    loop = asyncio.new_event_loop()

reactors.install("asyncio", loop=loop)

from torsion import reactor  # noqa: E402  (the installed reactor)
from torsion.protocol import ClientCreator, Factory, Protocol  # noqa: E402


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"hello from " + type(loop).__module__.encode())

    def dataReceived(self, data: bytes) -> None:
        print("echoed:", data.decode())
        self.transport.loseConnection()
        port.stopListening()
        reactor.stop()


port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
ClientCreator(reactor, Client).connectTCP("127.0.0.1", port.getHost().port)
reactor.run()
loop.close()
