"""Malformed HTTP requests, made from a seed, and what a web server answered to each.

The corpus always holds the hand-written cases (huge numbers in ``Range`` and
``Content-Length``, every method including ``CONNECT``, bad encodings, ``%00``,
traversal by ``..``, encoded dots, backslashes and a symlink loop, dot files,
oversized heads, pipelined floods, HTTP/0.9, HTTP/2 and TLS on the plain
port), then random mutations of valid requests (bytes flipped, cut, repeated,
inserted) up to the size asked for.  Each request goes on a new connection;
the answer is read until the server closes or falls silent.

The web root made by ``make_root`` holds two markers that must never come
back: ``SECRET`` in a file beside the root (outside it), and ``DOTFILE`` in
``.git/config`` and ``.env`` inside it (hidden by default, issue 15).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import web

from . import clients

SECRET = b"chaos-secret-outside-the-root"
DOTFILE = b"chaos-secret-in-a-dot-file"
LARGE = "large.bin"
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def make_root(folder: Path, large_bytes: int) -> Path:
    """The web root: bench/web.py's files, a large file, dot files, a symlink loop;
    a secret file beside it."""
    root = web.make_root(folder / "root")
    large = root / LARGE
    if not large.exists() or large.stat().st_size != large_bytes:
        large.write_bytes(random.Random(15).randbytes(large_bytes))
    (folder / "secret.txt").write_bytes(SECRET + b"\n")
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git" / "config").write_bytes(DOTFILE + b"\n")
    (root / ".env").write_bytes(DOTFILE + b"\n")
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "page.html").write_bytes(b"<p>sub</p>\n")
    loop = root / "sub" / "up"
    if not loop.is_symlink():
        os.symlink("..", loop)
    return root


def _req(line: str, *headers: str, body: bytes = b"") -> bytes:
    head = "\r\n".join([line, *headers, "", ""])
    return head.encode("latin-1", "surrogateescape") + body


METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT"]
METHODS += ["PROPFIND", "BREW", "get", "G\x00T", "GET\t", "X" * 300]
TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%252e%252e/secret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/sub/../../secret.txt",
    "/sub/up/../../secret.txt",
    "/sub/up/up/up/../../secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "//../secret.txt",
    "/./../secret.txt",
    "/small.txt/../../secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/..%00/secret.txt",
    "/small.txt%00.html",
    "/%00",
    "/\x00",
    "/.git/config",
    "/.env",
    "/.git/",
    "/%2egit/config",
    "/sub/../.env",
    "/.%67it/config",
    "/sub/up/.env",
]


def _fixed() -> list[tuple[str, bytes]]:
    huge = "9" * 5000
    cases: list[tuple[str, bytes]] = []
    for m in METHODS:
        cases.append((f"method {m[:10]!r}", _req(f"{m} /small.txt HTTP/1.1", "Host: x")))
    cases.append(("CONNECT authority", _req("CONNECT example.org:443 HTTP/1.1", "Host: x")))
    for path in TRAVERSALS:
        cases.append((f"path {path[:40]!r}", _req(f"GET {path} HTTP/1.1", "Host: x")))
    for rng in [
        f"bytes={huge}-",
        f"bytes=0-{huge}",
        f"bytes=-{huge}",
        "bytes=5-1",
        "bytes=-0",
        "bytes=0-0,-1,1-2," * 200,
        "bytes=\x00-1",
        "bytes=1--2",
        "lines=0-10",
        "bytes=" + ",".join(["0-"] * 2000),
        "bytes=18446744073709551616-",
    ]:
        cases.append(
            (f"range {rng[:30]!r}", _req("GET /big.bin HTTP/1.1", "Host: x", f"Range: {rng}"))
        )
    for cl in [huge, "-1", "1, 2", "0x10", " 5 ", "18446744073709551616"]:
        cases.append(
            (
                f"content-length {cl[:20]!r}",
                _req("POST / HTTP/1.1", "Host: x", f"Content-Length: {cl}"),
            )
        )
    cases += [
        (
            "chunked bad size",
            _req(
                "POST / HTTP/1.1",
                "Host: x",
                "Transfer-Encoding: chunked",
                body=b"zz\r\nhi\r\n0\r\n\r\n",
            ),
        ),
        (
            "chunked huge size",
            _req(
                "POST / HTTP/1.1",
                "Host: x",
                "Transfer-Encoding: chunked",
                body=huge.encode() + b"\r\n",
            ),
        ),
        (
            "te and cl",
            _req(
                "POST / HTTP/1.1",
                "Host: x",
                "Content-Length: 3",
                "Transfer-Encoding: chunked",
                body=b"0\r\n\r\n",
            ),
        ),
        ("te unknown", _req("POST / HTTP/1.1", "Host: x", "Transfer-Encoding: gzip, identity")),
        ("two hosts", _req("GET / HTTP/1.1", "Host: a", "Host: b")),
        ("no host", _req("GET / HTTP/1.1")),
        ("obs-fold", _req("GET / HTTP/1.1", "Host: x", "X-A: 1", " continued")),
        ("space before colon", _req("GET / HTTP/1.1", "Host : x")),
        ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n"),
        ("bare CR", b"GET / HTTP/1.1\rHost: x\r\r"),
        ("NUL in header", _req("GET / HTTP/1.1", "Host: x", "X-A: a\x00b")),
        ("latin-1 path", _req("GET /caf\xe9 HTTP/1.1", "Host: x")),
        ("bad utf-8 path", b"GET /\xff\xfe\xc3 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bad percent", _req("GET /%zz%4 HTTP/1.1", "Host: x")),
        ("non-ascii header name", b"GET / HTTP/1.1\r\nHost: x\r\nX-\xe9: 1\r\n\r\n"),
        ("absolute URI", _req("GET http://evil.example/../secret.txt HTTP/1.1", "Host: x")),
        ("asterisk", _req("GET * HTTP/1.1", "Host: x")),
        ("empty target", _req("GET  HTTP/1.1", "Host: x")),
        ("no version", b"GET /small.txt\r\n\r\n"),
        ("HTTP/0.9", b"GET /small.txt\r\n"),
        ("HTTP/1.2", _req("GET / HTTP/1.2", "Host: x")),
        ("HTTP/2.0", _req("GET / HTTP/2.0", "Host: x")),
        ("HTTP/9", _req("GET / HTTP/9", "Host: x")),
        ("lowercase version", _req("GET / http/1.1", "Host: x")),
        ("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("TLS on plain port", clients.client_hello()),
        ("only CRLF", b"\r\n" * 100),
        ("empty line then request", b"\r\n" + _req("GET / HTTP/1.1", "Host: x")),
        ("long request line", _req("GET /" + "a" * 70000 + " HTTP/1.1", "Host: x")),
        ("huge header", _req("GET / HTTP/1.1", "Host: x", "X-A: " + "b" * 70000)),
        ("many headers", _req("GET / HTTP/1.1", "Host: x", *[f"X-{i}: {i}" for i in range(5000)])),
        ("huge cookie", _req("GET / HTTP/1.1", "Host: x", "Cookie: " + "c=1; " * 10000)),
        (
            "if-modified-since garbage",
            _req("GET /small.txt HTTP/1.1", "Host: x", "If-Modified-Since: " + huge),
        ),
        (
            "if-none-match garbage",
            _req("GET /small.txt HTTP/1.1", "Host: x", "If-None-Match: " + '"' * 3000),
        ),
        (
            "expect 100",
            _req("POST / HTTP/1.1", "Host: x", "Expect: 100-continue", "Content-Length: 5"),
        ),
        (
            "connection upgrade",
            _req("GET / HTTP/1.1", "Host: x", "Connection: Upgrade", "Upgrade: websocket"),
        ),
        ("pipelined 500 small", _req("GET /small.txt HTTP/1.1", "Host: x") * 500),
        ("pipelined 200 listing", _req("GET / HTTP/1.1", "Host: x") * 200),
        ("pipelined bad then good", b"BAD\r\n\r\n" + _req("GET / HTTP/1.1", "Host: x") * 50),
        (
            "pipelined good then bad",
            _req("GET / HTTP/1.1", "Host: x") * 50 + b"\x00\x01\x02\r\n\r\n",
        ),
        (
            "pipelined huge ranges",
            _req("GET /big.bin HTTP/1.1", "Host: x", f"Range: bytes={huge}-") * 5,
        ),
        ("garbage 64 KiB", random.Random(1).randbytes(65536)),
    ]
    return cases


VALID = [
    _req("GET /small.txt HTTP/1.1", "Host: x", "Accept: */*"),
    _req("HEAD /big.bin HTTP/1.1", "Host: x", "Range: bytes=0-99"),
    _req("GET /sub/ HTTP/1.1", "Host: x", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"),
    _req("POST /small.txt HTTP/1.1", "Host: x", "Content-Length: 4", body=b"abcd"),
    _req("GET /big.bin HTTP/1.0", "Range: bytes=10-20,30-40"),
]


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(6)
        i = rnd.randrange(len(b) + 1)
        if op == 0 and b:  # flip a byte
            b[min(i, len(b) - 1)] = rnd.randrange(256)
        elif op == 1:  # insert special bytes
            b[i:i] = rnd.choice([b"\x00", b"\r", b"\n", b" ", b":", b"%", b"..", b"/", b"\xff"])
        elif op == 2:  # cut here
            del b[i:]
        elif op == 3 and b:  # repeat a slice
            j = rnd.randrange(i, len(b) + 1)
            b[i:i] = b[i:j] * rnd.randint(2, 50)
        elif op == 4:  # insert a huge number
            b[i:i] = b"9" * rnd.choice([20, 400, 5000])
        elif op == 5 and b:  # drop a byte
            del b[min(i, len(b) - 1)]
    return bytes(b)


def corpus(seed: int, size: int) -> list[tuple[str, bytes]]:
    """The hand-written cases, then seeded mutations up to ``size`` requests in all."""
    cases = _fixed()
    rnd = random.Random(seed)
    n = 0
    while len(cases) < size:
        base = rnd.randrange(len(VALID))
        cases.append((f"mutation {n} of valid {base}", _mutate(rnd, VALID[base])))
        n += 1
    return cases


@dataclass
class Outcome:
    label: str
    statuses: list[int] = field(default_factory=list)
    closed: bool = False  # the server closed the connection
    secret: bool = False  # the marker from outside the root came back
    dotfile: bool = False  # a dot file's marker came back


def send(port: int, label: str, request: bytes, quiet: float) -> Outcome:
    """Send one request on a new connection; read until closed or silent for ``quiet`` s."""
    out = Outcome(label)
    got = bytearray()
    try:
        with clients.connect(port, 5.0) as s:
            s.settimeout(quiet)
            try:
                s.sendall(request)
            except OSError:
                pass  # the server may close before reading it all; read what it said
            deadline = time.monotonic() + 10 * quiet
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except TimeoutError:
                    break
                except OSError:
                    out.closed = True
                    break
                if not chunk:
                    out.closed = True
                    break
                got += chunk
    except OSError:
        out.closed = True
    out.statuses = [int(m) for m in _STATUS.findall(bytes(got))]
    out.secret = SECRET in got
    out.dotfile = DOTFILE in got
    return out


def run(port: int, cases: list[tuple[str, bytes]], workers: int, quiet: float) -> list[Outcome]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda case: send(port, case[0], case[1], quiet), cases))


def tally(outcomes: list[Outcome]) -> Counter[str]:
    """How requests were answered: by first status, or closed / silent."""
    counts: Counter[str] = Counter()
    for o in outcomes:
        if o.statuses:
            counts[str(o.statuses[0])] += 1
        else:
            counts["closed" if o.closed else "silent"] += 1
    return counts


def server_errors(outcomes: list[Outcome]) -> list[str]:
    """Requests answered 5xx (except 501 Not Implemented and 505 Version Not Supported)."""
    return [
        f"{o.label}: {s}" for o in outcomes for s in o.statuses if s >= 500 and s not in (501, 505)
    ]
