"""Twisted's own example programs, ported by their imports only, behave on
every torsion backend as they do on Twisted.

The programs come from the sdist of the installed Twisted (docs/core/examples
and docs/core/howto/listings), downloaded at test time into pytest's cache
(never committed; the tests skip when it cannot be downloaded).  Each one in
``SELECTED`` is run once as it is, under Twisted, and once per torsion backend
with its imports rewritten by the porting table of docs/porting.md
(``twisted_suite.rewrite``); a driver below talks to it the same way each
time (a client on 127.0.0.1 for servers, a local server for clients, stdin
for stdio programs) and returns what can be observed: its output (time
stamps, addresses, ports and directories normalized), its exit status and
the data exchanged.  The two observations must be equal.

The only other change to a program's text: a port number it hard-codes is
replaced by a free port (``ports=``), and one listing's LAN address by
127.0.0.1 (``connected_udp``).  ``EXCLUDED`` lists every other program of
the two directories, with the reason.  See docs/porting.md ("Twisted's
example programs").
"""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl as stdlib_ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _twisted_examples import (
    UVLOOP,
    Run,
    listener,
    reactorName,
    recvAll,
    recvUntil,
    sdistDocs,
    udpExchange,
)
from torsion import reactors
from twisted_suite import rewrite

pytestmark = pytest.mark.twisted_oracle

#: Every backend, and the asyncio backend on uvloop.
BACKENDS = [*reactors.available(), UVLOOP]

pytest.importorskip("twisted")

E = "examples/"
L = "howto/listings/"
Observed = dict[str, Any]


@dataclass(frozen=True)
class Example:
    drive: Callable[[Run], Observed]
    files: tuple[str, ...] = ()  # what else it needs, besides itself
    ports: tuple[int, ...] = ()  # hard-coded ports, replaced by free ones
    replace: tuple[tuple[str, str], ...] = ()  # other textual substitutions (documented)


# -- drivers: each returns what can be observed of one run ---------------------------


def _finished(run: Run, code: int, out: str, err: str, **more: Any) -> Observed:
    return {"status": code, "stdout": run.normalize(out), "stderr": run.normalize(err), **more}


def _complete(program: str, *args: str) -> Callable[[Run], Observed]:
    """A program that runs to its end by itself."""

    def drive(run: Run) -> Observed:
        return _finished(run, *run.complete(program, *args))

    return drive


def _echoServer(program: str, port: int) -> Callable[[Run], Observed]:
    """A TCP echo server: two connections, each sends a payload and reads it back."""

    def drive(run: Run) -> Observed:
        proc = run.start(program)
        echoed = []
        for payload in (b"hello\r\n", os.urandom(50_000)):
            with proc.connect(run.port[port]) as s:
                s.sendall(payload)
                echoed.append(recvUntil(s, payload[-8:]) == payload)
        return _finished(run, *proc.finish(signal.SIGTERM), echoed=echoed)

    return drive


def _echoPeer(s: socket.socket, last: bytes) -> bytes:
    """Be an echo server for a client that sends lines up to ``last``: read them
    all, answer them in one write, then echo what else comes until it closes."""
    got = recvUntil(s, last)
    s.sendall(got)
    while more := s.recv(65536):
        got += more
        s.sendall(more)
    return got


def _echoClient(program: str, port: int, last: bytes) -> Callable[[Run], Observed]:
    """A TCP client of an echo server, given one on 127.0.0.1."""

    def drive(run: Run) -> Observed:
        with listener(run.port[port]) as server:
            proc = run.start(program)
            conn = proc.accept(server)
            with conn:
                got = _echoPeer(conn, last)
        return _finished(run, *proc.finish(), received=got)

    return drive


def _lineServer(program: str, port: int, lines: list[bytes], answers: int):
    """A line server: send each line, read ``answers`` lines back."""

    def drive(run: Run) -> Observed:
        proc = run.start(program)
        with proc.connect(run.port[port]) as s:
            s.sendall(b"".join(lines))
            got = recvUntil(s, b"\r\n")
            while got.count(b"\r\n") < answers:
                got += recvUntil(s, b"\r\n")
        return _finished(run, *proc.finish(signal.SIGTERM), answers=got)

    return drive


def _udpEcho(program: str, port: int, host: str = "127.0.0.1", printed: bool = False):
    """A UDP echo server (``printed``: it prints each datagram it gets)."""

    def drive(run: Run) -> Observed:
        proc = run.start(program)
        datagrams = [b"one", b"two", b"three"]
        answers, local = udpExchange(run.port[port], datagrams, host)
        run.alias(local, "CLIENT")
        if printed:
            proc.expect("three")
        return _finished(run, *proc.finish(signal.SIGTERM), answers=answers[-2:])

    return drive


def _udpEchoClient(run: Run) -> Observed:
    with listener(run.port[8000], socket.SOCK_DGRAM) as server:
        proc = run.start(E + "echoclient_udp.py")
        got = []
        for _ in range(3):
            data, peer = server.recvfrom(65536)
            got.append(data)
            server.sendto(data, peer)
    return _finished(run, *proc.finish(), received=got)


# -- TLS -----------------------------------------------------------------------------


def _serverContext(run: Run, clientAuth: bool = False) -> stdlib_ssl.SSLContext:
    context = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(run.dir / E / "server.pem")
    if clientAuth:
        context.verify_mode = stdlib_ssl.CERT_REQUIRED
        context.load_verify_locations(run.dir / E / "public.pem")
    return context


def _tlsEchoServer(program: str, clientAuth: bool):
    """echoserv_ssl / ssl_clientauth_server: a TLS client (for example.com)."""

    def drive(run: Run) -> Observed:
        proc = run.start(E + program)
        context = stdlib_ssl.create_default_context(cafile=run.dir / E / "public.pem")
        if clientAuth:
            context.load_cert_chain(run.dir / E / "server.pem")
        with proc.connect(run.port[8000], "::1") as raw:
            run.alias(raw.getsockname()[1], "CLIENT")
            with context.wrap_socket(raw, server_hostname="example.com") as s:
                s.sendall(b"secret\r\n")
                echoed = recvUntil(s, b"\r\n")
        return _finished(run, *proc.finish(signal.SIGTERM), echoed=echoed)

    return drive


def _tlsEchoClient(program: str, clientAuth: bool):
    """echoclient_ssl / ssl_clientauth_client: a TLS echo server for them."""

    def drive(run: Run) -> Observed:
        context = _serverContext(run, clientAuth)
        with listener(run.port[8000]) as server:
            proc = run.start(E + program)
            conn = proc.accept(server)
            with context.wrap_socket(conn, server_side=True) as s:
                peer = s.getpeercert()
                got = _echoPeer(s, b"Bye-bye!\r\n")
        return _finished(run, *proc.finish(), received=got, clientCert=bool(peer))

    return drive


def _starttlsServer(run: Run) -> Observed:
    proc = run.start(E + "starttls_server.py")
    context = stdlib_ssl.create_default_context(cafile=run.dir / E / "public.pem")
    with proc.connect(run.port[8000]) as raw:
        raw.sendall(b"plain text\r\nSTARTTLS\r\n")
        ready = recvUntil(raw, b"READY\r\n")
        with context.wrap_socket(raw, server_hostname="example.com") as s:
            s.sendall(b"secure text\r\n")
            proc.expect("secure text")
    return _finished(run, *proc.finish(signal.SIGTERM), ready=ready)


def _starttlsClient(run: Run) -> Observed:
    context = _serverContext(run)
    with listener(run.port[8000]) as server:
        proc = run.start(E + "starttls_client.py")
        conn = proc.accept(server)
        plain = recvUntil(conn, b"STARTTLS\r\n")
        conn.sendall(b"READY\r\n")
        with context.wrap_socket(conn, server_side=True) as s:
            secure = recvAll(s)
    return _finished(run, *proc.finish(), plain=plain, secure=secure)


def _alpnClient(run: Run) -> Observed:
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(run.dir / E / "server-cert.pem"))
    context = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    context.set_alpn_protocols(["h2"])
    with listener(run.port[8080]) as server:
        proc = run.start(E + "tls_alpn_client.py")
        conn = proc.accept(server)
        with context.wrap_socket(conn, server_side=True) as s:
            trigger = s.recv(65536)
            s.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # an HTTP/2 SETTINGS frame
            rest = recvAll(s)
    return _finished(run, *proc.finish(), received=trigger + rest)


def _wrappedClient(run: Run) -> Observed:
    """ssl/wrapped_client.py: an HTTPS server for "localhost", trusted by SSL_CERT_FILE."""
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(run.dir / "ca.pem"))
    context = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    with listener(run.port[443]) as server:
        proc = run.start(
            L + "ssl/wrapped_client.py", "localhost", SSL_CERT_FILE=str(run.dir / "ca.pem")
        )
        conn = proc.accept(server)
        with context.wrap_socket(conn, server_side=True) as s:
            request = recvUntil(s, b"\r\n\r\n")
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
            proc.expect("data: ")
            proc.expect("hi'")
    return _finished(run, *proc.finish(signal.SIGTERM), request=request)


# -- the rest ------------------------------------------------------------------------


def _stdin(run: Run) -> Observed:
    proc = run.start(E + "stdin.py")
    proc.expect(">>> ")
    proc.send(b"hello\nworld\n")
    proc.expect(">>> ", 3)
    proc.closeStdin()
    return _finished(run, *proc.finish(signal.SIGTERM))


def _streaming(run: Run) -> Observed:
    proc = run.start(E + "streaming.py")
    with proc.connect(run.port[1234]) as s:
        run.alias(s.getsockname()[1], "CLIENT")
        question = recvUntil(s, b"\r\n")
        s.sendall(b"1000\r\n")
        numbers = recvAll(s).split(b"\r\n")
    proc.expect("Connection lost")
    valid = numbers[-1] == b"" and all(0 <= int(n) < 10000 for n in numbers[:-1])
    return _finished(
        run, *proc.finish(signal.SIGTERM), question=question, count=len(numbers) - 1, valid=valid
    )


def _ptyServer(run: Run) -> Observed:
    proc = run.start(E + "ptyserv.py")
    with proc.connect(run.port[5823]) as s:
        s.sendall(b"echo hi there; exit\n")
        shown = recvAll(s)
    proc.expect("connection lost\n")
    return _finished(run, *proc.finish(signal.SIGTERM), shellSaid=shown.replace(b"# ", b""))


def _chat(run: Run) -> Observed:
    proc = run.start(L + "servers/chat.py")
    with proc.connect(run.port[8123]) as alice:
        said = [recvUntil(alice, b"\r\n")]
        alice.sendall(b"alice\r\n")
        said.append(recvUntil(alice, b"\r\n"))
        with proc.connect(run.port[8123]) as bob:
            said.append(recvUntil(bob, b"\r\n"))
            bob.sendall(b"alice\r\n")
            said.append(recvUntil(bob, b"\r\n"))
            bob.sendall(b"bob\r\n")
            said.append(recvUntil(bob, b"\r\n"))
            bob.sendall(b"hello all\r\n")
            said.append(recvUntil(alice, b"\r\n"))
    return _finished(run, *proc.finish(signal.SIGTERM), said=said)


def _connectedUdp(run: Run) -> Observed:
    with listener(run.port[1234], socket.SOCK_DGRAM) as server:
        proc = run.start(L + "udp/connected_udp.py")
        data, peer = server.recvfrom(65536)
        run.alias(peer[1], "CLIENT")
        server.sendto(b"hi back", peer)
        proc.expect("hi back")
    return _finished(run, *proc.finish(signal.SIGTERM), received=data)


def _sendfd(run: Run) -> Observed:
    address = run.dir / "sendfd.sock"
    content = run.dir / "content.txt"
    content.write_bytes(b"The content of the file sent.\n")
    proc = run.start(E + "sendfd.py", str(address), str(content))
    proc.expect("Log opened.")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        while True:
            try:
                s.connect(str(address))
                break
            except FileNotFoundError:
                pass  # not listening yet
            except ConnectionRefusedError:
                pass
        message, fds, _, _ = socket.recv_fds(s, 1024, 1)
        assert len(fds) == 1, fds
        with open(fds[0], "rb") as f:
            received = f.read()
        rest = recvUntil(s, b"\r\n") if not message.endswith(b"\r\n") else b""
    return _finished(
        run,
        *proc.finish(signal.SIGTERM),
        line=(message + rest).replace(str(content).encode(), b"CONTENT"),
        fileContent=received,
    )


def _recvfd(run: Run) -> Observed:
    address = run.dir / "recvfd.sock"
    content = run.dir / "content.txt"
    content.write_bytes(b"What the server sends.\n")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(address))
        server.listen(1)
        server.settimeout(10)
        proc = run.start(E + "recvfd.py", str(address))
        conn = proc.accept(server)
        with conn, open(content, "rb") as f:
            socket.send_fds(conn, [b"content.txt\r\n"], [f.fileno()])
            tail = recvAll(conn)
    return _finished(run, *proc.finish(), tail=tail)


def _loggerListings(run: Run) -> Observed:
    """The logger howto's listings, in the order the howto runs them."""
    seen = {}
    for name in [
        "logsource.py",
        "online_analyze.py",
        "saver.py",
        "loader.py",
        "loader-math.py",
        "ad_hoc_save.py",
        "offline_analyze.py",
    ]:
        seen[name] = _finished(run, *run.complete(L + "logger/" + name))
    return seen


# The programs run, as path -> how to drive it.  Every program of the two
# directories is either here or in EXCLUDED.
SELECTED: dict[str, Example] = {
    E + "echoserv.py": Example(_echoServer(E + "echoserv.py", 8000), ports=(8000,)),
    E + "simpleserv.py": Example(_echoServer(E + "simpleserv.py", 8000), ports=(8000,)),
    E + "echoclient.py": Example(
        _echoClient(E + "echoclient.py", 8000, b"Bye-bye!\r\n"), ports=(8000,)
    ),
    E + "simpleclient.py": Example(
        _echoClient(E + "simpleclient.py", 8000, b"hello, world!"), ports=(8000,)
    ),
    E + "echoserv_udp.py": Example(_udpEcho(E + "echoserv_udp.py", 8000), ports=(8000,)),
    E + "echoclient_udp.py": Example(_udpEchoClient, ports=(8000,)),
    E + "longex.py": Example(
        _lineServer(E + "longex.py", 1234, [b"2 3 4\r\n", b"x\r\n", b"5\r\n"], 3), ports=(1234,)
    ),
    E + "longex2.py": Example(
        _lineServer(E + "longex2.py", 1234, [b"2 3 4\r\n", b"x\r\n", b"\r\n"], 3), ports=(1234,)
    ),
    E + "echoserv_ssl.py": Example(
        _tlsEchoServer("echoserv_ssl.py", False),
        (E + "echoserv.py", E + "server.pem", E + "public.pem"),
        (8000,),
    ),
    E + "ssl_clientauth_server.py": Example(
        _tlsEchoServer("ssl_clientauth_server.py", True),
        (E + "echoserv.py", E + "server.pem", E + "public.pem"),
        (8000,),
    ),
    E + "echoclient_ssl.py": Example(
        _tlsEchoClient("echoclient_ssl.py", False),
        (E + "echoclient.py", E + "server.pem", E + "public.pem"),
        (8000,),
    ),
    E + "ssl_clientauth_client.py": Example(
        _tlsEchoClient("ssl_clientauth_client.py", True),
        (E + "echoclient.py", E + "server.pem", E + "public.pem"),
        (8000,),
    ),
    E + "starttls_server.py": Example(
        _starttlsServer, (E + "server.pem", E + "public.pem"), (8000,)
    ),
    E + "starttls_client.py": Example(_starttlsClient, (E + "server.pem",), (8000,)),
    E + "tls_alpn_client.py": Example(_alpnClient, ports=(8080,)),
    E + "stdin.py": Example(_stdin),
    E + "streaming.py": Example(_streaming, ports=(1234,)),
    E + "testlogging.py": Example(_complete(E + "testlogging.py")),
    E + "ptyserv.py": Example(_ptyServer, ports=(5823,)),
    E + "sendfd.py": Example(_sendfd),
    E + "recvfd.py": Example(_recvfd),
    L + "servers/chat.py": Example(_chat, ports=(8123,)),
    L + "process/trueandfalse.py": Example(_complete(L + "process/trueandfalse.py")),
    L + "ssl/check_echo_certificate.py": Example(
        _complete(L + "ssl/check_echo_certificate.py", "localhost", "4430"), (E + "server.pem",)
    ),
    L + "ssl/check_server_certificate.py": Example(
        _complete(L + "ssl/check_server_certificate.py", "localhost", "4430")
    ),
    L + "ssl/wrapped_client.py": Example(_wrappedClient, ports=(443,)),
    L + "udp/basic_example.py": Example(
        _udpEcho(L + "udp/basic_example.py", 9999, printed=True), ports=(9999,)
    ),
    L + "udp/ipv6_listen.py": Example(
        _udpEcho(L + "udp/ipv6_listen.py", 9999, "::1", printed=True), ports=(9999,)
    ),
    L + "udp/adopt_datagram_port.py": Example(
        _udpEcho(L + "udp/adopt_datagram_port.py", 9999, printed=True), ports=(9999,)
    ),
    L + "udp/connected_udp.py": Example(
        _connectedUdp, ports=(1234,), replace=(("192.168.1.1", "127.0.0.1"),)
    ),
    L + "udp/getting_ip.py": Example(_complete(L + "udp/getting_ip.py")),
    L + "logger/*.py": Example(
        _loggerListings,
        tuple(
            L + "logger/" + name
            for name in [
                "ad_hoc.py",
                "ad_hoc_save.py",
                "analyze.py",
                "loader-math.py",
                "loader.py",
                "logsource.py",
                "offline_analyze.py",
                "online_analyze.py",
                "saver.py",
            ]
        ),
    ),
}

_MULTICAST = (
    "multicast to 228.0.0.5 over the default interface (0.0.0.0), not loopback, which tests"
    " here may not use; torsion's multicast is tested on loopback in tests/test_udp.py"
)

# Every other program of the two directories, and why it is not run.
EXCLUDED: dict[str, str] = {
    E + "ampclient.py": "twisted.protocols.amp",
    E + "ampserver.py": "twisted.protocols.amp",
    E + "bananabench.py": "twisted.spread",
    E + "chatserver.py": "twisted.application",
    E + "courier.py": "a Courier mail filter: Courier's directories, fd 3, syslog; Python 2 code",
    E + "cred.py": "twisted.cred",
    E + "dbcred.py": "twisted.cred, twisted.enterprise",
    E + "filewatch.py": "twisted.application",
    E + "ftpclient.py": "twisted.protocols.ftp",
    E + "ftpserver.py": "twisted.protocols.ftp, twisted.cred",
    E + "pb_exceptions.py": "twisted.spread",
    E + "pbbenchclient.py": "twisted.spread",
    E + "pbbenchserver.py": "twisted.spread",
    E + "pbecho.py": "twisted.spread",
    E + "pbechoclient.py": "twisted.spread",
    E + "pbgtk2.py": "a GTK reactor, twisted.spread",
    E + "pbinterop.py": "twisted.spread",
    E + "pbsimple.py": "twisted.spread",
    E + "pbsimpleclient.py": "twisted.spread",
    E + "postfix.py": "twisted.protocols.postfix",
    E + "pyuidemo.py": "a pyui reactor",
    E + "rotatinglog.py": "twisted.python.logfile",
    E + "shaper.py": "twisted.protocols.htb, twisted.web",
    E + "shoutcast.py": "twisted.protocols.shoutcast",
    E + "stdiodemo.py": "twisted.web",
    E + "tkinterdemo.py": "a Tk reactor",
    E + "tls_alpn_server.py": "pyOpenSSL (OpenSSL.crypto)",
    E + "udpbroadcast.py": "twisted.application",
    E + "wxacceptance.py": "a wx reactor",
    E + "wxdemo.py": "a wx reactor",
    E + "threadedselect/*.py": "the threadedselect reactor (with pygame, Cocoa)",
    L + "TwistedQuotes/__init__.py": "a package for twistd plugins (twisted.application)",
    L + "TwistedQuotes/pbquote.py": "twisted.spread",
    L + "TwistedQuotes/pbquoteclient.py": "twisted.spread",
    L + "TwistedQuotes/quoteproto.py": "a module (zope Interface) of the twistd plugin",
    L + "TwistedQuotes/quoters.py": "a module (zope Interface) of the twistd plugin",
    L + "TwistedQuotes/quotetap.py": "twisted.application",
    L + "TwistedQuotes/quotetap2.py": "twisted.application, twisted.spread",
    L + "amp/basic_client.py": "twisted.protocols.amp",
    L + "amp/command_client.py": "twisted.protocols.amp",
    L + "cred/pop3_server.py": "twisted.cred",
    L + "deferred/synch-validation.py": "imports nothing from Twisted (a function for the howto)",
    L + "pb/*.py": "twisted.spread (all 31 listings)",
    L + "positioning/nmealogger.py": "twisted.positioning, serial ports",
    L + "process/quotes.py": "Python 2 code (cStringIO), fails on Twisted too",
    L + "process/process.py": "Python 2 code (writes str to the child): hangs on Twisted too",
    L + "sendmsg/copy_descriptor.py": "twisted.python.sendmsg",
    L + "sendmsg/send_replacement.py": "twisted.python.sendmsg",
    L + "udp/MulticastClient.py": _MULTICAST,
    L + "udp/MulticastServer.py": _MULTICAST,
    L + "udp/MulticastCommon.py": _MULTICAST,
    L + "trial/calculus/*.py": "run as trial tests by test_calculus_trial_tests",
}


# -- the tests -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def docs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/core of the installed Twisted's sdist (cached across sessions)."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    where = cache.mkdir("twisted-sdist") if cache else tmp_path_factory.mktemp("sdist")
    return sdistDocs(Path(where))


def _programs(docs: Path) -> set[str]:
    found = set()
    for top in ("examples", "howto/listings"):
        found |= {str(p.relative_to(docs)) for p in (docs / top).rglob("*.py")}
    return found


def test_every_program_is_selected_or_excluded(docs: Path) -> None:
    import fnmatch

    programs = _programs(docs)
    selected = {f for name, ex in SELECTED.items() for f in (name, *ex.files) if f.endswith(".py")}
    selected = {f for f in selected if "*" not in f}
    excluded = {p for p in programs if any(fnmatch.fnmatch(p, pat) for pat in EXCLUDED)}
    assert programs - selected - excluded == set(), "neither selected nor excluded"
    assert selected - programs == set(), "selected but not in the sdist"
    assert selected & excluded == set(), "both selected and excluded"
    assert all(any(fnmatch.fnmatch(p, pat) for p in programs) for pat in EXCLUDED)


_twistedSeen: dict[str, Observed] = {}

# What Twisted prints that torsion does not, as docs/porting.md says ("Logging
# is carried by the standard logging module"): the reactor does not log "Main
# loop terminated.".  Ports and factories starting and stopping and a signal
# received are logged as in Twisted; a factory's repr names torsion's module.
# The system of a log line (Twisted's logPrefix) is "-".
_NOT_LOGGED = re.compile(r"^TIME \[[^]]*\] Main loop terminated\.\n", re.M)
_TWISTED_MODULE = re.compile(r"<twisted\.internet\.protocol\.")
_SYSTEM = re.compile(r"^TIME \[[^]]*\] ", re.M)
# An error report says where it happened in its own words ("Unhandled Error"
# in Twisted, the place in torsion), and its frames are different code.
_WHY = re.compile(
    r"^(TIME \[-\] )?(Unhandled Error|.*:)\n(?=(TIME \[-\] )?\tTraceback|Traceback)", re.M
)
_FRAME = re.compile(r"^(TIME \[-\] )?\t?  File .*\n((TIME \[-\] )?\t?    .*\n)*", re.M)


def _report(text: str) -> str:
    text = _SYSTEM.sub("TIME [-] ", text)
    text = _FRAME.sub("", _WHY.sub(r"\1WHY\n", text))
    text = re.sub(r"^(TIME \[-\] )?(\t?)builtins\.", r"\1\2", text, flags=re.M)
    return text.rstrip("\n") + "\n" if text else text


def _asDocumented(observed: Observed, twisted: bool) -> Observed:
    """An observation with the documented differences taken out."""
    result = {}
    for key, value in observed.items():
        if isinstance(value, dict):
            value = _asDocumented(value, twisted)
        elif key in ("stdout", "stderr"):
            if twisted:
                value = _TWISTED_MODULE.sub("<torsion.protocol.", _NOT_LOGGED.sub("", value))
            value = _report(value)
        result[key] = value
    return result


def _observe(docs: Path, where: Path, name: str, flavor: str) -> Observed:
    example = SELECTED[name]
    files = example.files if "*" in name else (name, *example.files)
    run = Run(docs, where / flavor, flavor, files, example.ports, example.replace)
    try:
        return example.drive(run)
    finally:
        run.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(SELECTED))
def test_example_behaves_as_under_twisted(
    name: str, backend: str, docs: Path, tmp_path: Path
) -> None:
    if name not in _twistedSeen:
        _twistedSeen[name] = _asDocumented(_observe(docs, tmp_path, name, "twisted"), True)
    expected = _twistedSeen[name]
    assert _asDocumented(_observe(docs, tmp_path, name, backend), False) == expected


_CALCULUS = L + "trial/calculus"
_NOT_PORTED = ("client_3.py", "test_client_3.py", "test_client_4.py")  # twisted.protocols.policies
_trialSeen: dict[str, Any] = {}


def _calculus(docs: Path, where: Path, ported: bool) -> Path:
    for source in (docs / _CALCULUS).rglob("*.py"):
        if source.name in _NOT_PORTED:
            continue
        target = where / "calculus" / source.relative_to(docs / _CALCULUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rewrite(source.read_text()) if ported else source.read_text())
    return where


@pytest.mark.parametrize("backend", BACKENDS)
def test_calculus_trial_tests(backend: str, docs: Path, tmp_path: Path) -> None:
    """The trial howto's tests (howto/listings/trial/calculus) pass on torsion's
    trial as on Twisted's, test for test."""
    from twisted_suite import runTrial

    if "twisted" not in _trialSeen:
        cwd = _calculus(docs, tmp_path / "twisted", ported=False)
        _trialSeen["twisted"] = runTrial("twisted.trial", ["calculus"], cwd, timeout=60)
    expected = _trialSeen["twisted"]
    cwd = _calculus(docs, tmp_path / backend, ported=True)
    run = Run(docs, cwd, backend, ())
    env = {"PYTHONPATH": run.env()["PYTHONPATH"] + os.pathsep + str(cwd)}
    got = runTrial(
        "torsion.trial",
        ["calculus"],
        cwd,
        env={**env, "TORSION_REACTOR": reactorName(backend)},
        timeout=60,
    )
    assert len(expected.outcomes) > 20, expected.output
    assert got.outcomes == expected.outcomes, got.output
    assert got.returncode == expected.returncode
