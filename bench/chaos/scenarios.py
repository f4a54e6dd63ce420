"""The scenarios: what each hostile client does, and the figure it reports.

Every scenario is bounded in count and in time (its ``short`` and ``full``
parameters), and is run by runner.run_one, which adds the criteria all of
them share (see runner.py).  The order is the order of issue 15.
"""

from __future__ import annotations

import signal
import time

import churn

from . import clients, fuzz
from .runner import Ctx, Scenario


def _per(n: int) -> int:
    return max(n, 1)


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def reset_download(ctx: Ctx) -> None:
    """Many clients start a GET of the large file, read 64 KiB and reset."""
    p = ctx.params
    ctx.concurrent(p["workers"])
    request = clients.get_request(f"/{fuzz.LARGE}")
    deadline = time.monotonic() + p["max_seconds"]
    with ctx.usage() as u:
        done = clients.in_parallel(
            p["resets"],
            p["workers"],
            lambda i: clients.take_then_reset(ctx.port, request, 65536),
            deadline,
        )
        ctx.wait_fds(ctx.fds0, p["max_seconds"])  # until the server has let them all go
    cpu_ms = u.cpu_s / _per(done) * 1e3
    read = u.rchar / _per(done)
    ctx.figure("resets", done)
    ctx.figure("cpu_ms_per_reset", cpu_ms)
    ctx.figure("read_bytes_per_reset", read)
    size = ctx.opts.large
    ctx.check(
        "stops_reading",
        read < size / 4,
        f"read {_mb(read)} per reset of a {_mb(size)} file (it should stop at the reset)",
    )
    ctx.check("all_done", done == p["resets"], f"{done} of {p['resets']} resets done in time")
    ctx.headline(
        f"{done} resets: {cpu_ms:.2f} ms CPU and {_mb(read)} read per reset"
        f" ({_mb(size)} file); {ctx.probe_later}"
    )


def pipelined_reset(ctx: Ctx) -> None:
    """Pipeline 300 GETs of the large file on one connection, read 64 KiB, reset."""
    p = ctx.params
    request = clients.get_request(f"/{fuzz.LARGE}") * p["requests"]
    closed_after: list[float] = []
    with ctx.usage() as u:
        for _ in range(p["runs"]):
            clients.take_then_reset(ctx.port, request, 65536)
            t = ctx.wait_fds(ctx.fds0, p["wait"])
            closed_after.append(p["wait"] if t is None else t)
    read = u.rchar / p["runs"]
    worst = max(closed_after)
    ctx.figure("read_bytes_per_reset", read)
    ctx.figure("cpu_ms_per_reset", u.cpu_s / p["runs"] * 1e3)
    ctx.figure("closed_after_s", worst)
    ctx.check(
        "stops_reading",
        read < ctx.opts.large,
        f"read {_mb(read)} per reset (the file is {_mb(ctx.opts.large)})",
    )
    ctx.check(
        "closes_promptly",
        worst < 1.0,
        f"the server let a reset connection go after up to {worst:.2f} s",
    )
    ctx.headline(
        f"{p['runs']} resets after {p['requests']} pipelined GETs: {_mb(read)} read and"
        f" {u.cpu_s / p['runs'] * 1e3:.0f} ms CPU per reset, connection freed after"
        f" <= {worst:.2f} s; {ctx.probe_later}"
    )


def fuzz_requests(ctx: Ctx) -> None:
    """A seeded corpus of malformed requests, one per connection, many at a time."""
    p = ctx.params
    ctx.concurrent(p["workers"])
    cases = fuzz.corpus(p["seed"], p["requests"])
    outcomes = fuzz.run(ctx.port, cases, p["workers"], p["quiet"])
    tally = fuzz.tally(outcomes)
    errors = fuzz.server_errors(outcomes)
    secret = [o.label for o in outcomes if o.secret]
    dot = [o.label for o in outcomes if o.dotfile]
    ctx.figure("answers", dict(tally))
    ctx.check("no_5xx", not errors, f"{len(errors)} answered 5xx: {'; '.join(errors[:5])}")
    ctx.check(
        "nothing_outside_root",
        not secret,
        f"{len(secret)} served a file from outside --path: {'; '.join(secret[:5])}",
    )
    ctx.check("dotfiles_hidden", not dot, f"{len(dot)} served a dot file: {'; '.join(dot[:5])}")
    said = ", ".join(f"{k} x{v}" for k, v in sorted(tally.items()))
    ctx.headline(
        f"{len(cases)} requests: {said}; 5xx {len(errors)}, outside the root {len(secret)},"
        f" dot files {len(dot)}"
    )


_SLOW_HEAD = b"GET /small.txt HTTP/1.1\r\nHost: chaos\r\n"


def slowloris(ctx: Ctx) -> None:
    """Hundreds of connections that send a request head one byte per second, never ending it."""
    p = ctx.params
    ctx.concurrent(p["conns"])
    socks = clients.open_many(ctx.port, p["conns"])
    try:
        held = clients.hold(
            socks, p["seconds"], lambda i: _SLOW_HEAD, b"X-Slow: 1\r\n", p["every"]
        )
    finally:
        clients.close_all(socks)
    ctx.figure("closed_by_server", held.closed)
    ctx.headline(
        f"{p['conns']} slow clients for {p['seconds']} s: {ctx.probe_later};"
        f" {held.describe(p['seconds'])}"
    )


def tls_stall(ctx: Ctx) -> None:
    """Connections to the ssl: listener that send nothing, or half a ClientHello."""
    p = ctx.params
    hello = clients.client_hello()
    half = hello[: len(hello) // 2]
    ctx.concurrent(p["conns"])
    socks = clients.open_many(ctx.target.tls_port, p["conns"])
    try:
        held = clients.hold(socks, p["seconds"], lambda i: half if i % 2 else b"")
    finally:
        clients.close_all(socks)
    ctx.figure("closed_by_server", held.closed)
    ctx.headline(
        f"{p['conns']} stalled handshakes (half silent, half with half a ClientHello)"
        f" for {p['seconds']} s: {ctx.probe_later}; {held.describe(p['seconds'])}"
    )


def emfile(ctx: Ctx) -> None:
    """More connections than a 64-descriptor limit allows; then they all leave."""
    p = ctx.params
    ctx.concurrent(p["conns"])
    flood = clients.open_many(ctx.port, p["conns"], wait=1.0)
    try:
        time.sleep(0.5)  # let the server take what it can
        with ctx.usage() as u:
            time.sleep(p["hold"])
        served = clients.count_echoes(flood, 1.0)
    finally:
        clients.close_all(flood)
    busy = u.cpu_s / u.elapsed * 100
    t0 = time.monotonic()
    back = None
    while time.monotonic() - t0 < p["recover"]:
        if clients.ping("echo", ctx.port, 0.5):
            back = time.monotonic() - t0
            break
    ctx.figure("served", served)
    ctx.figure("cpu_percent_while_full", busy)
    ctx.figure("accepts_again_s", back)
    ctx.check("no_spin", busy <= p["max_cpu_percent"], f"{busy:.0f}% CPU while out of descriptors")
    ctx.check(
        "accepts_again",
        back is not None,
        f"no new connection served {p['recover']} s after descriptors were freed",
    )
    again = f"{back * 1e3:.0f} ms" if back is not None else f"> {p['recover']} s"
    ctx.headline(
        f"{served} of {p['conns']} served under a 64-descriptor limit; CPU {busy:.0f}% while"
        f" full; serves a new client {again} after they leave; {ctx.probe_later}"
    )


def chargen_reset(ctx: Ctx) -> None:
    """Clients that read 16 KiB of chargen's stream and reset while it writes."""
    p = ctx.params
    ctx.concurrent(p["workers"])
    deadline = time.monotonic() + p["max_seconds"]
    with ctx.usage() as u:
        done = clients.in_parallel(
            p["resets"],
            p["workers"],
            lambda i: clients.take_then_reset(ctx.port, b"", 16384),
            deadline,
        )
        ctx.wait_fds(ctx.fds0, p["max_seconds"])
    ctx.figure("resets", done)
    ctx.figure("seconds", u.elapsed)
    ctx.figure("cpu_ms_per_reset", u.cpu_s / _per(done) * 1e3)
    ctx.check(
        "all_done",
        done == p["resets"],
        f"{done} of {p['resets']} resets done within {p['max_seconds']} s",
    )
    ctx.headline(
        f"{done} resets in {u.elapsed:.1f} s ({done / u.elapsed:.0f}/s),"
        f" {u.cpu_s / _per(done) * 1e3:.2f} ms CPU per reset; {ctx.probe_later}"
    )


def churn_scenario(ctx: Ctx) -> None:
    """Connect, echo 64 bytes, close, as fast as an asyncio client can (bench/churn.py)."""
    p = ctx.params
    ctx.concurrent(p["concurrency"])
    r = churn.run_client("asyncio", ctx.port, p["seconds"], p["concurrency"])
    ctx.figure("connections", r["connections"])
    ctx.figure("failed", r["failed"])
    ctx.check("no_failure", not r["failed"], f"{r['failed']} connections failed")
    ctx.headline(
        f"{r['connections']} connections in {r['seconds']:.0f} s ({r['cps']:.0f}/s,"
        f" {r['failed']} failed); {ctx.probe_later}"
    )


def sigterm_storm(ctx: Ctx) -> None:
    """50 SIGTERMs 2 ms apart to a server with a few idle connections; the exit status."""
    p = ctx.params
    statuses: list[int | None] = []
    clean = []
    for i in range(p["runs"]):
        target = ctx.target if i == 0 else ctx.launch()
        conns = [clients.connect(target.port) for _ in range(p["conns"])]
        try:
            for _ in range(p["signals"]):
                target.signal(signal.SIGTERM)
                time.sleep(p["gap"])
            status = target.wait(15.0)
        finally:
            clients.close_all(conns)
        statuses.append(status)
        clean.append(target.clean_exit(status))
    ctx.figure("exit_statuses", statuses)
    ctx.check(
        "clean_exit",
        all(clean),
        f"exit statuses {statuses} after the storms (a clean stop exits 0)",
    )
    ctx.headline(f"{p['runs']} storms of {p['signals']} SIGTERMs: exit statuses {statuses}")


def portforward_halfclose(ctx: Ctx) -> None:
    """Clients that close after one exchange, to an upstream that never closes (64 fds)."""
    p = ctx.params
    forwarded = failures = 0
    starved = None
    for i in range(p["clients"]):
        try:
            with clients.connect(ctx.port, 2.0) as s:
                s.sendall(b"ping\n")
                ok = clients.recv_at_least(s, 5, p["timeout"]) == b"ping\n"
        except OSError:
            ok = False
        forwarded += ok
        if not ok:
            failures += 1
            starved = i if starved is None else starved
            if failures >= 3:
                break
    ctx.figure("forwarded", forwarded)
    fds = ctx.target.snapshot().fds if ctx.target.running() else -1
    ctx.check(
        "all_forwarded",
        forwarded == p["clients"],
        f"{forwarded} of {p['clients']} clients forwarded; starved from client {starved} on",
    )
    tail = f"; starved from client {starved} on" if starved is not None else ""
    ctx.headline(
        f"{forwarded} of {p['clients']} clients forwarded under a 64-descriptor limit"
        f"{tail}; server holds {fds} descriptors; {ctx.probe_later}"
    )


def portforward_pending(ctx: Ctx) -> None:
    """Clients that leave while the upstream connect is still pending (its SYN dropped)."""
    p = ctx.params
    ctx.concurrent(p["clients"])
    socks = [clients.connect(ctx.port) for _ in range(p["clients"])]
    time.sleep(0.3)  # the server accepts and starts connecting upstream
    held = ctx.target.snapshot().fds
    clients.close_all(socks)
    released = ctx.wait_fds(ctx.fds0, p["wait"])
    ctx.figure("released_after_s", released)
    when = f"after {released:.1f} s" if released is not None else f"not within {p['wait']} s"
    ctx.check(
        "released_promptly",
        released is not None and released <= 5.0,
        f"the server released the descriptors {when} (more than 5 s)",
    )
    ctx.headline(
        f"{p['clients']} clients left while connecting upstream: the server held {held}"
        f" descriptors and released them {when}"
    )


SCENARIOS = [
    Scenario(
        "reset_download",
        "many clients start a GET of a large file and reset after 64 KiB",
        "web",
        reset_download,
        short={"resets": 20, "workers": 4, "max_seconds": 10},
        full={"resets": 200, "workers": 8, "max_seconds": 60},
    ),
    Scenario(
        "pipelined_reset",
        "300 pipelined GETs of a large file, then a reset",
        "web",
        pipelined_reset,
        short={"runs": 3, "requests": 300, "wait": 5},
        full={"runs": 20, "requests": 300, "wait": 10},
    ),
    Scenario(
        "fuzz",
        "a seeded corpus of malformed requests (hand-written cases, then mutations)",
        "web",
        fuzz_requests,
        short={"requests": 300, "seed": 15, "workers": 32, "quiet": 0.5},
        full={"requests": 600, "seed": 15, "workers": 32, "quiet": 2.0},
    ),
    Scenario(
        "slowloris",
        "hundreds of connections trickling a request head, one byte a second",
        "web",
        slowloris,
        short={"conns": 100, "seconds": 2, "every": 0.5},
        full={"conns": 500, "seconds": 70, "every": 1.0},
    ),
    Scenario(
        "tls_stall",
        "connections to an ssl: listener that send nothing or half a ClientHello",
        "web",
        tls_stall,
        short={"conns": 100, "seconds": 2},
        full={"conns": 520, "seconds": 35},
        tls=True,
    ),
    Scenario(
        "emfile",
        "more connections than a 64-descriptor limit allows, held, then all closed",
        "echo",
        emfile,
        short={"conns": 100, "hold": 1, "recover": 5, "max_cpu_percent": 25},
        full={"conns": 200, "hold": 10, "recover": 10, "max_cpu_percent": 25},
        nofile=64,
    ),
    Scenario(
        "chargen_reset",
        "clients that read 16 KiB of chargen and reset in the middle of its writes",
        "chargen",
        chargen_reset,
        short={"resets": 200, "workers": 8, "max_seconds": 10},
        full={"resets": 2000, "workers": 8, "max_seconds": 120},
    ),
    Scenario(
        "churn",
        "connect, echo 64 bytes, close, over and over (RSS and descriptors after)",
        "echo",
        churn_scenario,
        short={"seconds": 2, "concurrency": 8},
        full={"seconds": 30, "concurrency": 16},
    ),
    Scenario(
        "sigterm_storm",
        "50 SIGTERMs 2 ms apart, with idle connections open",
        "echo",
        sigterm_storm,
        short={"runs": 2, "signals": 50, "gap": 0.002, "conns": 5},
        full={"runs": 10, "signals": 50, "gap": 0.002, "conns": 5},
        probe=None,
        stops_itself=True,
    ),
    Scenario(
        "portforward_halfclose",
        "clients close after one exchange; the upstream never closes (64 descriptors)",
        "portforward",
        portforward_halfclose,
        short={"clients": 60, "timeout": 0.5, "settle": 1.5},
        full={"clients": 100, "timeout": 1.0},
        nofile=64,
        upstream="hold",
    ),
    Scenario(
        "portforward_pending",
        "clients leave while the upstream connect is pending (the upstream drops SYNs)",
        "portforward",
        portforward_pending,
        short={"clients": 10, "wait": 2, "settle": 1.5},
        full={"clients": 20, "wait": 40},
        probe=None,
        upstream="blackhole",
    ),
]
BY_NAME = {s.name: s for s in SCENARIOS}
