"""The command line: run the scenarios against torsion and twist, print the tables.

    python bench/chaos [--short] [--systems torsion,twist] [--only NAME,...]
                       [--json FILE] [--torsion-src DIR] [--list]

The full form takes about ten minutes (the slow clients and stalled handshakes
are held past the servers' 60 s and 30 s timeouts); ``--short`` under a minute
per system.  Logs, the web root and the results go to bench/out/chaos[-short]/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import common as c

from . import fuzz
from .probe import STALL_MS
from .runner import Options, Result, run_one
from .scenarios import BY_NAME, SCENARIOS
from .servers import SYSTEMS

LARGE = {True: 8 << 20, False: 32 << 20}  # the large file: short and full form


def options(short: bool, work: Path | None = None, torsion_src: Path | None = None) -> Options:
    """Make the work folder, the web root and the certificate."""
    work = work or c.OUT / ("chaos-short" if short else "chaos")
    logs = work / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    root = fuzz.make_root(work, LARGE[short])
    try:
        import tls

        pem: Path | None = tls.make_pem()
    except ImportError:
        pem = None  # trustme is missing: the TLS scenario is skipped
    return Options(short, work, root, LARGE[short], pem, torsion_src)


def run(names: list[str], systems: list[str], opts: Options) -> list[Result]:
    c.raise_nofile()
    c.pin_self(c.CLIENT_CPU)
    results = []
    for name in names:
        for system in systems:
            r = run_one(BY_NAME[name], system, opts)
            c.log(f"{name} / {system} ({r.seconds:.1f} s): {r.verdict()}")
            if r.headline:
                c.log(f"  {r.headline}")
            if not r.passed and not r.skipped:
                c.log("\n".join(r.explain().splitlines()[1:]))
            results.append(r)
    return results


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def tables(results: list[Result], systems: list[str]) -> str:
    """The scenario table (figure and verdict per system), then the criteria table."""
    by = {(r.scenario, r.system): r for r in results}
    names = list(dict.fromkeys(r.scenario for r in results))
    out = [f"| scenario | {' | '.join(s + ' figure' for s in systems)} | {' | '.join(systems)} |"]
    out.append("|---" * (1 + 2 * len(systems)) + "|")
    for name in names:
        rs = [by.get((name, s)) for s in systems]
        figures = [_cell(r.headline or r.skipped or r.error or "") if r else "" for r in rs]
        verdicts = [_cell(r.verdict()) if r else "" for r in rs]
        out.append(f"| {name} | {' | '.join(figures)} | {' | '.join(verdicts)} |")
    out += [
        "",
        f"| scenario | system | tracebacks | descriptors | RSS MiB (before / peak / after)"
        f" | longest probe trip (limit {STALL_MS:.0f} ms) | exit |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.skipped:
            continue
        f = r.figures
        fds = f"{f['fds_before']} -> {f['fds_after']}" if "fds_before" in f else "-"
        rss = (
            f"{f['rss_before_mib']:.1f} / {f['rss_peak_mib']:.1f} / {f['rss_after_mib']:.1f}"
            if "rss_before_mib" in f
            else "-"
        )
        probe = f.get("probe") or {}
        stall = f"{probe['max_ms']:.0f} ms" if "max_ms" in probe else "-"
        exit_ = f.get("exit", f.get("exit_statuses", "-"))
        if "clean_exit" in r.checks:
            exit_ = f"{exit_} ({'clean' if r.checks['clean_exit'][0] else 'NOT clean'})"
        out.append(
            f"| {r.scenario} | {r.system} | {len(r.tracebacks)} | {fds} | {rss} | {stall}"
            f" | {exit_} |"
        )
    return "\n".join(out)


def as_json(results: list[Result], opts: Options, started: float, idle: float) -> dict[str, Any]:
    return {
        "short": opts.short,
        "seconds": time.monotonic() - started,
        "idle_before": idle,
        "machine": c.machine(),
        "results": [
            {
                "scenario": r.scenario,
                "system": r.system,
                "verdict": r.verdict(),
                "headline": r.headline,
                "figures": r.figures,
                "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in r.checks.items()},
                "tracebacks": r.tracebacks,
                "skipped": r.skipped,
                "error": r.error,
                "seconds": r.seconds,
            }
            for r in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python bench/chaos", description="Hostile clients against torsion run and twist."
    )
    p.add_argument("--short", action="store_true", help="the short form (as CI runs it)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: torsion,twist")
    p.add_argument("--only", help="comma-separated scenario names (see --list)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--torsion-src", type=Path, help="run torsion from another copy of its src")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    a = p.parse_args(argv)
    if a.list:
        for s in SCENARIOS:
            print(f"{s.name:22} {s.service:12} {s.summary}")
        return 0
    names = a.only.split(",") if a.only else [s.name for s in SCENARIOS]
    systems = a.systems.split(",")
    bad = [n for n in names if n not in BY_NAME] + [s for s in systems if s not in SYSTEMS]
    if bad:
        p.error(f"unknown scenario or system: {', '.join(bad)}")
    idle = c.cpu_idle(1.0)  # others' load on this machine skews the figures
    started = time.monotonic()
    opts = options(a.short, torsion_src=a.torsion_src)
    results = run(names, systems, opts)
    print(tables(results, systems))
    print(
        f"\n{time.monotonic() - started:.0f} s; CPU idle before the run {idle:.0%};"
        f" logs in {opts.work / 'logs'}"
    )
    path = a.json or opts.work / "results.json"
    path.write_text(json.dumps(as_json(results, opts, started, idle), indent=1, default=str))
    return 0 if all(r.passed or r.skipped for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
