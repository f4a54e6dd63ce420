"""aiohttp's server and client on torsion's loop: real requests, TLS, streaming bodies.

Also mixed with Twisted-style code: an ``inlineCallbacks`` function makes an
aiohttp request on the reactor itself.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest

import torsion.aio
from torsion.defer import Deferred, inlineCallbacks

aiohttp = pytest.importorskip("aiohttp")
trustme = pytest.importorskip("trustme")
from aiohttp import web  # noqa: E402


def _app() -> Any:
    async def hello(request: Any) -> Any:
        return web.Response(text=f"hello {request.query.get('name', 'world')}")

    async def upload(request: Any) -> Any:
        total = 0
        async for chunk in request.content.iter_chunked(65536):
            total += len(chunk)
        return web.json_response({"received": total})

    async def stream(request: Any) -> Any:
        response = web.StreamResponse()
        await response.prepare(request)
        for i in range(50):
            await response.write(b"%d:" % i + b"x" * 4096 + b"\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_post("/upload", upload)
    app.router.add_get("/stream", stream)
    return app


async def _serve(sslContext: Any = None) -> tuple[Any, int]:
    runner = web.AppRunner(_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=sslContext)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, port


async def _exchange(base: str, connector: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}

    async def body() -> Any:
        for _ in range(64):
            yield b"y" * 16384

    async with aiohttp.ClientSession(connector=connector) as session:
        for i in range(20):  # several requests on kept-alive connections
            async with session.get(f"{base}/?name=n{i}") as r:
                out.setdefault("hello", []).append(await r.text())
        async with session.post(f"{base}/upload", data=body()) as r:
            out["upload"] = await r.json()
        async with session.get(f"{base}/stream") as r:
            lines = 0
            async for _line in r.content:
                lines += 1
            out["stream"] = lines
    return out


def _check(out: dict[str, Any]) -> None:
    assert out["hello"] == [f"hello n{i}" for i in range(20)]
    assert out["upload"] == {"received": 64 * 16384}
    assert out["stream"] == 50


def test_aiohttp_server_and_client() -> None:
    async def main() -> dict[str, Any]:
        runner, port = await _serve()
        try:
            return await _exchange(f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()

    _check(torsion.aio.run(main()))


def test_aiohttp_over_tls() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)

    async def main() -> dict[str, Any]:
        runner, port = await _serve(server)
        try:
            return await _exchange(f"https://127.0.0.1:{port}", aiohttp.TCPConnector(ssl=client))
        finally:
            await runner.cleanup()

    _check(torsion.aio.run(main()))


def test_inline_callbacks_makes_an_aiohttp_request(reactor: Any, run: Any) -> None:
    loop = reactor if hasattr(reactor, "run_forever") else reactor.loop

    async def request(port: int) -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/?name=ic") as r,
        ):
            return await r.text()  # type: ignore[no-any-return]

    @inlineCallbacks
    def main() -> Any:
        runner, port = yield Deferred.fromCoroutine(_serve())
        try:
            text = yield Deferred.fromCoroutine(request(port))
        finally:
            yield Deferred.fromCoroutine(runner.cleanup())
        return text

    def start() -> Any:
        return main()

    d: Deferred[Any] = Deferred()
    loop.call_soon(lambda: start().chainDeferred(d))
    assert run(d) == "hello ic"
