"""torsion.stdio.StandardIO and StandardIOEndpoint, on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from torsion import defer, error, reactors
from torsion._process_endpoints import PipeAddress, StandardIOEndpoint
from torsion.failure import Failure
from torsion.protocol import Factory, Protocol
from torsion.stdio import StandardIO

ROOT = Path(__file__).resolve().parent.parent


class Echo(Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.lost: defer.Deferred[BaseException] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        self.transport.write(data.upper())

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.callback(reason.value)


class HalfClose(Echo):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def readConnectionLost(self) -> None:
        self.events.append("readConnectionLost")
        self.transport.write(b"bye")
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        self.events.append("writeConnectionLost")


@pytest.fixture
def pipes() -> Iterator[tuple[int, int, int, int]]:
    """(stdin read end, stdin write end, stdout read end, stdout write end)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    fds = [in_r, in_w, out_r, out_w]
    yield in_r, in_w, out_r, out_w
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def test_echo_until_eof(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    in_r, in_w, out_r, out_w = pipes
    p = Echo()
    t = StandardIO(p, stdin=in_r, stdout=out_w, reactor=reactor)
    assert p.transport is t
    assert t.getPeer() == PipeAddress() and t.getHost() == PipeAddress()
    os.write(in_w, b"hello ")
    os.write(in_w, b"world")
    os.close(in_w)
    reason = run(p.lost)
    assert isinstance(reason, error.ConnectionDone)
    assert p.received == b"hello world"
    assert os.read(out_r, 100) == b"HELLO WORLD"
    # Borrowed descriptors: still open, back in blocking mode.
    assert os.get_blocking(in_r) and os.get_blocking(out_w)


def test_half_close(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    in_r, in_w, out_r, out_w = pipes
    p = HalfClose()
    StandardIO(p, stdin=in_r, stdout=out_w, reactor=reactor)
    os.write(in_w, b"abc")
    os.close(in_w)
    reason = run(p.lost)
    assert isinstance(reason, error.ConnectionDone)
    assert p.events == ["readConnectionLost"]
    assert os.read(out_r, 100) == b"ABCbye"


def test_loseConnection_flushes(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    in_r, _in_w, out_r, out_w = pipes

    class Writer(Echo):
        def connectionMade(self) -> None:
            self.transport.write(b"x" * 1000)
            self.transport.writeSequence([b"y", b"z"])
            self.transport.loseConnection()
            self.transport.write(b"!")  # still queued before the close, as in Twisted

    p = Writer()
    StandardIO(p, stdin=in_r, stdout=out_w, reactor=reactor)
    assert isinstance(run(p.lost), error.ConnectionDone)
    assert os.read(out_r, 2000) == b"x" * 1000 + b"yz!"


def test_reader_of_stdout_going_away(
    reactor: Any, run: Any, pipes: tuple[int, int, int, int]
) -> None:
    in_r, _in_w, out_r, out_w = pipes
    p = Echo()
    StandardIO(p, stdin=in_r, stdout=out_w, reactor=reactor)
    os.close(out_r)
    reason = run(p.lost)
    assert isinstance(reason, error.ConnectionLost)


def test_regular_files_and_dev_null(reactor: Any, run: Any, tmp_path: Path) -> None:
    """epoll cannot watch these; they work on every backend all the same."""
    source = tmp_path / "in.txt"
    source.write_bytes(b"from a file\n" * 10000)
    with (
        open(source, "rb") as fin,
        open(tmp_path / "out.txt", "wb") as fout,
    ):
        p = Echo()
        StandardIO(p, stdin=fin.fileno(), stdout=fout.fileno(), reactor=reactor)
        assert isinstance(run(p.lost), error.ConnectionDone)
    assert (tmp_path / "out.txt").read_bytes() == b"FROM A FILE\n" * 10000


def test_dev_null_stdin(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    _, _, out_r, out_w = pipes
    with open(os.devnull, "rb") as null:

        class Greeter(Echo):
            def connectionMade(self) -> None:
                self.transport.write(b"hi")

        p = Greeter()
        StandardIO(p, stdin=null.fileno(), stdout=out_w, reactor=reactor)
        assert isinstance(run(p.lost), error.ConnectionDone)
    assert os.read(out_r, 10) == b"hi"


def test_producer(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    in_r, _in_w, out_r, out_w = pipes

    class Producer:
        def __init__(self, t: Any) -> None:
            self.t = t
            self.n = 0

        def resumeProducing(self) -> None:
            self.n += 1
            if self.n <= 3:
                self.t.write(b"%d" % self.n)
            else:
                self.t.unregisterProducer()
                self.t.loseConnection()

        def stopProducing(self) -> None:
            pass

    class P(Echo):
        def connectionMade(self) -> None:
            self.transport.registerProducer(Producer(self.transport), False)

    p = P()
    StandardIO(p, stdin=in_r, stdout=out_w, reactor=reactor)
    run(p.lost)
    assert os.read(out_r, 10) == b"123"


def test_pause_and_resume(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    in_r, in_w, _out_r, out_w = pipes
    p = Echo()
    t = StandardIO(p, stdin=in_r, stdout=out_w, reactor=reactor)
    t.pauseProducing()
    os.write(in_w, b"later")
    os.close(in_w)

    def resume() -> None:
        assert p.received == b""
        t.resumeProducing()

    reactor.callLater(0.05, resume)
    run(p.lost)
    assert p.received == b"later"


def test_endpoint_listen(reactor: Any, run: Any, pipes: tuple[int, int, int, int]) -> None:
    in_r, in_w, out_r, out_w = pipes
    ep = StandardIOEndpoint(reactor)
    ep._stdio = lambda proto, reactor: StandardIO(proto, in_r, out_w, reactor)
    factory = Factory.forProtocol(Echo)
    transport = run_now(ep.listen(factory))
    assert isinstance(transport, StandardIO)
    p = transport.protocol
    assert isinstance(p, Echo) and p.factory is factory
    os.write(in_w, b"via endpoint")
    os.close(in_w)
    run(p.lost)
    assert os.read(out_r, 100) == b"VIA ENDPOINT"


def run_now(d: defer.Deferred[Any]) -> Any:
    """The result of a Deferred that has already fired."""
    results: list[Any] = []
    d.addBoth(results.append)
    (result,) = results
    if isinstance(result, Failure):
        result.raiseException()
    return result


PROGRAM = textwrap.dedent(
    """
    import sys
    from torsion import reactor
    from torsion.endpoints import StandardIOEndpoint
    from torsion.protocol import Factory, Protocol

    class Upper(Protocol):
        def dataReceived(self, data):
            self.transport.write(data.upper())

        def connectionLost(self, reason):
            sys.stderr.write("lost: " + type(reason.value).__name__ + "\\n")
            reactor.stop()

    def listening(port):
        sys.stderr.write("listening: " + type(port).__name__ + "\\n")

    StandardIOEndpoint(reactor).listen(Factory.forProtocol(Upper)).addCallback(listening)
    reactor.run()
    """
)


@pytest.mark.parametrize("backend", reactors.available())
@pytest.mark.parametrize("stdin", ["pipe", "file"])
def test_program_on_real_stdio(backend: str, stdin: str, tmp_path: Path) -> None:
    payload = os.urandom(200_000).hex().encode()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TORSION_REACTOR=backend)
    program = PROGRAM
    try:
        import torsion.endpoints as endpoints

        if not hasattr(endpoints, "StandardIOEndpoint"):
            raise ImportError
    except ImportError:
        program = PROGRAM.replace("torsion.endpoints", "torsion._process_endpoints")
    if stdin == "pipe":
        proc = subprocess.run(
            [sys.executable, "-c", program],
            input=payload,
            capture_output=True,
            env=env,
            timeout=60,
        )
    else:
        source = tmp_path / "in"
        source.write_bytes(payload)
        with open(source, "rb") as f:
            proc = subprocess.run(
                [sys.executable, "-c", program], stdin=f, capture_output=True, env=env, timeout=60
            )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == payload.upper()
    assert b"listening: StandardIO" in proc.stderr
    assert b"lost: ConnectionDone" in proc.stderr
