"""Write BENCHMARKS.md and the echo chart from the runner's results JSON.

    python bench/report.py bench/out/results.json [--md PATH] [--chart PATH]

(by default BENCHMARKS.md and docs/bench-echo.png).

Every figure comes from the JSON: the median over the rounds of each system;
ratios are torsion's median over the other system's (for throughput, higher is
better for torsion; for memory and time per operation, lower is).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common as c

NAMES = {
    "torsion": "torsion",
    "twisted": "Twisted",
    "asyncio": "asyncio",
    "uvloop": "uvloop",
    "c": "C echoserv",
}


def medians(runs: list[dict[str, Any]], key: str, *group: str) -> dict[tuple[Any, ...], float]:
    """Median of ``key`` per (group fields..., system)."""
    acc: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in runs:
        acc[(*(r[g] for g in group), r["system"])].append(r[key])
    return {k: c.median(v) for k, v in acc.items()}


def spread(runs: list[dict[str, Any]], key: str, *group: str) -> dict[tuple[Any, ...], float]:
    """(max - min) / median of ``key`` per group: how much the rounds disagree."""
    acc: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in runs:
        acc[(*(r[g] for g in group), r["system"])].append(r[key])
    return {k: (max(v) - min(v)) / c.median(v) if c.median(v) else 0.0 for k, v in acc.items()}


def size_name(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def fmt(x: float | None, spec: str = ",.0f") -> str:
    return "-" if x is None else format(x, spec)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


class Targets:
    """The issue's targets, checked against the figures as the report is written."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def check(
        self, what: str, value: float | None, goal: float, higher: bool = True, note: str = ""
    ) -> None:
        """Record ``what``: met or MISSED; ``note`` follows the measured figure."""
        if value is None:
            self.rows.append((what, "not measured", "-"))
            return
        ok = value >= goal if higher else value <= goal
        sign = ">=" if higher else "<="
        measured = f"{value:.2f} (target {sign} {goal:g})" + (f"; {note}" if note else "")
        self.rows.append((what, measured, "met" if ok else "MISSED"))

    def markdown(self) -> list[str]:
        out = ["| target | measured | |", "| --- | --- | --- |"]
        out += [f"| {w} | {m} | {s} |" for w, m, s in self.rows]
        return out


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def cpu_table(
    runs: list[dict[str, Any]],
    systems: list[str],
    group: tuple[str, ...],
    configs: list[tuple[Any, ...]],
    labels: Callable[[tuple[Any, ...]], list[str]],
    header: list[str],
) -> list[str]:
    """The server's CPU per round trip (user + system) per config, and torsion's ratios.

    With the load client's CPU recorded too, each cell also says how busy the
    client's core was: near 100%, the client, not the server, set the pace.
    """
    user = medians(runs, "cpu_user_us", *group)
    kern = medians(runs, "cpu_sys_us", *group)
    busy = medians([r for r in runs if "client_busy" in r], "client_busy", *group)
    others = [s for s in systems if s != "torsion"]
    rows = []
    for config in configs:
        row = labels(config)
        total = {}
        for s in systems:
            u, k = user.get((*config, s)), kern.get((*config, s))
            total[s] = u + k if u is not None and k is not None else None
            cell = f"{fmt(u, '.1f')} + {fmt(k, '.1f')}"
            b = busy.get((*config, s))
            row.append(cell if b is None else f"{cell} ({b:.0%})")
        row += [fmt(ratio(total["torsion"], total[s]), ".2f") for s in others]
        rows.append(row)
    names = [NAMES[s] for s in systems]
    return table(header + names + [f"torsion/{NAMES[s]}" for s in others], rows)


CPU_TEXT = (
    "The server's CPU time per round trip, user + system, in microseconds (median over"
    " rounds; from /proc, 10 ms ticks; in brackets, how busy the load client's core was),"
    " and torsion's over each other's (lower is better for torsion). Unlike throughput,"
    " this does not depend on which side was the bottleneck:"
)


def echo_section(echo: dict[str, Any], targets: Targets, chart: str | None) -> list[str]:
    runs = echo["runs"]
    systems = echo["systems"]
    rps = medians(runs, "rps", "size", "conns")
    p50 = medians(runs, "p50", "size", "conns")
    p99 = medians(runs, "p99", "size", "conns")
    sp = spread(runs, "rps", "size", "conns")
    configs = sorted({(r["size"], r["conns"]) for r in runs})
    others = [s for s in systems if s != "torsion"]
    out = [
        "## 1. TCP echo",
        "",
        f"Round trips per second (median of {echo['rounds']} rounds of {echo['seconds']:g} s;"
        " in brackets, the spread between rounds, (max-min)/median), then torsion's ratio"
        " to each other server (higher is better for torsion).",
        "",
    ]
    rows = []
    for size, conns in configs:
        row = [size_name(size), str(conns)]
        for s in systems:
            v = rps.get((size, conns, s))
            d = sp.get((size, conns, s))
            row.append(f"{fmt(v)} ({d:.0%})" if v is not None and d is not None else fmt(v))
        for s in others:
            row.append(
                fmt(ratio(rps.get((size, conns, "torsion")), rps.get((size, conns, s))), ".2f")
            )
        rows.append(row)
    header = ["size", "conns", *(NAMES[s] for s in systems)]
    header += [f"torsion/{NAMES[s]}" for s in others]
    out += table(header, rows)
    out += ["", "Latency, p50 / p99 in ms (median over rounds):", ""]
    rows = []
    for size, conns in configs:
        row = [size_name(size), str(conns)]
        for s in systems:
            a, b = p50.get((size, conns, s)), p99.get((size, conns, s))
            row.append(f"{fmt(a, '.3f')} / {fmt(b, '.3f')}")
        rows.append(row)
    out += table(["size", "conns", *(NAMES[s] for s in systems)], rows)
    if any("cpu_user_us" in r for r in runs):
        out += ["", CPU_TEXT, ""]
        out += cpu_table(
            runs,
            systems,
            ("size", "conns"),
            configs,
            lambda k: [size_name(k[0]), str(k[1])],
            ["size", "conns"],
        )
    if chart:
        out += ["", f"![echo round trips per second]({chart})"]
    out.append("")
    for size, conns in configs:
        t = rps.get((size, conns, "torsion"))
        label = f"echo {size_name(size)} x {conns} conns: torsion"
        if size == 1024:
            targets.check(f"{label} / uvloop", ratio(t, rps.get((size, conns, "uvloop"))), 1.0)
            targets.check(f"{label} / Twisted", ratio(t, rps.get((size, conns, "twisted"))), 2.5)
            targets.check(f"{label} / C echoserv", ratio(t, rps.get((size, conns, "c"))), 0.75)
        elif size == 65536:
            targets.check(f"{label} / uvloop", ratio(t, rps.get((size, conns, "uvloop"))), 1.0)
    return out


def churn_section(churn: dict[str, Any], targets: Targets) -> list[str]:
    runs = churn["runs"]
    systems = churn["systems"]
    cps = medians(runs, "cps")
    sp = spread(runs, "cps")
    t = cps.get(("torsion",))
    out = [
        "## 2. Connection churn",
        "",
        "Connections per second (connect, echo 64 bytes, close), client and server of the same"
        f" system, {churn['concurrency']} connections in flight, {churn['seconds']:g} s per run,"
        " median of the rounds (spread in brackets):",
        "",
    ]
    cpu = medians(runs, "server_cpu_us") if all("server_cpu_us" in r for r in runs) else {}
    rows = [
        [
            NAMES[s],
            f"{fmt(cps.get((s,)))} ({sp.get((s,), 0):.0%})",
            fmt(ratio(t, cps.get((s,))), ".2f"),
            fmt(cpu.get((s,)), ".1f"),
        ]
        for s in systems
    ]
    header = ["system", "connections/s", "torsion/system", "server CPU us/connection"]
    out += table(header, rows)
    out.append("")
    targets.check("churn: torsion / Twisted", ratio(t, cps.get(("twisted",))), 2.0)
    targets.check("churn: torsion / asyncio", ratio(t, cps.get(("asyncio",))), 1.0)
    return out


def core_section(core: dict[str, Any], targets: Targets) -> list[str]:
    rows = []
    worst: dict[str, float | None] = {"a": None, "c": None}
    import_ms = import_ratio = None
    for r in core.get("results", []):
        tw = r.get("twisted_over_torsion")
        rows.append(
            [
                r["name"],
                r["unit"],
                fmt(r.get("torsion"), ".3f"),
                fmt(r.get("twisted"), ".3f"),
                fmt(r.get("asyncio"), ".3f"),
                fmt(tw, ".2f"),
                fmt(r.get("asyncio_over_torsion"), ".2f"),
            ]
        )
        if r["part"] in worst and tw is not None:
            w = worst[r["part"]]
            worst[r["part"]] = tw if w is None else min(w, tw)
        if r["part"] == "d":
            import_ms, import_ratio = r.get("torsion"), tw
    rounds = core.get("meta", {}).get("rounds", "?")
    out = [
        "## 3. Timers, Deferreds, coroutines, import time",
        "",
        f"From `bench/bench_core.py --json` (best of {rounds} alternating rounds). Times per"
        " operation; the ratios are how many times longer the other system takes"
        " (higher is better for torsion).",
        "",
    ]
    out += table(
        [
            "benchmark",
            "unit",
            "torsion",
            "Twisted",
            "asyncio",
            "Twisted/torsion",
            "asyncio/torsion",
        ],
        rows,
    )
    out.append("")
    targets.check("Deferred chains: Twisted time / torsion time (worst case)", worst["a"], 2.0)
    targets.check("timers: Twisted time / torsion time (worst case)", worst["c"], 2.0)
    if import_ms is not None:
        targets.check("import torsion.reactor, ms", import_ms, 50.0, higher=False)
        targets.check("import time: Twisted reactor / torsion.reactor", import_ratio, 1.0)
    return out


def memory_section(mem: dict[str, Any], targets: Targets) -> list[str]:
    runs = mem["runs"]
    per = medians(runs, "bytes_per_conn")
    before = medians(runs, "rss_before_kib")
    after = medians(runs, "rss_after_kib")
    t = per.get(("torsion",))
    out = [
        "## 4. Memory per idle connection",
        "",
        f"The server's RSS growth with {mem['conns']:,} idle connections open, divided by the"
        " number of connections (median of the rounds; lower is better, so here a ratio"
        " below 1 favours torsion):",
        "",
    ]
    rows = [
        [
            NAMES[s],
            fmt(per.get((s,), 0) / 1024, ".2f"),
            f"{fmt(before.get((s,), 0) / 1024, '.1f')} -> {fmt(after.get((s,), 0) / 1024, '.1f')}",
            fmt(ratio(t, per.get((s,))), ".2f"),
        ]
        for s in mem["systems"]
    ]
    out += table(["system", "KiB / connection", "RSS MiB before -> after", "torsion/system"], rows)
    out.append("")
    targets.check("memory/conn: torsion / Twisted", ratio(t, per.get(("twisted",))), 1.0, False)
    targets.check("memory/conn: torsion / asyncio", ratio(t, per.get(("asyncio",))), 1.0, False)
    return out


def tls_section(tls: dict[str, Any], targets: Targets) -> list[str]:
    out = ["## 5. TLS echo", ""]
    if "skipped" in tls:
        targets.check("TLS echo", None, 1.0)
        return [*out, f"Skipped: {tls['skipped']}", ""]
    runs = tls["runs"]
    systems = tls["systems"]
    rps = medians(runs, "rps", "size")
    p99 = medians(runs, "p99", "size")
    sizes = sorted({r["size"] for r in runs})
    others = [s for s in systems if s != "torsion"]
    out += [
        f"Round trips per second through TLS (`bench/tlsload.c`, OpenSSL, {tls['conns']}"
        f" connections, {tls['seconds']:g} s per run, median of the rounds; p99 ms in"
        " brackets), and torsion's ratios:",
        "",
    ]
    rows = []
    for size in sizes:
        row = [size_name(size)]
        row += [f"{fmt(rps.get((size, s)))} ({fmt(p99.get((size, s)), '.2f')})" for s in systems]
        row += [fmt(ratio(rps.get((size, "torsion")), rps.get((size, s))), ".2f") for s in others]
        rows.append(row)
    header = ["size", *(NAMES[s] for s in systems), *(f"torsion/{NAMES[s]}" for s in others)]
    out += table(header, rows)
    if any("cpu_user_us" in r for r in runs):
        out += ["", CPU_TEXT, ""]
        out += cpu_table(
            runs, systems, ("size",), [(z,) for z in sizes], lambda k: [size_name(k[0])], ["size"]
        )
    out.append("")
    for size in sizes:
        t = rps.get((size, "torsion"))
        label = f"TLS echo {size_name(size)}: torsion"
        targets.check(f"{label} / asyncio", ratio(t, rps.get((size, "asyncio"))), 1.0)
        targets.check(f"{label} / Twisted", ratio(t, rps.get((size, "twisted"))), 2.0)
    return out


WEB_NAMES = {
    "torsion": "torsion run web",
    "torsion-log": "torsion run web --access-log",
    "twisted": "twist web",
}


def web_section(web: dict[str, Any], targets: Targets) -> list[str]:
    out = ["## 6. Web (static files over HTTP/1.1)", ""]
    labels = {"small": "small file", "64k": "64 KiB file"}
    if "skipped" in web:
        for label in labels.values():
            targets.check(f"web {label}: torsion / twist web", None, 2.0)
        return [*out, f"Skipped: {web['skipped']}", ""]
    runs = web["runs"]
    systems = web["systems"]
    files = web["files"]
    rps = medians(runs, "rps", "file")
    sp = spread(runs, "rps", "file")
    p50 = medians(runs, "p50", "file")
    p99 = medians(runs, "p99", "file")
    user = medians(runs, "cpu_user_us", "file")
    kern = medians(runs, "cpu_sys_us", "file")
    errors = sum(r["errors"] for r in runs)
    mine = [s for s in systems if s != "twisted"]
    names = {s: WEB_NAMES.get(s, s) for s in systems}
    out += [
        "Each server is started from its command line, serving the same folder (a"
        f" {files['small']['size']:,}-byte text file and a {files['64k']['size'] // 1024} KiB"
        " binary file), its log going to a file:",
        "",
        "```",
        *(web["commands"][s] for s in systems),
        "```",
        "",
        f"The load is `wrk -t1 -c{web['conns']} -d{web['seconds']}s --latency URL` (one thread,"
        f" {web['conns']} keep-alive connections) on the client core. `twist web` logs a line per"
        " request by default (JSON, as its output is not a terminal); `torsion run web` logs"
        " none unless given `--access-log`, so that column is the like-for-like comparison."
        f" Requests per second, median of {web['rounds']} rounds (spread in brackets), and"
        " torsion's ratio to twist web (higher is better for torsion):",
        "",
    ]
    rows = []
    for f in files:
        row = [labels.get(f, f)]
        row += [f"{fmt(rps.get((f, s)))} ({sp.get((f, s), 0):.0%})" for s in systems]
        row += [fmt(ratio(rps.get((f, s)), rps.get((f, "twisted"))), ".2f") for s in mine]
        rows.append(row)
    header = ["file", *(f"`{names[s]}`" for s in systems)]
    header += [f"{'torsion --access-log' if s == 'torsion-log' else s}/twist" for s in mine]
    out += table(header, rows)
    bad = "no" if not errors else f"{errors:,.0f}"
    out += [
        "",
        f"wrk counted {bad} socket errors or non-2xx/3xx responses over all runs.",
        "",
        "Latency, p50 / p99 in ms (median over rounds):",
        "",
    ]
    rows = [
        [labels.get(f, f)]
        + [f"{fmt(p50.get((f, s)), '.2f')} / {fmt(p99.get((f, s)), '.2f')}" for s in systems]
        for f in files
    ]
    out += table(["file", *(f"`{names[s]}`" for s in systems)], rows)
    out += [
        "",
        "The server's CPU time per request, user + system, in microseconds (median over rounds,"
        " from /proc), and torsion's over twist web's (lower is better for torsion):",
        "",
    ]
    rows = []
    for f in files:
        total = {}
        row = [labels.get(f, f)]
        for s in systems:
            u, k = user.get((f, s)), kern.get((f, s))
            total[s] = u + k if u is not None and k is not None else None
            row.append(f"{fmt(u, '.1f')} + {fmt(k, '.1f')}")
        row += [fmt(ratio(total[s], total.get("twisted")), ".2f") for s in mine]
        rows.append(row)
    out += table(header, rows)
    out.append("")
    for f, label in labels.items():
        value = ratio(rps.get((f, "torsion")), rps.get((f, "twisted")))
        targets.check(f"web {label}: torsion / twist web", value, 2.0)
    return out


def others_text(others: dict[str, Any]) -> str:
    parts = ", ".join(f"{k} {v:.0%}" for k, v in others["parts"].items())
    return f"{others['run']:.0%} of all cores ({parts})"


#: At or above this share of its core, the load client (not the server) set the pace.
CLIENT_BOUND = 0.85

AIO_ECHO = {
    "protocol echo": ("echo", ("torsion-aio", "asyncio", "uvloop")),
    "streams echo": ("streams", ("torsion-aio-streams", "asyncio-streams", "uvloop-streams")),
}

AIO_TEXT = (
    "The same asyncio programs on torsion's loop (`torsion.aio`), the stock loop and"
    " uvloop (`python bench/aio.py`; servers: bench/servers/echo_asyncio.py, with"
    " `--api streams` for `asyncio.start_server`)."
)

AIO_PRIMARY_TEXT = (
    "Which figure decides an echo target: the round trips per second, unless the C load"
    f" client was the bottleneck (its core at least {CLIENT_BOUND:.0%} busy, median over the"
    " rounds of either server compared): then every server waits for the same client, the"
    " round trips per second of all of them come out nearly equal whatever each costs, and"
    " the ratio of the servers' CPU time per round trip (from /proc) decides instead. Both"
    " figures are in the tables. The loop churn targets are decided by CPU time per"
    " operation (`time.process_time`); wall-clock time is shown beside it: for"
    " `call_later` it includes the 0.11 s the test waits for its last timer, the same"
    " for every loop, which pulls the wall-clock ratio towards 1."
)


def aio_echo_figures(
    runs: list[dict[str, Any]], size: int, conns: int, system: str
) -> dict[str, float | None]:
    """Medians of one system's echo runs at (size, conns): rps, CPU us per trip, client busy."""
    mine = [r for r in runs if (r["size"], r["conns"], r["system"]) == (size, conns, system)]
    if not mine:
        return {"rps": None, "cpu": None, "busy": None, "user": None, "sys": None}
    cpu = [r["cpu_user_us"] + r["cpu_sys_us"] for r in mine if "cpu_user_us" in r]
    busy = [r["client_busy"] for r in mine if "client_busy" in r]
    return {
        "rps": c.median([r["rps"] for r in mine]),
        "cpu": c.median(cpu) if cpu else None,
        "busy": c.median(busy) if busy else None,
        "user": c.median([r["cpu_user_us"] for r in mine]) if cpu else None,
        "sys": c.median([r["cpu_sys_us"] for r in mine]) if cpu else None,
    }


AIO_CEILING_TEXT = (
    "Where the server's CPU goes, per round trip: its own code (user) and the kernel"
    " (system: the recv and send calls, loopback TCP, epoll), in microseconds (medians)."
    " The three loops make the same system calls per round trip (one recv, one send, a"
    " share of an epoll wait: counted with `perf stat -e 'syscalls:sys_enter_*'`), so"
    " their kernel time is nearly equal and only the user part is the loop's. The"
    " *ceiling* is stock asyncio's CPU per round trip over the lowest kernel time of the"
    " three: the ratio a loop whose own code cost nothing at all would reach. A target"
    " above the ceiling cannot be met on this machine by any loop; uvloop's own ratio"
    " to asyncio (its loop in C) is shown beside it."
)


def aio_ceiling_row(
    part: str, case: str, figs: tuple[dict[str, float | None], ...]
) -> list[str] | None:
    """A row of the user/system split table (torsion.aio, asyncio, uvloop figures of
    one case), with the case's ceiling against asyncio; None without the split."""
    if any(f["user"] is None or f["sys"] is None for f in figs):
        return None
    t, a, u = figs
    lowest = min(f["sys"] for f in figs)  # type: ignore[type-var]
    return [
        part,
        case,
        *(fmt(f["user"], ".2f") for f in figs),
        *(fmt(f["sys"], ".2f") for f in figs),
        fmt(ratio(a["cpu"], u["cpu"]), ".2f"),
        fmt(ratio(a["cpu"], t["cpu"]), ".2f"),
        fmt(ratio(a["cpu"], lowest), ".2f"),
    ]


def cpu_cell(figures: dict[str, float | None]) -> str:
    """ "CPU us (client busy %)" for the CPU table of the torsion.aio part."""
    busy = figures["busy"]
    cell = fmt(figures["cpu"], ".1f")
    return cell if busy is None else f"{cell} ({busy:.0%})"


def aio_echo_ratio(
    mine: dict[str, float | None], other: dict[str, float | None]
) -> tuple[float | None, float | None, bool]:
    """(round-trip ratio, CPU ratio other/mine, whether the client set the pace)."""
    busy = [b for b in (mine["busy"], other["busy"]) if b is not None]
    bound = bool(busy) and max(busy) >= CLIENT_BOUND
    return ratio(mine["rps"], other["rps"]), ratio(other["cpu"], mine["cpu"]), bound


def aio_check(
    targets: Targets, what: str, rps: float | None, cpu: float | None, bound: bool, goal: float
) -> None:
    """Check an echo target on its deciding figure; name both figures."""
    if bound and cpu is not None:
        note = f"round trips/s: {fmt(rps, '.2f')}"
        targets.check(f"{what} (server CPU per round trip; client-bound)", cpu, goal, note=note)
    else:
        note = f"server CPU: {fmt(cpu, '.2f')}"
        targets.check(f"{what} (round trips/s)", rps, goal, note=note)


def aio_section(aio: dict[str, Any], targets: Targets) -> list[str]:
    """torsion.aio (bench/aio.py): asyncio code on torsion's loop, stock asyncio and uvloop."""
    out = [
        "## 7. torsion.aio: asyncio code on torsion's loop",
        "",
        AIO_TEXT,
        "",
        AIO_PRIMARY_TEXT,
        "",
    ]
    rows, cpuRows, ceilingRows = [], [], []
    for part, (key, (mine, stock, uv)) in AIO_ECHO.items():
        if key not in aio:
            continue
        runs = aio[key]["runs"]
        for size in aio["sizes"]:
            for conns in aio["conns"]:
                t, a, u = (aio_echo_figures(runs, size, conns, s) for s in (mine, stock, uv))
                ra, ca, ba = aio_echo_ratio(t, a)
                ru, cu, bu = aio_echo_ratio(t, u)
                case = f"{size_name(size)} x {conns}"
                ceiling = aio_ceiling_row(part, case, (t, a, u))
                if ceiling is not None:
                    ceilingRows.append(ceiling)
                rows.append(
                    [
                        part,
                        case,
                        *(fmt(x["rps"]) for x in (t, a, u)),
                        fmt(ra, ".2f"),
                        fmt(ru, ".2f"),
                    ]
                )
                cpuRows.append(
                    [
                        part,
                        case,
                        *(cpu_cell(x) for x in (t, a, u)),
                        fmt(ca, ".2f"),
                        fmt(cu, ".2f"),
                    ]
                )
                if part == "protocol echo":
                    aio_check(
                        targets, f"asyncio echo {case}: torsion.aio / asyncio", ra, ca, ba, 1.2
                    )
                    aio_check(
                        targets, f"asyncio echo {case}: torsion.aio / uvloop", ru, cu, bu, 1.0
                    )
                else:
                    aio_check(
                        targets, f"streams echo {case}: torsion.aio / asyncio", ra, ca, ba, 1.1
                    )
    churnRows = []
    if "loop" in aio:
        loop = aio["loop"]
        cpuNs = loop.get("cpu_ns_per_op", {})
        for what, figs in loop["ns_per_op"].items():
            t, a, u = (1e9 / figs[k] for k in ("torsion", "asyncio", "uvloop"))
            wall = [fmt(t), fmt(a), fmt(u), fmt(ratio(t, a), ".2f"), fmt(ratio(t, u), ".2f")]
            cpu = cpuNs.get(what)
            if cpu:
                ct, ca_, cu_ = (1e9 / cpu[k] for k in ("torsion", "asyncio", "uvloop"))
                churnRows.append(
                    [
                        f"{what} churn",
                        fmt(ct),
                        fmt(ca_),
                        fmt(cu_),
                        fmt(ratio(ct, ca_), ".2f"),
                        fmt(ratio(ct, cu_), ".2f"),
                        *wall,
                    ]
                )
                targets.check(
                    f"{what} churn: torsion.aio / asyncio (CPU time)",
                    ratio(ct, ca_),
                    1.0,
                    note=f"wall clock: {fmt(ratio(t, a), '.2f')}",
                )
            else:
                churnRows.append([f"{what} churn", "-", "-", "-", "-", "-", *wall])
                targets.check(
                    f"{what} churn: torsion.aio / asyncio (wall clock)", ratio(t, a), 1.0
                )
    web = aio.get("aiohttp", {})
    webRow = None
    if "rps" in web:
        t, a, u = (web["rps"][k] for k in ("torsion", "asyncio", "uvloop"))
        webRow = [
            "aiohttp (wrk, 50 conns)",
            fmt(t),
            fmt(a),
            fmt(u),
            fmt(ratio(t, a), ".2f"),
            fmt(ratio(t, u), ".2f"),
        ]
        targets.check("aiohttp server: torsion.aio / asyncio (requests/s)", ratio(t, a), 1.0)
    elif "skipped" in web:
        out += [f"aiohttp: skipped ({web['skipped']}).", ""]
    names = ["torsion.aio", "asyncio", "uvloop", "torsion/asyncio", "torsion/uvloop"]
    if rows:
        out += [
            "Echo: round trips per second (median of rounds) and torsion's ratio to each"
            " (higher is better):",
            "",
            *table(["what", "case", *names], rows),
            "",
            "Echo: the server's CPU time per round trip, user + system, in microseconds"
            " (median of rounds; from /proc, 10 ms ticks; in brackets, how busy the load"
            " client's core was), and each other loop's over torsion's (higher is better"
            " for torsion):",
            "",
            *table(["what", "case", *names], cpuRows),
            "",
        ]
    if ceilingRows:
        out += [
            AIO_CEILING_TEXT,
            "",
            *table(
                [
                    "what",
                    "case",
                    "user: torsion.aio",
                    "asyncio",
                    "uvloop",
                    "system: torsion.aio",
                    "asyncio",
                    "uvloop",
                    "uvloop/asyncio (CPU)",
                    "torsion/asyncio (CPU)",
                    "ceiling vs asyncio",
                ],
                ceilingRows,
            ),
            "",
        ]
    if churnRows:
        out += [
            "Loop churn, operations per second from CPU time and from wall-clock time"
            " (best round of each; a fresh interpreter per figure):",
            "",
            *table(
                ["what", *(f"{n} (CPU)" for n in names), *(f"{n} (wall)" for n in names)],
                churnRows,
            ),
            "",
        ]
    if webRow:
        out += [
            *table(
                ["what", "torsion.aio", "asyncio", "uvloop", "torsion/asyncio", "torsion/uvloop"],
                [webRow],
            ),
            "",
        ]
    if "twisted" in aio:
        runs = aio["twisted"]["runs"]
        rows = []
        for size in aio["sizes"]:
            for conns in aio["conns"]:
                e, u = (
                    aio_echo_figures(runs, size, conns, s)
                    for s in ("torsion", "torsion-on-uvloop")
                )
                rows.append(
                    [
                        f"{size_name(size)} x {conns}",
                        fmt(e["rps"]),
                        fmt(u["rps"]),
                        fmt(ratio(u["rps"], e["rps"]), ".2f"),
                        fmt(e["cpu"], ".1f"),
                        fmt(u["cpu"], ".1f"),
                        fmt(ratio(e["cpu"], u["cpu"]), ".2f"),
                    ]
                )
        out += [
            "Twisted-idiom echo (bench/servers/echo_protocol.py) on torsion's epoll backend and"
            " on `TORSION_REACTOR=asyncio` over uvloop (reported, no target): round trips per"
            " second, server CPU per round trip (us), and the ratios (higher: the asyncio"
            " backend on uvloop does better):",
            "",
            *table(
                [
                    "case",
                    "epoll backend",
                    "asyncio backend on uvloop",
                    "uvloop/epoll",
                    "CPU us, epoll",
                    "CPU us, on uvloop",
                    "CPU epoll/uvloop",
                ],
                rows,
            ),
            "",
        ]
    return out


def machine_section(res: dict[str, Any]) -> list[str]:
    m = res["machine"]
    v = m.get("versions", {})
    rows = [
        ["CPU", f"{m['cpu']} ({m['cores']} cores)"],
        ["kernel", m["kernel"]],
        ["Python", f"{m['implementation']} {m['python']}"],
        ["Twisted / uvloop", f"{v.get('twisted')} / {v.get('uvloop')}"],
        ["C compiler", m.get("cc", "?")],
        [
            "CPU idle before / after the run",
            f"{res.get('idle_before', 0):.0%} / {res.get('idle_after', 0):.0%}",
        ],
        *(
            [["CPU used by other processes during the run", others_text(res["others_cpu"])]]
            if "others_cpu" in res
            else []
        ),
        ["date", res["started"]],
        ["run time", f"{res['elapsed_s']:.0f} s"],
    ]
    return table(["machine", ""], rows)


def write_markdown(res: dict[str, Any], chart: str | None) -> str:
    targets = Targets()
    body: list[str] = []
    if "echo" in res:
        body += echo_section(res["echo"], targets, chart)
    if "churn" in res:
        body += churn_section(res["churn"], targets)
    if "core" in res:
        core = res["core"]
        if "skipped" in core:
            body += [
                "## 3. Timers, Deferreds, coroutines, import time",
                "",
                f"Skipped: {core['skipped']}",
                "",
            ]
        else:
            body += core_section(core, targets)
    if "memory" in res:
        body += memory_section(res["memory"], targets)
    if "tls" in res:
        body += tls_section(res["tls"], targets)
    if "web" in res:
        body += web_section(res["web"], targets)
    if "aio" in res:
        body += aio_section(res["aio"], targets)
    idle = min(res.get("idle_before", 1.0), res.get("idle_after", 1.0))
    busy = {k: v for k, v in res.get("others_cpu", {}).get("parts", {}).items() if v >= 0.1}
    head = [
        "# Benchmarks",
        "",
        "Written by the benchmark runner; do not edit by hand. Reproduce with:",
        "",
        "```",
        res["command"],
        "```",
        "",
        *machine_section(res),
        "",
        "Method: each server runs in its own process pinned to core 0, the load client on"
        " core 1 (`taskset`); a fresh server per measurement, one warm-up connection opened"
        " and closed first; systems alternate, in an order rotated each round. Load clients:"
        " `echoload` (TCP) from the shared bench tools and `bench/tlsload.c` (TLS), both C,"
        " and `wrk` (HTTP). Servers: `bench/servers/` (torsion and Twisted's epoll reactor"
        " share one file that differs only by its imports; asyncio and uvloop use"
        " `asyncio.Protocol`), and for HTTP the `torsion` and `twist` commands themselves.",
        "",
    ]
    if idle < 0.9:
        head += [
            f"**Note:** other processes were using the CPU around this run (idle {idle:.0%}"
            " of the time before or after it); the figures are noisier than on a quiet machine.",
            "",
        ]
    if busy:
        shares = ", ".join(f"{v:.0%} during {k}" for k, v in busy.items())
        head += [
            f"**Note:** other processes used the CPU while this run measured ({shares}, as a"
            " share of all cores); those parts' figures are noisier than on a quiet machine.",
            "",
        ]
    head += ["## Targets", "", *targets.markdown(), ""]
    return "\n".join(head + body)


def echo_chart(res: dict[str, Any], path: Path) -> bool:
    """Draw the echo figures as grouped bars; False (with a message) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        c.log("matplotlib is missing: skipping the echo chart (pip install matplotlib)")
        return False
    echo = res["echo"]
    systems = echo["systems"]
    rps = medians(echo["runs"], "rps", "size", "conns")
    sizes = sorted({r["size"] for r in echo["runs"]})
    conn_counts = sorted({r["conns"] for r in echo["runs"]})
    colors = {
        "torsion": "#d62728",
        "twisted": "#7f7f7f",
        "asyncio": "#1f77b4",
        "uvloop": "#2ca02c",
        "c": "#000000",
    }
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes), 4.2), squeeze=False)
    width = 0.8 / len(systems)
    for ax, size in zip(axes[0], sizes, strict=True):
        for i, s in enumerate(systems):
            xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(conn_counts))]
            ys = [rps.get((size, n, s), 0) / 1000 for n in conn_counts]
            ax.bar(xs, ys, width, label=NAMES[s], color=colors.get(s))
        ax.set_xticks(range(len(conn_counts)), [f"{n} conns" for n in conn_counts])
        ax.set_title(f"echo {size_name(size)}")
        ax.set_ylabel("thousand round trips / s")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.94),
        ncol=len(systems),
        fontsize=9,
        frameon=False,
    )
    m = res["machine"]
    fig.suptitle(
        f"TCP echo, one server core — {m['cpu']}, Python {m['python']}", fontsize=10, y=0.99
    )
    fig.tight_layout(rect=(0, 0, 1, 0.87))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


#: Sections after this line of BENCHMARKS.md are written by hand, from other
#: scripts (``bench/workers.py``), and kept as they are when the report is written.
KEPT = "<!-- Sections below are written by hand; bench/report.py keeps them. -->"


def write(res: dict[str, Any], md: Path, chart: Path | None) -> None:
    link = None
    if chart is not None and "echo" in res and echo_chart(res, chart):
        link = Path(os_relpath(chart, md.parent)).as_posix()
    old = md.read_text() if md.exists() else ""
    kept = "\n" + old[old.index(KEPT) :] if KEPT in old else ""
    md.write_text(write_markdown(res, link) + "\n" + kept)
    c.log(f"wrote {md}" + (f" and {chart}" if link else ""))


def os_relpath(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), start.resolve())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path)
    p.add_argument("--md", type=Path, default=c.ROOT / "BENCHMARKS.md")
    p.add_argument("--chart", type=Path, default=c.ROOT / "docs" / "bench-echo.png")
    a = p.parse_args()
    write(json.loads(a.results.read_text()), a.md, a.chart)


if __name__ == "__main__":
    sys.exit(main())
