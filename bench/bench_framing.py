"""Framing speed: torsion.protocols.basic against Twisted's, and linear-time checks.

    python bench/bench_framing.py

Each case feeds the same bytes to a receiver over a StringTransport and
reports the best of three runs.  The "scaling" lines run a case at n and 10n:
a ratio near 10 is linear; re-copying the buffer per frame would show ~100.
(These used to be timed tests; timing belongs in benchmarks.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best(f: Callable[[], object], repeat: int = 3) -> float:
    t = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - start)
    return t


def lineCase(basic: Any, testing: Any, n: int, chunked: bool) -> Callable[[], object]:
    class Lines(basic.LineReceiver):
        MAX_LENGTH = 10**9

        def connectionMade(self) -> None:
            self.count = 0

        def lineReceived(self, line: bytes) -> None:
            self.count += 1

    data = b"0123456789\r\n" * n
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)] if chunked else [data]

    def go() -> None:
        p = Lines()
        p.makeConnection(testing.StringTransport())
        for c in chunks:
            p.dataReceived(c)
        assert p.count == n

    return go


def longLineCase(basic: Any, testing: Any, n: int) -> Callable[[], object]:
    class Lines(basic.LineReceiver):
        MAX_LENGTH = 10**9

        def lineReceived(self, line: bytes) -> None:
            self.got = len(line)

    chunks = [b"x" * 512] * n

    def go() -> None:
        p = Lines()
        p.makeConnection(testing.StringTransport())
        for c in chunks:
            p.dataReceived(c)
        p.dataReceived(b"\r\n")
        assert p.got == 512 * n

    return go


def int32Case(basic: Any, testing: Any, n: int) -> Callable[[], object]:
    class Strings(basic.Int32StringReceiver):
        def connectionMade(self) -> None:
            self.count = 0

        def stringReceived(self, s: bytes) -> None:
            self.count += 1

    data = (b"\x00\x00\x00\x64" + b"x" * 100) * n

    def go() -> None:
        p = Strings()
        p.makeConnection(testing.StringTransport())
        p.dataReceived(data)
        assert p.count == n

    return go


def netstringCase(basic: Any, testing: Any, n: int) -> Callable[[], object]:
    class Strings(basic.NetstringReceiver):
        def connectionMade(self) -> None:
            self.count = 0

        def stringReceived(self, s: bytes) -> None:
            self.count += 1

    data = b"100:" + b"x" * 100 + b","
    data *= n

    def go() -> None:
        p = Strings()
        p.makeConnection(testing.StringTransport())
        p.dataReceived(data)
        assert p.count == n

    return go


def systems() -> list[tuple[str, Any, Any]]:
    from torsion import testing
    from torsion.protocols import basic

    out = [("torsion", basic, testing)]
    try:
        from twisted.internet import testing as ttesting
        from twisted.protocols import basic as tbasic
    except ImportError:
        print("(Twisted not installed: torsion only)")
    else:
        out.append(("twisted", tbasic, ttesting))
    return out


def main() -> None:
    cases = {
        "LineReceiver, 200k lines in one chunk": lambda b, t: lineCase(b, t, 200_000, False),
        "LineReceiver, 200k lines in 4 KiB chunks": lambda b, t: lineCase(b, t, 200_000, True),
        "Int32StringReceiver, 200k strings": lambda b, t: int32Case(b, t, 200_000),
        "NetstringReceiver, 100k strings": lambda b, t: netstringCase(b, t, 100_000),
        "LineReceiver, one 2 MiB line in 512 B chunks": lambda b, t: longLineCase(b, t, 4096),
    }
    found = systems()
    print(f"{'case':48} " + " ".join(f"{name:>10}" for name, _, _ in found) + "   ratio")
    for label, make in cases.items():
        times = [best(make(basic, testing)) for _, basic, testing in found]
        ratio = f"{times[1] / times[0]:6.1f}x" if len(times) > 1 else ""
        print(f"{label:48} " + " ".join(f"{t * 1000:8.1f}ms" for t in times) + f"  {ratio}")
    from torsion import testing
    from torsion.protocols import basic

    small = best(lineCase(basic, testing, 20_000, False))
    big = best(lineCase(basic, testing, 200_000, False))
    print(f"scaling, lines in one chunk (10x input): {big / small:.1f}x time")
    small = best(longLineCase(basic, testing, 400))
    big = best(longLineCase(basic, testing, 4000))
    print(f"scaling, long line in small chunks (10x input): {big / small:.1f}x time")


if __name__ == "__main__":
    main()
