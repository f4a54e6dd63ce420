"""One loop, two styles: a Twisted-style server and an asyncio server side by side.

    python examples/aio_one_loop.py

torsion's loop is an asyncio event loop *and* a reactor: ``listenTCP`` and
``asyncio.start_server`` serve from the same loop, and an asyncio client
talks to both.  Prints what each server answered, then exits.
"""

from __future__ import annotations

import asyncio

import torsion.aio
from torsion.protocol import Factory, Protocol


class Echo(Protocol):
    """Twisted's idiom: dataReceived -> transport.write."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


async def shout(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """asyncio's idiom: a stream handler."""
    line = await reader.readline()
    writer.write(line.upper())
    await writer.drain()
    writer.close()


async def ask(port: int, text: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(text + b"\n")
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer.strip()


async def main() -> None:
    reactor = asyncio.get_running_loop()  # the same object is the reactor
    twistedPort = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")  # type: ignore[attr-defined]
    server = await asyncio.start_server(shout, "127.0.0.1", 0)
    print("twisted-style echo:", (await ask(twistedPort.getHost().port, b"hello")).decode())
    print("asyncio shouter:", (await ask(server.sockets[0].getsockname()[1], b"hello")).decode())
    await twistedPort.stopListening()  # a Deferred, awaited by an asyncio task
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    torsion.aio.run(main())
