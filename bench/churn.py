"""Connection churn: connect, echo one message, close; connections per second.

Client and server are of the same system: the server is that system's echo
server (core 0), the client this script (core 1) keeping ``--concurrency``
connections in flight, each written the system's idiomatic way:

- torsion and Twisted (only the imports differ): a ``ClientFactory`` whose
  protocol writes on ``connectionMade`` and calls ``loseConnection()`` once the
  echo is back; ``clientConnectionLost`` starts the next ``connectTCP``;
- asyncio and uvloop: coroutines looping over ``loop.create_connection``.

    python bench/churn.py --client SYSTEM --port PORT [--seconds S] [--concurrency N]

prints one JSON line: {"connections": done, "seconds": elapsed, "failed": n}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

MESSAGE = b"x" * 64


def twisted_api_client(system: str, port: int, seconds: float, concurrency: int) -> dict[str, Any]:
    if system == "torsion":
        from torsion import reactor
        from torsion.protocol import ClientFactory, Protocol
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import reactor
        from twisted.internet.protocol import ClientFactory, Protocol

    class Once(Protocol):
        got = 0

        def connectionMade(self) -> None:
            self.transport.write(MESSAGE)

        def dataReceived(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= len(MESSAGE):
                self.transport.loseConnection()

        def connectionLost(self, reason: Any = None) -> None:
            if self.got >= len(MESSAGE):
                self.factory.done += 1

    class Churn(ClientFactory):
        protocol = Once
        done = failed = 0
        running = True

        def clientConnectionLost(self, connector: Any, reason: Any) -> None:
            if self.running:
                reactor.connectTCP("127.0.0.1", port, self)

        def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
            self.failed += 1
            self.clientConnectionLost(connector, reason)

    factory = Churn()
    result: dict[str, Any] = {}

    def finish() -> None:
        factory.running = False
        result.update(connections=factory.done, failed=factory.failed)
        result["seconds"] = time.perf_counter() - start
        reactor.stop()

    start = time.perf_counter()
    for _ in range(concurrency):
        reactor.connectTCP("127.0.0.1", port, factory)
    reactor.callLater(seconds, finish)
    reactor.run()
    return result


def asyncio_client(system: str, port: int, seconds: float, concurrency: int) -> dict[str, Any]:
    import asyncio

    class Once(asyncio.Protocol):
        def __init__(self, done: asyncio.Future[bool]) -> None:
            self.done = done
            self.got = 0

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            transport.write(MESSAGE)

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= len(MESSAGE):
                self.transport.close()

        def connection_lost(self, exc: BaseException | None) -> None:
            self.done.set_result(self.got >= len(MESSAGE))

    counts = {"connections": 0, "failed": 0}

    async def worker(deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            done = loop.create_future()
            try:
                await loop.create_connection(partial(Once, done), "127.0.0.1", port)
            except OSError:
                counts["failed"] += 1
                continue
            if await done:
                counts["connections"] += 1

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        await asyncio.gather(*(worker(loop.time() + seconds) for _ in range(concurrency)))
        return {**counts, "seconds": time.perf_counter() - start}

    if system == "uvloop":
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


def run_client(
    system: str, port: int, seconds: float, concurrency: int, torsion_src: Path | None = None
) -> dict[str, Any]:
    """Run the churn client of ``system`` (on the client core) against ``port``; its figures."""
    import common as c

    cmd = [
        *c.taskset(c.CLIENT_CPU),
        c.PYTHON,
        __file__,
        "--client",
        system,
        "--port",
        str(port),
        "--seconds",
        str(seconds),
        "--concurrency",
        str(concurrency),
    ]
    env = {**c.os.environ, **c.python_env(torsion_src)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    if proc.returncode:
        raise RuntimeError(f"churn client {system} failed: {proc.stderr}")
    r: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    r["cps"] = r["connections"] / r["seconds"]
    return r


def measure(
    system: str, seconds: float, concurrency: int, torsion_src: Path | None = None
) -> dict[str, Any]:
    import common as c

    with c.echo_server(system, torsion_src) as server:
        c.warm_up(server.port, len(MESSAGE))
        user0, sys0 = c.cpu_times(server.pid)
        r = run_client(system, server.port, seconds, concurrency, torsion_src)
        user1, sys1 = c.cpu_times(server.pid)
        # The server's CPU time per connection (user + system), whoever the bottleneck.
        r["server_cpu_us"] = (user1 - user0 + sys1 - sys0) / max(r["connections"], 1) * 1e6
        return r


def run(
    systems: list[str],
    rounds: int,
    seconds: float,
    concurrency: int,
    torsion_src: Path | None = None,
) -> dict[str, Any]:
    import common as c

    runs = []
    for rnd in range(rounds):
        for system in c.rotated(systems, rnd):
            r = measure(system, seconds, concurrency, torsion_src)
            c.log(
                f"  churn {system:8}: {r['cps']:>8.0f} connections/s ({r['failed']} failed),"
                f" server CPU {r['server_cpu_us']:.1f} us/connection"
            )
            runs.append({"system": system, "round": rnd, **r})
    return {"systems": systems, "concurrency": concurrency, "seconds": seconds, "runs": runs}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--client", choices=["torsion", "twisted", "asyncio", "uvloop"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=10)
    a = p.parse_args()
    if a.client in ("torsion", "twisted"):
        result = twisted_api_client(a.client, a.port, a.seconds, a.concurrency)
    else:
        result = asyncio_client(a.client, a.port, a.seconds, a.concurrency)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
