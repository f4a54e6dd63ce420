"""torsion.aio against stock asyncio and uvloop: asyncio code on each loop.

    python bench/aio.py [--rounds N] [--seconds S] [--quick] [--json PATH] [--md BENCHMARKS.md]

Parts, each with the systems alternating in an order rotated each round (the
fair method of bench/echo.py: fresh server per measurement, C load client on
the other core, ratios from the same run):

* echo: an ``asyncio.Protocol`` echo server (bench/servers/echo_asyncio.py)
  on torsion's loop, stock asyncio and uvloop; 1 KiB and 64 KiB, 10 and 100
  connections, under ``echoload``.
* streams: the same with ``asyncio.start_server`` and a reader/writer loop.
* twisted: the Twisted-idiom echo (bench/servers/echo_protocol.py) on
  torsion's epoll backend and on ``TORSION_REACTOR=asyncio`` over uvloop.
* loop: in-process churn of ``call_soon``, ``call_later`` (half cancelled)
  and ``asyncio.sleep(0)`` task switching (a fresh interpreter per figure).
* aiohttp: an aiohttp web server on each loop under ``wrk`` (skipped without
  wrk or aiohttp).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common as c
import echo

LOOPS = ["torsion", "asyncio", "uvloop"]


# ------------------------------------------------------------ in-process


def _micro(loopName: str, what: str, n: int) -> tuple[float, float]:
    """(wall-clock, CPU) seconds per operation of ``what`` on a new loop of ``loopName``.

    Run in a child.  CPU time (``time.process_time``) leaves out the time the
    loop sleeps waiting for a timer: ``call_later`` waits 0.11 s for its last
    one, the same on every loop, which wall-clock time counts.
    """
    import asyncio

    if loopName == "torsion":
        import torsion.aio

        loop: Any = torsion.aio.new_event_loop()
    elif loopName == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()

    async def callSoon() -> None:
        done = loop.create_future()
        count = [0]

        def tick() -> None:
            count[0] += 1
            if count[0] < n:
                loop.call_soon(tick)
                loop.call_soon(noop)
            else:
                done.set_result(None)

        tick()
        await done

    def noop() -> None:
        pass

    async def callLater() -> None:
        done = loop.create_future()
        handles = [loop.call_later(0.001 * (i % 100), noop) for i in range(n)]
        for h in handles[::2]:
            h.cancel()
        loop.call_later(0.11, done.set_result, None)
        await done

    async def sleep0() -> None:
        async def worker() -> None:
            for _ in range(n // 10):
                await asyncio.sleep(0)

        await asyncio.gather(*(worker() for _ in range(10)))

    coro = {"call_soon": callSoon, "call_later": callLater, "sleep0": sleep0}[what]
    try:
        loop.run_until_complete(coro())  # warm up
        t0, c0 = time.perf_counter(), time.process_time()
        loop.run_until_complete(coro())
        return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n
    finally:
        loop.close()


def loop_part(rounds: int) -> dict[str, Any]:
    figures: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    sizes = {"call_soon": 200_000, "call_later": 100_000, "sleep0": 200_000}
    for what, n in sizes.items():
        for rnd in range(rounds):
            for loopName in c.rotated(LOOPS, rnd):
                out = subprocess.run(
                    [
                        *c.taskset(c.SERVER_CPU),
                        c.PYTHON,
                        __file__,
                        "--micro",
                        loopName,
                        what,
                        str(n),
                    ],
                    capture_output=True,
                    text=True,
                    env={**c.os.environ, **c.python_env()},
                    timeout=300,
                )
                if out.returncode:
                    raise RuntimeError(out.stderr)
                wall, cpuTime = map(float, out.stdout.split())
                figures.setdefault(what, {}).setdefault(loopName, []).append(wall)
                cpu.setdefault(what, {}).setdefault(loopName, []).append(cpuTime)
        best = {k: min(v) * 1e9 for k, v in figures[what].items()}
        bestCpu = {k: min(v) * 1e9 for k, v in cpu[what].items()}
        c.log(
            f"  {what:10} "
            + "  ".join(f"{k} {v:7.0f} ns ({bestCpu[k]:.0f} CPU)" for k, v in best.items())
        )

    def best(f: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
        return {w: {k: min(v) * 1e9 for k, v in per.items()} for w, per in f.items()}

    return {"ns_per_op": best(figures), "cpu_ns_per_op": best(cpu)}


# ------------------------------------------------------------ aiohttp

_WEB_SERVER = """
import asyncio, sys
from aiohttp import web
async def hello(request):
    return web.Response(text="hello, world")
async def main():
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print("PORT", site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
loop = sys.argv[1]
if loop == "uvloop":
    import uvloop; uvloop.run(main())
elif loop == "torsion":
    import torsion.aio; torsion.aio.run(main())
else:
    asyncio.run(main())
"""

_WRK_RE = re.compile(r"Requests/sec:\s+([\d.]+)")


def aiohttp_part(rounds: int, seconds: float, conns: int = 50) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed"}
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return {"skipped": "aiohttp is not installed"}
    runs: dict[str, list[float]] = {}
    for rnd in range(rounds):
        for loopName in c.rotated(LOOPS, rnd):
            server = c.Server(
                f"aiohttp-{loopName}", [c.PYTHON, "-c", _WEB_SERVER, loopName], c.python_env()
            )
            with server:
                url = f"http://{c.HOST}:{server.port}/"
                duration = f"-d{max(1, round(seconds))}s"
                cmd = [*c.taskset(c.CLIENT_CPU), wrk, "-t1", f"-c{conns}", duration, url]
                subprocess.run([*cmd[:-2], "-d1s", url], capture_output=True)  # warm up
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
                m = _WRK_RE.search(out.stdout)
                if m is None:
                    raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
                runs.setdefault(loopName, []).append(float(m.group(1)))
                c.log(f"  aiohttp {loopName:8}: {float(m.group(1)):9.0f} rps")
    return {"rps": {k: statistics.median(v) for k, v in runs.items()}, "runs": runs}


# ------------------------------------------------------------ running


def run(
    rounds: int, seconds: float, sizes: list[int], conns: list[int], parts: list[str]
) -> dict[str, Any]:
    """Measure the named parts; the figures for report.aio_section."""
    res: dict[str, Any] = {"sizes": sizes, "conns": conns, "rounds": rounds, "seconds": seconds}
    if "echo" in parts:
        c.log("asyncio protocol echo")
        res["echo"] = echo.run(["torsion-aio", "asyncio", "uvloop"], sizes, conns, rounds, seconds)
    if "streams" in parts:
        c.log("asyncio streams echo")
        res["streams"] = echo.run(
            ["torsion-aio-streams", "asyncio-streams", "uvloop-streams"],
            sizes,
            conns,
            rounds,
            seconds,
        )
    if "twisted" in parts:
        c.log("Twisted-idiom echo: epoll backend vs the asyncio backend on uvloop")
        res["twisted"] = echo.run(["torsion", "torsion-on-uvloop"], sizes, conns, rounds, seconds)
    if "loop" in parts:
        c.log("loop churn (ns per operation, best round)")
        res["loop"] = loop_part(rounds)
    if "aiohttp" in parts:
        c.log("aiohttp under wrk")
        res["aiohttp"] = aiohttp_part(rounds, max(seconds, 1.0) * 2)
    return res


def section(res: dict[str, Any], command: str, started: str, others: float) -> list[str]:
    """BENCHMARKS.md's section 7 from this run alone, with its own targets table."""
    import report

    targets = report.Targets()
    body = report.aio_section(res, targets)
    measured = (
        f"Measured with `{command}` ({started}, {res['rounds']} rounds of"
        f" {res['seconds']:g} s; other processes used {others:.0%} of the CPU meanwhile)."
        " Targets of this part:"
    )
    note = []
    if others >= 0.1:
        note = [
            f"**Note:** other processes used {others:.0%} of the CPU while this ran (on two"
            " cores, servers and load client competed with them): these figures are much"
            " noisier than on a quiet machine, and round trips/s most of all.",
            "",
        ]
    return [body[0], "", measured, "", *note, *targets.markdown(), "", *body[2:]]


def splice(md: Path, block: list[str]) -> None:
    """Replace section 7 of ``md`` (to the next ``## `` heading or the end) with ``block``."""
    text = md.read_text()
    head, sep, rest = text.partition("## 7. ")
    if not sep:
        head, rest = text.rstrip("\n") + "\n\n", ""
    # Section 7 ends at the next heading, or at the hand-written part's marker.
    ends = [i for i in (rest.find("\n## "), rest.find("\n<!-- Sections below")) if i >= 0]
    nxt = min(ends) if ends else -1
    tail = rest[nxt + 1 :] if nxt >= 0 else ""
    md.write_text(head + "\n".join(block).rstrip("\n") + "\n" + ("\n" + tail if tail else ""))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--micro":
        print(*_micro(argv[1], argv[2], int(argv[3])))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--quick", action="store_true", help="2 rounds of 0.5 s, 10 connections")
    p.add_argument("--only", default="echo,streams,twisted,loop,aiohttp")
    p.add_argument("--json", help="write the raw figures here")
    p.add_argument("--md", type=Path, help="write section 7 of this report (BENCHMARKS.md)")
    a = p.parse_args(argv)
    rounds, seconds = (2, 0.5) if a.quick else (a.rounds, a.seconds)
    sizes, conns = [1024, 65536], [10] if a.quick else [10, 100]
    c.pin_self(c.CLIENT_CPU)
    c.raise_nofile()
    import run as runner

    command = "python " + " ".join(shlex.quote(x) for x in ["bench/aio.py", *argv])
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    others = runner.Others()
    with others.part("aio"):
        res = run(rounds, seconds, sizes, conns, a.only.split(","))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    block = section(res, command, started, others.parts["aio"])
    if a.md:
        splice(a.md, block)
        c.log(f"wrote section 7 of {a.md}")
    print("\n".join(block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
