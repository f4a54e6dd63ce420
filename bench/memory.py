"""Memory per idle connection: the server's RSS growth with N connections open.

The server (core 0) is started and warmed up (one connection opened, used and
closed); its VmRSS is read; then this process opens N connections that send
nothing, in batches, waiting after each batch until the server holds them all
(its descriptor count in /proc), and reads VmRSS again.  Both processes raise
RLIMIT_NOFILE to the hard limit.  The figure is (after - before) / N.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import common as c

BATCH = 500


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _wait_fds(pid: int, want: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while fd_count(pid) < want:
        if time.monotonic() > deadline:
            raise RuntimeError(f"server {pid} holds {fd_count(pid)} descriptors, expected {want}")
        time.sleep(0.01)


def measure(system: str, conns: int, torsion_src: Path | None = None) -> dict[str, Any]:
    c.raise_nofile()
    with c.echo_server(system, torsion_src) as server:
        c.warm_up(server.port)
        time.sleep(0.2)
        base_fds = fd_count(server.pid)
        before = rss_kib(server.pid)
        socks: list[socket.socket] = []
        try:
            while len(socks) < conns:
                for _ in range(min(BATCH, conns - len(socks))):
                    socks.append(socket.create_connection((c.HOST, server.port), timeout=10))
                _wait_fds(server.pid, base_fds + len(socks))
            time.sleep(0.3)
            after = rss_kib(server.pid)
        finally:
            for s in socks:
                s.close()
    return {
        "conns": conns,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "bytes_per_conn": (after - before) * 1024 / conns,
    }


def run(
    systems: list[str], conns: int, rounds: int, torsion_src: Path | None = None
) -> dict[str, Any]:
    runs = []
    for rnd in range(rounds):
        for system in c.rotated(systems, rnd):
            r = measure(system, conns, torsion_src)
            c.log(
                f"  memory {system:8}: {r['bytes_per_conn'] / 1024:6.2f} KiB/connection"
                f" (RSS {r['rss_before_kib'] / 1024:.1f} -> {r['rss_after_kib'] / 1024:.1f} MiB)"
            )
            runs.append({"system": system, "round": rnd, **r})
    return {"systems": systems, "conns": conns, "runs": runs}
