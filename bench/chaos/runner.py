"""Running one scenario against one system, and the criteria every scenario is held to.

Theory of operation
-------------------
A scenario is a function of a ``Ctx``: the server under test (a fresh process
per scenario and system), the scenario's parameters (short or full form), and
places to put figures and checks.  The runner does what every scenario shares:

1. start the server, talk to it normally three times, take a baseline
   (descriptors, RSS) from /proc;
2. start the probe (probe.py: a normal client's round trip every 5 ms), let it
   run alone for a moment to learn the background CPU and read rates, then
   run the scenario;
3. stop the probe, wait (boundedly) for the descriptors to come back down,
   take the after-figures, check the server still answers, stop it with
   SIGTERM, and search its log for tracebacks.

The criteria of issue 15 for every scenario: no traceback in the log,
descriptors back to the baseline, memory back near it, no round trip of the
probe over 250 ms (the loop never stalled longer), the server still serves,
and a clean exit on SIGTERM.  A scenario adds checks of its own.

"Near" is ``MEMORY_SLACK_MIB`` plus ``MEMORY_PER_CONNECTION_KIB`` for each
connection the scenario held open at once: the C allocator keeps part of what
it once handed out (RSS seldom goes back down), and more of it the more
connections were served together; memory still held by Python objects after
the clients left (a reference cycle, a queue that was never dropped) is
usually far larger than that.
"""

from __future__ import annotations

import importlib.util
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common as c

from . import clients
from .probe import STALL_MS, Probe
from .servers import Setup, Snapshot, Target

#: How far RSS may stay above its baseline once the clients are gone (see above).
MEMORY_SLACK_MIB = 16.0
MEMORY_PER_CONNECTION_KIB = 32.0
#: The probe each service gets unless a scenario says otherwise.
PROBES = {"web": "http", "echo": "echo", "chargen": "first-byte", "portforward": "echo"}


@dataclass
class Scenario:
    name: str
    summary: str  # what it does, one line
    service: str
    run: Callable[[Ctx], None]
    short: dict[str, Any]
    full: dict[str, Any]
    probe: str | None = "default"  # a probe kind, "default" (by service) or None
    nofile: int | None = None  # the server's descriptor limit
    tls: bool = False  # add an ssl: listener (web)
    upstream: str | None = None  # portforward's target: "echo", "hold" or "blackhole"
    stops_itself: bool = False  # the scenario ends the server itself (signals)

    def probe_kind(self) -> str | None:
        return PROBES[self.service] if self.probe == "default" else self.probe


@dataclass
class Result:
    scenario: str
    system: str
    headline: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    tracebacks: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None  # the harness itself failed
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        names = [name for name, (ok, _) in self.checks.items() if not ok]
        return [*names, "harness"] if self.error else names

    @property
    def passed(self) -> bool:
        return self.skipped is None and not self.failed

    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        return "pass" if self.passed else "FAIL: " + ", ".join(self.failed)

    def explain(self) -> str:
        """Every failed check with its detail, and the exceptions logged."""
        lines = [f"{self.scenario} on {self.system}: {self.verdict()}"]
        lines += [f"  {n}: {d}" for n, (ok, d) in self.checks.items() if not ok]
        if self.error:
            lines.append(f"  harness: {self.error}")
        lines += [f"  logged: {tb}" for tb in dict.fromkeys(self.tracebacks)]
        return "\n".join(lines)


@dataclass
class Usage:
    """What the server spent during a ``Ctx.usage()`` block, less the background."""

    elapsed: float = 0.0
    cpu_s: float = 0.0
    rchar: int = 0
    read_bytes: int = 0


@dataclass
class Options:
    short: bool
    work: Path  # logs and the web root
    root: Path
    large: int  # the size of the large file in the web root
    pem: Path | None
    torsion_src: Path | None = None


class Ctx:
    """What a scenario function works with."""

    #: Stands in a headline for the probe's figures, known only once the probe stops.
    probe_later = "<probe>"

    def __init__(self, scenario: Scenario, system: str, opts: Options, setup: Setup) -> None:
        self.scenario = scenario
        self.system = system
        self.short = opts.short
        self.params = dict(scenario.short if opts.short else scenario.full)
        self.opts = opts
        self.setup = setup
        self.result = Result(scenario.name, system)
        self.targets: list[Target] = []
        self.fds0 = 0  # the server's descriptors with the probe connected
        self._rates = (0.0, 0.0)  # background CPU s/s and rchar bytes/s

    @property
    def target(self) -> Target:
        return self.targets[0]

    @property
    def port(self) -> int:
        return self.target.port

    def launch(self) -> Target:
        """Start a server for this scenario (the first is ``target``)."""
        n = len(self.targets)
        name = f"{self.scenario.name}-{self.system}{f'-{n}' if n else ''}.log"
        t = Target(
            self.system,
            self.scenario.service,
            self.setup,
            self.opts.work / "logs" / name,
            self.opts.torsion_src,
        )
        self.targets.append(t)
        return t.start()

    def figure(self, name: str, value: Any) -> None:
        self.result.figures[name] = value

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.result.checks[name] = (bool(ok), detail)

    def concurrent(self, connections: int) -> None:
        """Say how many connections the scenario holds open at once (for the memory check)."""
        self.result.figures["concurrent"] = connections

    def headline(self, text: str) -> None:
        self.result.headline = text

    def calibrate(self, seconds: float) -> None:
        """Learn what the server spends with nothing but the probe going on."""
        a = self.target.snapshot()
        time.sleep(seconds)
        b = self.target.snapshot()
        self._rates = ((b.cpu_s - a.cpu_s) / seconds, (b.rchar - a.rchar) / seconds)

    @contextmanager
    def usage(self) -> Iterator[Usage]:
        """Measure the server's CPU time and reads in the block, less the background."""
        u = Usage()
        t0, a = time.monotonic(), self.target.snapshot()
        yield u
        t1, b = time.monotonic(), self.target.snapshot()
        u.elapsed = t1 - t0
        u.cpu_s = max(0.0, b.cpu_s - a.cpu_s - self._rates[0] * u.elapsed)
        u.rchar = max(0, int(b.rchar - a.rchar - self._rates[1] * u.elapsed))
        u.read_bytes = b.read_bytes - a.read_bytes

    def wait_fds(self, limit: int, timeout: float, target: Target | None = None) -> float | None:
        """Seconds until the server holds at most ``limit`` descriptors (None: not in time)."""
        t = target or self.target
        t0 = time.monotonic()
        while True:
            if not t.running():
                return None
            if t.snapshot().fds <= limit:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                return None
            time.sleep(0.02)

    def close(self) -> None:
        for t in self.targets:
            if t.running():
                t.stop(5.0)


def unavailable(scenario: Scenario, system: str, opts: Options) -> str | None:
    """Why the scenario cannot run against ``system`` here (None when it can)."""
    if system == "twist" and importlib.util.find_spec("twisted") is None:
        return "Twisted is not installed"
    if system == "torsion" and scenario.service == "web" and not importlib.util.find_spec("h11"):
        return "h11 (torsion[web]) is not installed"
    if scenario.tls and opts.pem is None:
        return "no certificate (trustme is not installed)"
    if scenario.tls and system == "twist" and importlib.util.find_spec("OpenSSL") is None:
        return "Twisted's TLS needs pyOpenSSL (pip install pyopenssl service-identity)"
    return None


@contextmanager
def _upstream(mode: str) -> Iterator[int]:
    if mode == "blackhole":
        with clients.Blackhole() as hole:
            yield hole.port
        return
    script = Path(__file__).resolve().parent / "upstream.py"
    with c.Server(f"upstream {mode}", [c.PYTHON, str(script), mode]) as up:
        yield up.port


def _mib(kib: int) -> float:
    return kib / 1024


def run_one(scenario: Scenario, system: str, opts: Options) -> Result:
    """Run ``scenario`` against a fresh server of ``system``; its figures and checks."""
    why = unavailable(scenario, system, opts)
    if why:
        return Result(scenario.name, system, skipped=why)
    t_start = time.monotonic()
    with ExitStack() as stack:
        setup = Setup(
            root=opts.root, pem=opts.pem if scenario.tls else None, nofile=scenario.nofile
        )
        if scenario.upstream:
            setup.upstream = stack.enter_context(_upstream(scenario.upstream))
        ctx = Ctx(scenario, system, opts, setup)
        stack.callback(ctx.close)
        res = ctx.result
        try:
            _run(ctx)
        except Exception as e:
            res.error = f"{type(e).__name__}: {e}"
            res.figures["harness_traceback"] = traceback.format_exc()
            dead = [t for t in ctx.targets if t.server.proc is not None and not t.running()]
            if dead:  # what made the harness fail, most likely
                status = dead[0].wait(0)
                res.checks["still_serving"] = (False, f"the server died (status {status})")
        ctx.close()
        for t in ctx.targets:
            res.tracebacks += t.tracebacks()
        res.checks["no_traceback"] = (
            not res.tracebacks,
            f"{len(res.tracebacks)} traceback(s) in the log: "
            + "; ".join(dict.fromkeys(res.tracebacks)),
        )
    res.seconds = time.monotonic() - t_start
    return res


def _run(ctx: Ctx) -> None:
    scenario, res, p = ctx.scenario, ctx.result, ctx.params
    target = ctx.launch()
    answers = scenario.upstream != "blackhole"  # else no exchange can complete
    for _ in range(3 if answers else 0):
        if not clients.ping(scenario.service, target.port, 5.0):
            raise RuntimeError(f"{target.server.name} does not answer before the scenario")
    before = target.snapshot()
    kind = scenario.probe_kind()
    probe = Probe(kind, target.port, c.taskset(c.CLIENT_CPU)) if kind else None
    with probe or nullcontext():
        if probe is not None:
            ctx.calibrate(0.3 if ctx.short else 0.5)
        ctx.fds0 = target.snapshot().fds
        scenario.run(ctx)
    if probe is not None:
        stats = probe.result
        res.figures["probe"] = stats
        said = (
            f"normal client p50 {stats['p50_ms']:.1f} / p99 {stats['p99_ms']:.1f}"
            f" / max {stats['max_ms']:.0f} ms"
            if stats
            else "no figures from the probe"
        )
        res.headline = res.headline.replace(Ctx.probe_later, said)
        worst = stats.get("max_ms", float("inf"))
        res.checks["no_stall"] = (
            worst <= STALL_MS and not stats.get("failures"),
            f"a normal client's longest round trip was {worst:.0f} ms"
            f" ({stats.get('failures', '?')} failed, {stats.get('trips', 0)} trips)",
        )
    if scenario.stops_itself:
        return
    settle = p.get("settle", 3.0 if ctx.short else 10.0)
    ctx.wait_fds(before.fds, settle)
    time.sleep(0.2)  # what the server frees once its connections are gone
    after = target.snapshot() if target.running() else None
    if answers or not target.running():
        res.checks["still_serving"] = (
            target.running() and clients.ping(scenario.service, target.port),
            "a normal client's exchange after the scenario"
            if target.running()
            else f"the server died (status {target.wait(0)})",
        )
    if after is not None:
        _baseline_checks(res, before, after, settle)
    status = target.stop()
    res.figures["exit"] = status
    res.checks["clean_exit"] = (
        target.clean_exit(status),
        f"exit status {status} after SIGTERM ({target.stopped_in:.1f} s)",
    )


def _baseline_checks(res: Result, before: Snapshot, after: Snapshot, settle: float) -> None:
    res.figures.update(
        fds_before=before.fds,
        fds_after=after.fds,
        rss_before_mib=_mib(before.rss_kib),
        rss_peak_mib=_mib(after.hwm_kib),
        rss_after_mib=_mib(after.rss_kib),
    )
    res.checks["fds_back"] = (
        after.fds <= before.fds,
        f"{after.fds} descriptors once the clients left (waited up to {settle:g} s;"
        f" baseline {before.fds})",
    )
    grown = _mib(after.rss_kib - before.rss_kib)
    allowed = MEMORY_SLACK_MIB + _mib(res.figures.get("concurrent", 1) * MEMORY_PER_CONNECTION_KIB)
    res.checks["memory_back"] = (
        grown <= allowed,
        f"RSS {_mib(before.rss_kib):.1f} -> {_mib(after.rss_kib):.1f} MiB"
        f" (peak {_mib(after.hwm_kib):.1f}): {grown:+.1f} MiB (at most {allowed:.1f})",
    )
