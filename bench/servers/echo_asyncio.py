"""Echo server with asyncio protocols (or streams), on the standard loop, uvloop or torsion's.

The idiomatic fast asyncio echo: ``Protocol.data_received -> transport.write``
served by ``loop.create_server`` (with an ``SSLContext`` for TLS); with
``--api streams``, ``asyncio.start_server`` with a reader/writer loop.
"""

from __future__ import annotations

import asyncio
import signal

import _serve

args = _serve.parse(
    __doc__ or "", loop=["asyncio", "uvloop", "torsion"], api=["protocol", "streams"]
)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


async def echoStream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main() -> None:
    loop = asyncio.get_running_loop()
    ssl_context = None
    if args.tls:
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.tls)
    if args.api == "streams":
        server = await asyncio.start_server(
            echoStream, "127.0.0.1", args.port, backlog=args.backlog, ssl=ssl_context
        )
    else:
        server = await loop.create_server(
            Echo, "127.0.0.1", args.port, backlog=args.backlog, ssl=ssl_context
        )
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    _serve.ready(server.sockets[0].getsockname()[1])
    await stop
    server.close()


def run() -> None:
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(main())
    elif args.loop == "torsion":
        import torsion.aio

        torsion.aio.run(main())
    else:
        asyncio.run(main())


_serve.profiled(args.profile, run)
