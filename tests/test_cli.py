"""The ``torsion`` command, run as a user runs it: a subprocess on loopback.

Each server listens on port 0; the test reads the port from the "listening
on" log line, so nothing waits on a timer and no port can be taken meanwhile.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _programs import ADDRESS, Program, environment
from torsion import reactors


def torsion(*args: str, extraPath: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "torsion", *args],
        capture_output=True,
        text=True,
        env=environment(extra=extraPath),
        timeout=30,
    )


@pytest.fixture
def servers() -> Iterator[list[Program]]:
    started: list[Program] = []
    yield started
    for server in started:
        server.kill()


def start(servers: list[Program], *args: str, extraPath: str | None = None) -> Program:
    """``torsion ARGS``, once it has logged each address it listens on."""
    server = Program(
        "-m", "torsion", *args, extra=extraPath, listening=max(1, args.count("--listen"))
    )
    servers.append(server)
    return server


LOCAL = "tcp:0:interface=127.0.0.1"


def recvExactly(sock: socket.socket, count: int) -> bytes:
    chunks = []
    while count:
        chunk = sock.recv(min(count, 1 << 20))
        assert chunk, "connection closed early"
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def exchange(port: int, payload: bytes) -> bytes:
    """Send ``payload`` (from a thread) while reading as much back."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        sender = threading.Thread(target=s.sendall, args=(payload,))
        sender.start()
        try:
            return recvExactly(s, len(payload))
        finally:
            sender.join()


# ------------------------------------------------------------ commands


def test_list() -> None:
    result = torsion("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names[:6] == ["echo", "discard", "chargen", "daytime", "portforward", "web"]
    assert all(len(line.split(None, 1)) == 2 for line in lines)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "--help"], ["list", "--help"], ["run", "web", "--help"]]
    + [["run", name, "--help"] for name in ("echo", "discard", "chargen", "daytime")]
    + [["run", "portforward", "--help"]],
)
def test_help_everywhere(args: list[str]) -> None:
    result = torsion(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: torsion")


def test_version() -> None:
    result = torsion("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("torsion ")


@pytest.mark.parametrize(
    ("args", "status", "problem"),
    [
        (
            ["run", "echo", "--listen", "tcp:abc"],
            2,
            "--listen: bad endpoint description 'tcp:abc'",
        ),
        (["run", "echo", "--listen", "nonsense"], 2, "unknown server endpoint type 'nonsense'"),
        (["run", "echo", "--listen", "tcp:80:interface=::1"], 2, "given both by position"),
        (["run", "echo", "--listen"], 2, "expected one argument"),
        (["run", "nope"], 2, "invalid choice: 'nope'"),
        ([], 2, "the following arguments are required"),
        (["run", "echo", "--reactor", "kqueue"], 2, "invalid choice: 'kqueue'"),
        (["run", "echo", "--grace", "soon"], 2, "'soon' is not a number of seconds"),
        (["run", "portforward"], 2, "the following arguments are required: --connect"),
        (["run", "portforward", "--connect", "nowhere"], 1, "--connect 'nowhere'"),
        (["run", "web", "--path", "/nonexistent/dir"], 1, "is not a folder"),
        (["run", "echo", "--log-file", "/nonexistent/dir/log"], 2, "--log-file: cannot open"),
    ],
)
def test_mistakes_take_one_line(args: list[str], status: int, problem: str) -> None:
    result = torsion(*args)
    assert result.returncode == status
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("torsion")
    assert problem in lines[0]


def test_port_in_use(servers: list[Program]) -> None:
    server = start(servers, "run", "echo", "--listen", LOCAL)
    result = torsion("run", "echo", "--listen", f"tcp:{server.port}:interface=127.0.0.1")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(
        f"torsion: error: cannot listen on tcp:{server.port}:interface=127.0.0.1: "
    )
    assert "Traceback" not in result.stderr
    assert server.finish(signal.SIGTERM)[0] == 0


# ------------------------------------------------------------ services


@pytest.mark.parametrize("backend", reactors.available())
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_echo_round_trip_and_signals(servers: list[Program], backend: str, sig: int) -> None:
    server = start(servers, "--reactor", backend, "run", "echo", "--listen", LOCAL)
    assert "echo listening on tcp:127.0.0.1:" in server.seen[-1]
    payload = os.urandom(200_000)
    assert exchange(server.port, payload) == payload
    status, _, log = server.finish(sig)
    assert status == 0, log
    assert "no longer accepting connections" in log
    assert "Traceback" not in log


def test_open_connections_are_closed_on_sigterm(servers: list[Program]) -> None:
    server = start(servers, "run", "echo", "--listen", LOCAL, "--grace", "5")
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        s.sendall(b"ping")
        assert recvExactly(s, 4) == b"ping"
        server.proc.send_signal(signal.SIGTERM)
        assert s.recv(100) == b""  # the server closed it, cleanly
    status, _, log = server.finish(signal.SIGTERM)
    assert status == 0, log
    assert "waiting up to 5s for 1 open connection(s)" in log


def _storm(server: Program, sig: int, count: int = 500, gap: float = 0.002) -> None:
    """Send ``sig`` every ``gap`` seconds until the process has exited (at most ``count``)."""
    for _ in range(count):
        try:
            server.proc.send_signal(sig)
        except ProcessLookupError:
            return
        if server.proc.poll() is not None:
            return
        time.sleep(gap)  # the storm's pace, not a synchronisation


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("openConnection", [False, True])
def test_a_signal_storm_still_exits_0(
    servers: list[Program], sig: int, openConnection: bool
) -> None:
    # Signals keep coming while the reactor shuts down and after run() has
    # returned: the second is logged and ignored, the third stops the grace
    # period, the rest change nothing, and the exit status stays 0.
    server = start(servers, "run", "echo", "--listen", LOCAL, "--grace", "30")
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        if openConnection:
            s.sendall(b"ping")
            assert recvExactly(s, 4) == b"ping"
        else:
            s.close()
        _storm(server, sig)
        status, _, log = server.finish()
    name = signal.Signals(sig).name
    assert status == 0, log
    assert "Traceback" not in log
    assert f"Received {name}, shutting down." in log
    if openConnection:  # else the stop is over before the second signal
        assert f"Received {name} again while shutting down: ignored" in log
        assert f"Received {name} a third time: shutting down without waiting." in log


def test_several_listen_addresses(servers: list[Program]) -> None:
    server = start(servers, "run", "discard", "--listen", LOCAL, "--listen", LOCAL)
    assert len(server.ports) == 2 and server.ports[0] != server.ports[1]
    for port in server.ports:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            s.sendall(b"gone")
    assert server.finish(signal.SIGTERM)[0] == 0


def test_chargen_and_daytime(servers: list[Program]) -> None:
    chargen = start(servers, "run", "chargen", "--listen", LOCAL)
    with socket.create_connection(("127.0.0.1", chargen.port), timeout=20) as s:
        assert recvExactly(s, 74).endswith(b"abcdefg\r\n")
    daytime = start(servers, "run", "daytime", "--listen", LOCAL)
    with socket.create_connection(("127.0.0.1", daytime.port), timeout=20) as s:
        assert s.makefile("rb").read().endswith(b"\r\n")
    assert chargen.finish(signal.SIGTERM)[0] == 0
    assert daytime.finish(signal.SIGTERM)[0] == 0


def test_portforward_relays_a_megabyte(servers: list[Program]) -> None:
    echo = start(servers, "run", "echo", "--listen", LOCAL)
    proxy = start(
        servers, "run", "portforward", "--listen", LOCAL, "--connect", f"127.0.0.1:{echo.port}"
    )
    payload = os.urandom(1024 * 1024)
    assert exchange(proxy.port, payload) == payload
    assert proxy.finish(signal.SIGTERM)[0] == 0
    assert echo.finish(signal.SIGTERM)[0] == 0


def test_json_logs_to_a_file(tmp_path: Path) -> None:
    logFile = tmp_path / "torsion.log"
    os.mkfifo(logFile)  # read as it is written: no polling
    command = ["--log-format", "json", "--log-file", str(logFile), "run", "echo"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "torsion", *command, "--log-level", "DEBUG", "--listen", LOCAL],
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        with open(logFile) as log:
            entries = []
            for line in log:
                entries.append(json.loads(line))
                if "listening on" in entries[-1]["message"]:
                    break
            listening = entries[-1]
            assert listening["level"] == "info"
            assert listening["logger"] == "torsion.cli"
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", listening["time"])
            port = int(ADDRESS.findall(listening["message"])[0])
            assert exchange(port, b"ping") == b"ping"  # the server is back in its loop
            proc.send_signal(signal.SIGTERM)
            rest = [json.loads(line) for line in log]
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert err == ""  # everything went to the file
        assert any("stopping" in e["message"] for e in rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_third_party_service_from_an_entry_point(servers: list[Program], tmp_path: Path) -> None:
    """A package declares a service in the torsion.services entry-point group."""
    (tmp_path / "hello_service.py").write_text(
        "from torsion.protocol import Factory, Protocol\n"
        "class Hello(Protocol):\n"
        "    def connectionMade(self):\n"
        "        self.transport.write(b'hello from a plugin\\r\\n')\n"
        "        self.transport.loseConnection()\n"
        "class HelloService:\n"
        "    summary = 'say hello, then close'\n"
        "    defaultListen = 'tcp:8123'\n"
        "    def addOptions(self, parser):\n"
        "        parser.add_argument('--shout', action='store_true')\n"
        "    def makeFactory(self, reactor, options):\n"
        "        return Factory.forProtocol(Hello)\n"
    )
    info = tmp_path / "hello_service-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-service\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[torsion.services]\nhello = hello_service:HelloService\nbroken = hello_service:Missing\n"
    )
    listed = torsion("list", extraPath=str(tmp_path))
    assert listed.returncode == 0
    assert "hello        say hello, then close" in listed.stdout
    assert "broken" in listed.stdout and "failed to load" in listed.stdout
    server = start(servers, "run", "hello", "--shout", "--listen", LOCAL, extraPath=str(tmp_path))
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        assert s.makefile("rb").read() == b"hello from a plugin\r\n"
    assert server.finish(signal.SIGTERM)[0] == 0
    broken = torsion("run", "broken", extraPath=str(tmp_path))
    assert broken.returncode == 1
    assert "failed to load" in broken.stderr and len(broken.stderr.splitlines()) == 1


# ------------------------------------------------------------------ web


@pytest.fixture
def webRoot(tmp_path: Path) -> Path:
    pytest.importorskip("h11")
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.txt").write_text("hello from torsion\n")
    (root / "blob.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB, streamed
    (root / "docs").mkdir()
    (root / "docs" / "a <b>.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    return root


def rawRequest(port: int, target: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return s.makefile("rb").read()


def test_web(servers: list[Program], webRoot: Path) -> None:
    server = start(servers, "run", "web", "--path", str(webRoot), "--listen", LOCAL)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)

    def fetch(method: str, path: str, **headers: str) -> tuple[Any, bytes]:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response, response.read()

    # A text file, then a binary one, on one keep-alive connection.
    response, body = fetch("GET", "/index.txt")
    assert (response.status, body) == (200, b"hello from torsion\n")
    assert response.getheader("Content-Type") == "text/plain"
    assert response.getheader("Server").startswith("torsion/")
    sock = conn.sock
    response, body = fetch("GET", "/blob.bin")
    assert body == (webRoot / "blob.bin").read_bytes()
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert conn.sock is sock  # the same connection: keep-alive
    # A range.
    response, body = fetch("GET", "/blob.bin", Range="bytes=256-511")
    assert (response.status, body) == (206, bytes(range(256)))
    assert response.getheader("Content-Range") == "bytes 256-511/1048576"
    response, body = fetch("GET", "/blob.bin", Range="bytes=2000000-")
    assert response.status == 416
    # HEAD.
    response, body = fetch("HEAD", "/blob.bin")
    assert (response.status, body) == (200, b"")
    assert response.getheader("Content-Length") == "1048576"
    # 304.
    response, _ = fetch("GET", "/index.txt")
    stamp = response.getheader("Last-Modified")
    response, body = fetch("GET", "/index.txt", **{"If-Modified-Since": stamp})
    assert (response.status, body) == (304, b"")
    # 404 and a directory listing.
    response, body = fetch("GET", "/missing.txt")
    assert response.status == 404
    response, body = fetch("GET", "/docs")
    assert (response.status, response.getheader("Location")) == (301, "/docs/")
    response, body = fetch("GET", "/docs/")
    assert response.status == 200
    assert b'<a href="a%20%3Cb%3E.txt">a &lt;b&gt;.txt</a>' in body
    assert conn.sock is sock
    conn.close()
    # Traversal attempts never reach the file outside the root.
    for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/docs/..%2f..%2fsecret.txt"):
        answer = rawRequest(server.port, target)
        assert answer.startswith(b"HTTP/1.1 403 "), answer[:40]
        assert b"top secret" not in answer
    answer = rawRequest(server.port, "/leak.txt")
    assert answer.startswith(b"HTTP/1.1 404 ") and b"top secret" not in answer
    status, _, log = server.finish(signal.SIGTERM)
    assert status == 0, log


def test_web_sigterm_with_an_idle_keep_alive_connection(
    servers: list[Program], webRoot: Path
) -> None:
    server = start(servers, "run", "web", "--path", str(webRoot), "--listen", LOCAL)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    conn.request("GET", "/index.txt")
    assert conn.getresponse().read() == b"hello from torsion\n"
    status, _, log = server.finish(signal.SIGTERM)  # the idle connection is closed at once
    assert status == 0, log
    assert "still open" not in log
    conn.close()


def test_web_over_tls(servers: list[Program], webRoot: Path, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    import ssl

    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    listen = f"ssl:0:interface=127.0.0.1:privateKey={tmp_path / 'server.pem'}"
    server = start(servers, "run", "web", "--path", str(webRoot), "--listen", listen)
    assert "web listening on ssl:127.0.0.1:" in server.seen[-1]
    context = ssl.create_default_context()
    ca.configure_trust(context)
    conn = http.client.HTTPSConnection("localhost", server.port, timeout=20, context=context)
    conn.request("GET", "/index.txt")
    assert conn.getresponse().read() == b"hello from torsion\n"
    conn.close()
    assert server.finish(signal.SIGTERM)[0] == 0


def test_connections_that_do_not_finish_are_aborted_after_the_grace_period(
    servers: list[Program], webRoot: Path
) -> None:
    with open(webRoot / "huge.bin", "wb") as f:
        f.truncate(64 * 1024 * 1024)  # more than any socket buffer holds
    server = start(
        servers, "run", "web", "--path", str(webRoot), "--listen", LOCAL, "--grace", "0.5"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        s.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(12) == b"HTTP/1.1 200"  # the response has begun; we read no more
        status, _, log = server.finish(signal.SIGTERM)
    assert status == 0, log
    assert "1 connection(s) still open after 0.5s; closing them" in log


def test_run_function_async_main(tmp_path: Any) -> None:
    """``torsion run MODULE:FUNCTION ARGS``: ``async def main(reactor, *args)`` (task.react)."""
    (tmp_path / "amain.py").write_text(
        "import asyncio\n"
        "async def main(reactor, *args):\n"
        "    await asyncio.sleep(0.01)\n"
        "    assert asyncio.get_running_loop() is not None\n"
        "    print('ran', *args)\n"
        "async def fails(reactor):\n"
        "    raise SystemExit(3)\n"
    )
    for backend in ("epoll", "asyncio"):
        env = environment(extra=tmp_path)
        cmd = [sys.executable, "-m", "torsion", "--reactor", backend, "run"]
        proc = subprocess.run(
            [*cmd, "amain:main", "x", "y"], capture_output=True, text=True, env=env, timeout=60
        )
        assert (proc.returncode, proc.stdout) == (0, "ran x y\n"), proc.stderr
        proc = subprocess.run(
            [*cmd, "amain:fails"], capture_output=True, text=True, env=env, timeout=60
        )
        assert proc.returncode == 3, proc.stderr


def test_a_signal_caught_by_another_thread_still_wakes_the_loop(reactor: Any) -> None:
    """While ``torsion run`` serves, the reactor's waker is the wakeup descriptor.

    A signal's C handler may run in any thread, or in the main thread just
    before it blocks in ``poll``; either way only the wakeup descriptor gets
    the loop to run the Python handler.  Here a helper thread signals itself,
    so the main thread, asleep in ``poll``, is not interrupted.
    """
    from torsion.cli._runner import _signalsUntilExit

    if not sys.platform.startswith("linux"):
        pytest.skip("reads where the main thread sleeps from /proc")
    caught: list[int] = []

    def onSignal(number: int, frame: Any) -> None:
        caught.append(number)
        reactor.callFromThread(reactor.stop)

    wchan = Path(f"/proc/self/task/{threading.get_native_id()}/wchan")

    def signalItself() -> None:
        # Once the main thread sleeps in the kernel's poll (nothing else to
        # wait on: the state is the kernel's), a signal only this thread gets.
        deadline = time.monotonic() + 10
        while "poll" not in wchan.read_text() and time.monotonic() < deadline:
            time.sleep(0.001)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    helper = threading.Thread(target=signalItself)
    reactor.callWhenRunning(helper.start)
    failsafe = reactor.callLater(20, reactor.stop)  # a bound, not a synchronisation
    previous = signal.getsignal(signal.SIGUSR1)
    wakeupBefore = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeupBefore)
    try:
        with _signalsUntilExit(reactor, {signal.SIGUSR1: onSignal}):
            reactor.run(installSignalHandlers=False)
        assert signal.set_wakeup_fd(wakeupBefore) == wakeupBefore  # put back on exit
    finally:
        signal.signal(signal.SIGUSR1, previous)
        helper.join()
    assert caught == [signal.SIGUSR1]
    assert failsafe.active(), "the loop slept through the signal until the failsafe"
    failsafe.cancel()
