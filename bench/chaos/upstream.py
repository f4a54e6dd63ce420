"""The upstream behind a port forwarder: an asyncio echo server.

    python upstream.py echo|hold

``echo`` closes its side when the client half-closes (as most servers do);
``hold`` keeps echoing and never closes, whatever the client does.  Prints
``PORT <n>`` once it listens; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import signal
import sys


class Echo(asyncio.Protocol):
    hold = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]

    def eof_received(self) -> bool:
        return self.hold  # True: keep the connection open after the peer's EOF


async def main(mode: str) -> None:
    Echo.hold = mode == "hold"
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
