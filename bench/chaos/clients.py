"""Hostile and normal clients, on plain blocking or non-blocking sockets.

Everything here is bounded: every blocking call has a timeout, every loop a
deadline.  A *reset* is a close with ``SO_LINGER`` set to zero, which makes
the kernel send RST instead of FIN, as a crashed client or a middlebox does.
"""

from __future__ import annotations

import select
import selectors
import socket
import ssl
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

HOST = "127.0.0.1"


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with RST (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def recv_at_least(sock: socket.socket, n: int, timeout: float = 5.0) -> bytes:
    """Read until ``n`` bytes came, the peer closed, or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, OSError):
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def get_request(path: str, host: str = "chaos", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


def status_of(response: bytes) -> int | None:
    """The status code of an HTTP response that starts ``response`` (None if none)."""
    if not response.startswith(b"HTTP/"):
        return None
    parts = response.split(b" ", 2)
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


def ping(service: str, port: int, timeout: float = 2.0) -> bool:
    """One normal exchange with the service on ``port``: True if it answered as it should."""
    try:
        with connect(port, timeout) as s:
            if service == "web":
                s.sendall(get_request("/small.txt", extra="Connection: close\r\n"))
                return status_of(recv_at_least(s, 12, timeout)) == 200
            if service == "chargen":
                return len(recv_at_least(s, 1, timeout)) >= 1
            s.sendall(b"ping\n")  # echo, and portforward to an echoing upstream
            return recv_at_least(s, 5, timeout) == b"ping\n"
    except OSError:
        return False


def take_then_reset(port: int, request: bytes, want: int, timeout: float = 5.0) -> int:
    """Connect, send ``request``, read ``want`` bytes of the answer, reset; bytes read."""
    s = connect(port, timeout)
    try:
        if request:
            s.sendall(request)
        return len(recv_at_least(s, want, timeout))
    finally:
        reset(s)


def in_parallel(count: int, workers: int, job: Callable[[int], object], deadline: float) -> int:
    """Run ``job(i)`` for i in range(count) on ``workers`` threads until ``deadline``.

    Returns how many jobs ran without an exception.
    """

    def guarded(i: int) -> bool:
        if time.monotonic() > deadline:
            return False
        try:
            job(i)
        except OSError:
            return False
        return True

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(guarded, range(count)))


def client_hello() -> bytes:
    """The first flight of a real TLS client (its ClientHello record)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


# ---------------------------------------------------------------- many idle sockets


def open_many(port: int, count: int, batch: int = 50, wait: float = 2.0) -> list[socket.socket]:
    """Open ``count`` non-blocking connections, ``batch`` at a time.

    Each batch is given up to ``wait`` seconds to connect (a connection the
    kernel holds in the server's listen queue counts as connected); one still
    connecting after that is kept as it is.
    """
    socks: list[socket.socket] = []
    for start in range(0, count, batch):
        group = []
        for _ in range(min(batch, count - start)):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((HOST, port))
            group.append(s)
        deadline = time.monotonic() + wait
        waiting = list(group)
        while waiting and time.monotonic() < deadline:
            _, writable, _ = select.select([], waiting, [], deadline - time.monotonic())
            waiting = [s for s in waiting if s not in writable]
        socks += group
    return socks


def count_echoes(socks: list[socket.socket], timeout: float) -> int:
    """Send a byte on each connection; how many echo it back within ``timeout``."""
    for s in socks:
        try:
            s.send(b"e")
        except OSError:
            pass
    waiting = set(socks)
    echoed = 0
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        readable, _, _ = select.select(list(waiting), [], [], deadline - time.monotonic())
        for s in readable:
            waiting.discard(s)
            try:
                echoed += s.recv(1) == b"e"
            except OSError:
                pass
    return echoed


def close_all(socks: Iterable[socket.socket], rst: bool = False) -> None:
    for s in socks:
        if rst:
            reset(s)
        else:
            s.close()


@dataclass
class Held:
    """What the server did to connections held open for a while."""

    count: int
    closed_at: list[float] = field(default_factory=list)  # seconds after the start
    answers: Counter[str] = field(default_factory=Counter)  # first bytes the server sent

    @property
    def closed(self) -> int:
        return len(self.closed_at)

    def describe(self, seconds: float) -> str:
        if not self.closed_at:
            return f"none of {self.count} closed by the server in {seconds:.0f} s"
        times = sorted(self.closed_at)
        said = ", ".join(f"{k} x{v}" for k, v in self.answers.most_common(3)) or "nothing"
        return (
            f"{self.closed} of {self.count} closed by the server after"
            f" {times[0]:.1f}-{times[-1]:.1f} s (it sent: {said})"
        )


def hold(
    socks: list[socket.socket],
    seconds: float,
    first: Callable[[int], bytes] | None = None,
    trickle: bytes = b"",
    every: float = 1.0,
) -> Held:
    """Keep ``socks`` open for ``seconds``, noting when the server closes each.

    Connection ``i`` is sent ``first(i)`` at once, then one more byte of
    ``trickle`` every ``every`` seconds (a slowloris client).
    """
    sel = selectors.DefaultSelector()
    index = {s.fileno(): i for i, s in enumerate(socks)}
    by_fd = {s.fileno(): s for s in socks}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    result = Held(len(socks))
    start = time.monotonic()
    next_tick, tick = start, 0
    try:
        while by_fd and time.monotonic() - start < seconds:
            if time.monotonic() >= next_tick:
                for fd, s in by_fd.items():
                    if tick == 0:
                        data = first(index[fd]) if first else b""
                    else:
                        k = (tick - 1) % max(1, len(trickle))
                        data = trickle[k : k + 1]
                    if data:
                        try:
                            s.send(data)
                        except OSError:
                            pass  # still connecting, or closed: the read side tells
                tick += 1
                next_tick = time.monotonic() + every
            timeout = max(0.0, min(next_tick, start + seconds) - time.monotonic())
            for key, _ in sel.select(timeout):
                s = by_fd[key.fd]
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    result.answers[data.split(b"\r\n", 1)[0][:40].decode("latin-1")] += 1
                    continue
                sel.unregister(s)
                del by_fd[key.fd]
                result.closed_at.append(time.monotonic() - start)
    finally:
        sel.close()
    return result


class Blackhole:
    """A listening socket whose queue is full: connections to it stay pending (SYN dropped)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(0)
        self.port: int = self.sock.getsockname()[1]
        # With a backlog of 0 the queue holds one connection: fill it.
        self.filler = socket.create_connection((HOST, self.port), timeout=2)

    def close(self) -> None:
        self.filler.close()
        self.sock.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
