#!/usr/bin/env python
"""Micro-benchmarks of torsion's core against Twisted (and asyncio where it has an equivalent).

Parts:
  (a) Deferred callback chains: build-and-fire, add-to-fired, errback path, and
      Deferreds returning Deferreds;
  (b) an inlineCallbacks loop and a coroutine loop over already-fired Deferreds
      (asyncio: a coroutine awaiting completed futures);
  (c) timers: schedule 100k calls, cancel half, run the rest (torsion's
      task.Clock and real reactor, Twisted's epoll reactor, an asyncio loop);
  (d) import time of the reactor module, in fresh interpreters.

Systems are measured in alternating order, several rounds; each figure is the
best round.  The garbage collector stays on, as in a real program.

    python bench/bench_core.py [--rounds N] [--json PATH] [--only a,b,c,d]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from torsion import defer as xdefer  # noqa: E402
from torsion import task as xtask  # noqa: E402

try:
    from twisted.internet import defer as tdefer
    from twisted.internet import task as ttask
except ImportError:  # pragma: no cover - Twisted is optional
    tdefer = ttask = None  # type: ignore[assignment]

Timer = Callable[[], float]  # runs one measurement, returns seconds per operation


def _per_op(fn: Callable[[], None], n: int) -> float:
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def _ident(r: Any) -> Any:
    return r


# -- (a) callback chains --------------------------------------------------------------


def chain10(defer: Any, n: int = 20_000) -> Timer:
    Deferred = defer.Deferred

    def once() -> None:
        d = Deferred()
        for _ in range(10):
            d.addCallback(_ident)
        d.callback(1)

    return lambda: _per_op(once, n)


def fired10(defer: Any, n: int = 20_000) -> Timer:
    succeed = defer.succeed

    def once() -> None:
        d = succeed(1)
        for _ in range(10):
            d.addCallback(_ident)

    return lambda: _per_op(once, n)


def errback_path(defer: Any, n: int = 20_000) -> Timer:
    Deferred = defer.Deferred

    def boom(r: Any) -> Any:
        raise ValueError(r)

    def once() -> None:
        d = Deferred()
        d.addCallback(boom)
        for _ in range(5):
            d.addCallback(_ident)
        d.addErrback(lambda f: 0)
        d.callback(1)

    return lambda: _per_op(once, n)


def nested10(defer: Any, n: int = 5_000) -> Timer:
    """An outer Deferred whose 10 callbacks each return a pending inner Deferred."""
    Deferred = defer.Deferred

    def once() -> None:
        outer = Deferred()
        inners = [Deferred() for _ in range(10)]
        for inner in inners:
            outer.addCallback(lambda r, inner=inner: inner)
        outer.callback(0)
        for i, inner in enumerate(inners):
            inner.callback(i)

    return lambda: _per_op(once, n)


def deep_chain(defer: Any, n: int = 20, depth: int = 1000) -> Timer:
    """``depth`` Deferreds each waiting on the next; the innermost fires last."""
    Deferred = defer.Deferred

    def once() -> None:
        ds = [Deferred() for _ in range(depth)]
        for outer, inner in itertools.pairwise(ds):
            outer.addCallback(lambda r, inner=inner: inner)
            outer.callback(None)
        ds[-1].callback(1)

    return lambda: _per_op(once, n)


# -- (b) inlineCallbacks and coroutines ---------------------------------------------

LOOP = 1000


def inline_loop(defer: Any, n: int = 100) -> Timer:
    succeed = defer.succeed

    @defer.inlineCallbacks
    def loop() -> Any:
        total = 0
        for i in range(LOOP):
            total += yield succeed(i)
        return total

    return lambda: _per_op(loop, n) / LOOP


def coroutine_loop(defer: Any, n: int = 100) -> Timer:
    succeed = defer.succeed

    async def loop() -> int:
        total = 0
        for i in range(LOOP):
            total += await succeed(i)
        return total

    return lambda: _per_op(lambda: defer.ensureDeferred(loop()), n) / LOOP


def asyncio_coroutine_loop(n: int = 100) -> Timer:
    loop = asyncio.new_event_loop()
    create_future = loop.create_future

    async def body() -> int:
        total = 0
        for i in range(LOOP):
            f = create_future()
            f.set_result(i)
            total += await f
        return total

    def once() -> None:
        coro = body()
        try:
            coro.send(None)  # completed futures never suspend
        except StopIteration:
            pass

    return lambda: _per_op(once, n) / LOOP


# -- (c) timers ---------------------------------------------------------------------

TIMERS = 100_000


def _noop() -> None:
    pass


CLOCK_TIMERS = 10_000  # Twisted's Clock sorts its whole list on every callLater


def _delays(count: int = TIMERS) -> list[float]:
    rng = random.Random(42)
    return [rng.random() * 0.002 for _ in range(count)]


def _timer_run(callLater: Callable[..., Any], run_due: Callable[[], None]) -> float:
    delays = _delays()
    gc.collect()
    t0 = time.perf_counter()
    calls = [callLater(d, _noop) for d in delays]
    for c in calls[::2]:
        c.cancel()
    t1 = time.perf_counter()
    time.sleep(0.003)  # let every call fall due (not timed)
    t2 = time.perf_counter()
    run_due()
    t3 = time.perf_counter()
    return ((t1 - t0) + (t3 - t2)) / TIMERS


def timers_clock(task: Any) -> Timer:
    def measure() -> float:
        clock = task.Clock()
        delays = _delays(CLOCK_TIMERS)
        gc.collect()
        t0 = time.perf_counter()
        calls = [clock.callLater(d, _noop) for d in delays]
        for c in calls[::2]:
            c.cancel()
        clock.advance(1)
        return (time.perf_counter() - t0) / CLOCK_TIMERS

    return measure


def timers_torsion_reactor() -> Timer | None:
    try:
        from torsion import reactors
    except ImportError:
        return None

    def measure() -> float:
        r = reactors.create()
        try:
            return _timer_run(r.callLater, r.runUntilCurrent)
        finally:
            close = getattr(r, "close", None)
            if close is not None:
                close()

    return measure


def timers_twisted_reactor() -> Timer | None:
    try:
        from twisted.internet.epollreactor import EPollReactor
    except ImportError:
        return None

    def measure() -> float:
        r = EPollReactor()
        try:
            return _timer_run(r.callLater, r.runUntilCurrent)
        finally:
            r._poller.close()
            r.waker.connectionLost(None)

    return measure


def timers_asyncio() -> Timer:
    def measure() -> float:
        loop = asyncio.new_event_loop()
        try:

            def run() -> None:
                loop.call_soon(loop.stop)
                loop.run_forever()

            return _timer_run(loop.call_later, run)
        finally:
            loop.close()

    return measure


# -- (d) import time --------------------------------------------------------------

_IMPORTTIME = re.compile(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s+(\S+)")


def import_time(module: str) -> Timer:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")

    def measure() -> float:
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stderr
        for line in reversed(out.splitlines()):
            m = _IMPORTTIME.match(line)
            if m and m.group(2) == module:
                return int(m.group(1)) / 1e6
        raise RuntimeError(f"no import time found for {module}:\n{out}")

    return measure


# -- driver -----------------------------------------------------------------------------


def build(parts: set[str]) -> list[tuple[str, str, str, dict[str, Timer]]]:
    """(part, name, unit, {system: timer}) for each benchmark."""
    benches: list[tuple[str, str, str, dict[str, Timer]]] = []

    def both(make: Callable[..., Timer], *args: Any) -> dict[str, Timer]:
        systems = {"torsion": make(xdefer, *args)}
        if tdefer is not None:
            systems["twisted"] = make(tdefer, *args)
        return systems

    if "a" in parts:
        benches += [
            ("a", "chain: new Deferred + 10 callbacks + fire", "us", both(chain10)),
            ("a", "chain: succeed() + add 10 callbacks", "us", both(fired10)),
            ("a", "chain: raise in a callback, 5 skipped, errback", "us", both(errback_path)),
            ("a", "chain: 10 callbacks returning pending Deferreds", "us", both(nested10)),
            ("a", "chain: 1000 Deferreds each waiting on the next", "us", both(deep_chain)),
        ]
    if "b" in parts:
        benches += [
            ("b", "inlineCallbacks: yield a fired Deferred", "us", both(inline_loop)),
        ]
        co = both(coroutine_loop)
        co["asyncio"] = asyncio_coroutine_loop()
        benches.append(("b", "coroutine: await a fired Deferred/done future", "us", co))
    if "c" in parts:
        clock = {"torsion": timers_clock(xtask)}
        if ttask is not None:
            clock["twisted"] = timers_clock(ttask)
        benches.append(
            ("c", "timers via task.Clock (10k): schedule, cancel half, run", "us", clock)
        )
        real: dict[str, Timer] = {}
        for name, timer in (
            ("torsion", timers_torsion_reactor()),
            ("twisted", timers_twisted_reactor()),
            ("asyncio", timers_asyncio()),
        ):
            if timer is not None:
                real[name] = timer
        benches.append(
            ("c", "timers via reactor/loop (100k): schedule, cancel half, run", "us", real)
        )
    if "d" in parts:
        imports = {"torsion": import_time("torsion.reactor")}
        if tdefer is not None:
            imports["twisted"] = import_time("twisted.internet.reactor")
        imports["asyncio"] = import_time("asyncio")
        benches.append(("d", "import time of the reactor module", "ms", imports))
    return benches


def run(rounds: int, parts: set[str]) -> list[dict[str, Any]]:
    results = []
    for part, name, unit, systems in build(parts):
        best: dict[str, float] = {}
        order = list(systems)
        for r in range(rounds):
            rotated = order[r % len(order) :] + order[: r % len(order)]
            for system in rotated:
                value = systems[system]()
                best[system] = min(best.get(system, value), value)
        scale = 1e3 if unit == "ms" else 1e6
        row: dict[str, Any] = {"part": part, "name": name, "unit": f"{unit}/op"}
        if unit == "ms":
            row["unit"] = "ms"
        for system, value in best.items():
            row[system] = value * scale
        for other in ("twisted", "asyncio"):
            if other in best:
                row[f"{other}_over_torsion"] = best[other] / best["torsion"]
        results.append(row)
        print_row(row)
    return results


def print_header() -> None:
    print(
        f"{'benchmark':58} {'unit':>6} {'torsion':>9} {'twisted':>9} {'asyncio':>9}"
        f" {'tw/to':>6} {'as/to':>6}"
    )


def print_row(row: dict[str, Any]) -> None:
    def fmt(key: str, spec: str = "9.3f") -> str:
        value = row.get(key)
        width = int(spec.split(".")[0])
        return format(value, spec) if value is not None else " " * (width - 1) + "-"

    print(
        f"{row['name']:58} {row['unit']:>6} {fmt('torsion')} {fmt('twisted')} {fmt('asyncio')}"
        f" {fmt('twisted_over_torsion', '6.2f')} {fmt('asyncio_over_torsion', '6.2f')}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (>= 2)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--only", default="a,b,c,d", help="parts to run, e.g. a,b")
    args = parser.parse_args()
    rounds = max(2, args.rounds)
    parts = set(args.only.split(","))
    print(f"Python {platform.python_version()} on {platform.machine()}; best of {rounds} rounds")
    print("ratios: how many times longer the other system takes (higher = torsion faster)\n")
    print_header()
    results = run(rounds, parts)
    if args.json:
        meta = {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
            "rounds": rounds,
            "twisted": getattr(sys.modules.get("twisted"), "__version__", None),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
