"""Run torsion's benchmark suite against Twisted, asyncio, uvloop and C; write BENCHMARKS.md.

    python bench/run.py            # the full run (~8 minutes): BENCHMARKS.md, docs/bench-echo.png
    python bench/run.py --quick    # a short run (<1 minute) into bench/out/ only

Parts (``--only``, comma-separated): echo (TCP echo throughput and latency),
churn (connections per second), core (bench/bench_core.py: Deferreds, timers,
coroutines, import time), memory (RSS per idle connection), tls (TLS echo),
web (``torsion run web`` against ``twist web`` serving static files, under wrk;
skipped, with the reason, when wrk is not installed), aio (bench/aio.py: asyncio
code on torsion's loop against stock asyncio and uvloop).
The raw figures of every run go to bench/out/results[-quick].json; the report
can be rewritten from them with ``python bench/report.py``.
``--torsion-src DIR`` benchmarks another copy of torsion's ``src`` (for A/B
trials of a change; the core part always uses this tree's).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import common as c

PARTS = ("echo", "churn", "core", "memory", "tls", "web", "aio")
SYSTEMS = ["torsion", "twisted", "asyncio", "uvloop"]


def settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "rounds": 2,
            "echo_sizes": [1024, 65536],
            "echo_conns": [10],
            "echo_seconds": 0.5,
            "churn_seconds": 0.5,
            "memory_conns": 1000,
            "memory_rounds": 1,
            "tls_sizes": [1024],
            "tls_seconds": 0.5,
            "core_args": ["--rounds", "2", "--only", "d"],
            "core_timeout": 30,
            "web_conns": 50,
            "web_seconds": 1,
        }
    # Four short rounds rather than two long ones: on a shared machine the
    # median of four resists a burst of someone else's work better.  Echo, whose
    # rounds disagree most here (up to 60% between the best and the worst), and
    # whose ratios are the closest to their targets, gets six.
    return {
        "rounds": 4,
        "echo_rounds": 6,
        "echo_sizes": [1024, 16384, 65536],
        "echo_conns": [10, 100],
        "echo_seconds": 1.5,
        "churn_seconds": 2.0,
        "memory_conns": 10000,
        "memory_rounds": 2,
        "tls_sizes": [1024, 65536],
        "tls_seconds": 1.5,
        "core_args": ["--rounds", "2"],
        "core_timeout": 240,
        "web_conns": 50,
        "web_seconds": 3,
    }


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat; steal counts as busy)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds used by this runner and every child (servers, load clients) it waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


class Others:
    """How much of the machine other processes used while each part ran.

    The CPU idle figures before and after the run miss someone else's work in
    the middle of it; this counts the machine's busy time during each part
    less what the runner and its children used, as a share of all cores.
    """

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.busy: dict[str, float] = {}

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        t0, busy0, own0 = time.monotonic(), machine_busy_s(), own_cpu_s()
        try:
            yield
        finally:
            wall = time.monotonic() - t0
            others = max(0.0, machine_busy_s() - busy0 - (own_cpu_s() - own0))
            self.wall[name], self.busy[name] = wall, others
            self.parts[name] = others / (wall * (os.cpu_count() or 1))
            c.log(f"  other processes used {self.parts[name]:.0%} of the CPU during {name}")

    def summary(self) -> dict[str, Any]:
        wall = sum(self.wall.values()) * (os.cpu_count() or 1)
        return {"parts": self.parts, "run": sum(self.busy.values()) / wall if wall else 0.0}


def run_core(args: list[str], out: Path, timeout: float) -> dict[str, Any]:
    script = c.BENCH / "bench_core.py"
    if not script.exists():
        return {"skipped": "bench/bench_core.py is missing"}
    path = out / "core.json"
    path.unlink(missing_ok=True)
    env = {**c.os.environ, **c.python_env()}
    cmd = [*c.taskset(c.SERVER_CPU), c.PYTHON, str(script), *args, "--json", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"bench_core.py {' '.join(args)} took longer than {timeout:g} s"}
    if proc.returncode or not path.exists():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"bench_core.py failed ({proc.returncode}): {last}"}
    c.log(proc.stdout.rstrip())
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a short run, reported into bench/out/")
    p.add_argument("--only", default=",".join(PARTS), help=f"parts to run, of {','.join(PARTS)}")
    p.add_argument("--rounds", type=int, help="alternating rounds (default 4, echo 6; quick 2)")
    p.add_argument("--torsion-src", type=Path, help="benchmark this copy of torsion's src/")
    p.add_argument("--out", type=Path, default=c.OUT, help="folder for the raw results")
    p.add_argument("--md", type=Path, help="report path (default BENCHMARKS.md; quick: in --out)")
    p.add_argument("--chart", type=Path, help="chart path (default docs/bench-echo.png)")
    a = p.parse_args(argv)
    parts = [x for x in a.only.split(",") if x]
    unknown = set(parts) - set(PARTS)
    if unknown:
        p.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    cfg = settings(a.quick)
    rounds = a.rounds or cfg["rounds"]
    suffix = "-quick" if a.quick else ""
    md = a.md or (a.out / "BENCHMARKS-quick.md" if a.quick else c.ROOT / "BENCHMARKS.md")
    chart = a.chart or (
        a.out / "bench-echo-quick.png" if a.quick else c.ROOT / "docs" / "bench-echo.png"
    )
    a.out.mkdir(parents=True, exist_ok=True)
    src = a.torsion_src.resolve() if a.torsion_src else None

    c.pin_self(c.CLIENT_CPU)
    c.raise_nofile()
    started = time.time()
    res: dict[str, Any] = {
        "command": "python "
        + " ".join(shlex.quote(x) for x in ["bench/run.py", *(argv or sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": c.machine(),
        "settings": {**cfg, "rounds": rounds, "torsion_src": str(src or c.ROOT / "src")},
        "idle_before": c.cpu_idle(),
    }
    c.log(f"machine idle {res['idle_before']:.0%}; parts: {', '.join(parts)}")
    others = Others()
    if "echo" in parts:
        import echo

        c.log("TCP echo")
        with others.part("echo"):
            res["echo"] = echo.run(
                [*SYSTEMS, "c"],
                cfg["echo_sizes"],
                cfg["echo_conns"],
                a.rounds or cfg.get("echo_rounds", rounds),
                cfg["echo_seconds"],
                src,
            )
    if "churn" in parts:
        import churn

        c.log("connection churn")
        with others.part("churn"):
            res["churn"] = churn.run(SYSTEMS, rounds, cfg["churn_seconds"], 10, src)
    if "core" in parts:
        c.log("core: bench/bench_core.py")
        with others.part("core"):
            res["core"] = run_core(cfg["core_args"], a.out, cfg["core_timeout"])
        if "skipped" in res["core"]:
            c.log(f"  skipped: {res['core']['skipped']}")
    if "memory" in parts:
        import memory

        c.log("memory per idle connection")
        with others.part("memory"):
            res["memory"] = memory.run(SYSTEMS, cfg["memory_conns"], cfg["memory_rounds"], src)
    if "tls" in parts:
        import tls

        c.log("TLS echo")
        with others.part("tls"):
            res["tls"] = tls.run(SYSTEMS, cfg["tls_sizes"], 10, rounds, cfg["tls_seconds"], src)
        if "skipped" in res["tls"]:
            c.log(f"  skipped: {res['tls']['skipped']}")
    if "web" in parts:
        import web

        c.log("web: static files over HTTP/1.1, under wrk")
        with others.part("web"):
            res["web"] = web.run(
                web.SYSTEMS, cfg["web_conns"], rounds, cfg["web_seconds"], a.out, src
            )
        if "skipped" in res["web"]:
            c.log(f"  skipped: {res['web']['skipped']}")
    if "aio" in parts:
        import aio

        c.log("torsion.aio: asyncio code on torsion's loop, asyncio and uvloop")
        with others.part("aio"):
            res["aio"] = aio.run(
                rounds,
                cfg["echo_seconds"],
                [1024, 65536],
                [10, 100] if not a.quick else [10],
                ["echo", "streams", "twisted", "loop", "aiohttp"],
            )
    res["others_cpu"] = others.summary()
    res["idle_after"] = c.cpu_idle()
    res["elapsed_s"] = time.time() - started
    raw = a.out / f"results{suffix}.json"
    raw.write_text(json.dumps(res, indent=1))
    c.log(f"wrote {raw}")

    import report

    report.write(res, md, chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
