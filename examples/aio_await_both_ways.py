"""Awaiting across the two worlds, with nothing to convert.

    python examples/aio_await_both_ways.py

* an asyncio task awaits the Deferred of ``ClientCreator.connectTCP``;
* an ``inlineCallbacks`` function waits on ``asyncio.sleep`` (through a
  coroutine) and on an asyncio future;
* a Deferred-driven coroutine uses ``asyncio.timeout``, which needs a
  current task: it has one.

Runs under ``task.react`` with ``async def main(reactor)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from torsion import task
from torsion.defer import Deferred, inlineCallbacks
from torsion.protocol import ClientCreator, Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    def connectionMade(self) -> None:
        self.answer: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.answer.callback(data)


async def slowly(value: int) -> int:
    await asyncio.sleep(0.01)
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(10)
    except TimeoutError:
        pass
    return value * 2


@inlineCallbacks
def twistedStyle(reactor: Any) -> Any:
    doubled = yield Deferred.fromCoroutine(slowly(21))
    yield asyncio.ensure_future(asyncio.sleep(0.01))
    return doubled


async def main(reactor: Any) -> None:
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    client = await ClientCreator(reactor, Client).connectTCP("127.0.0.1", port.getHost().port)
    client.transport.write(b"ping")
    print("echoed:", (await client.answer).decode())
    print("inlineCallbacks result:", await twistedStyle(reactor))
    client.transport.loseConnection()
    await port.stopListening()


if __name__ == "__main__":
    task.react(main)
