"""TCP echo throughput and latency: every server under the same echoload runs.

For each (message size, connections) pair and each round, every system is
measured once with a fresh server process, in an order rotated by the round,
so each ratio compares figures taken minutes apart at most.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import common as c


def measure(
    system: str, size: int, conns: int, seconds: float, torsion_src: Path | None = None
) -> dict[str, float]:
    with c.echo_server(system, torsion_src) as server:
        c.warm_up(server.port, size)
        load = c.echoload()
        return c.with_server_cpu(
            server.pid, lambda: c.run_load(load, server.port, conns, size, seconds), "trips"
        )


def run(
    systems: list[str],
    sizes: list[int],
    conn_counts: list[int],
    rounds: int,
    seconds: float,
    torsion_src: Path | None = None,
) -> dict[str, Any]:
    c.echoload()
    runs = []
    for size in sizes:
        for conns in conn_counts:
            for rnd in range(rounds):
                for system in c.rotated(systems, rnd):
                    r = measure(system, size, conns, seconds, torsion_src)
                    c.log(
                        f"  echo {system:8} {size:>6} B x{conns:<3}: {r['rps']:>9.0f} rps"
                        f"  p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms"
                        f"  server CPU {r['cpu_user_us']:.2f}+{r['cpu_sys_us']:.2f} us/trip"
                    )
                    runs.append(
                        {"system": system, "size": size, "conns": conns, "round": rnd, **r}
                    )
    return {"systems": systems, "seconds": seconds, "rounds": rounds, "runs": runs}
