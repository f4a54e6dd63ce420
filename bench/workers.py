"""``torsion run web --workers 2`` against ``--workers 1``, under wrk, on this machine.

    python bench/workers.py [SECONDS_PER_RUN] [ROUNDS]     (default: 5 s, 2 rounds)

Both serve the small file of ``bench/web.py`` (1,400 bytes) from the same
folder; only ``--workers`` differs.  The servers are not pinned (the point is
to use more than one core); wrk (one thread, 50 keep-alive connections) is
pinned to the client core as in the other benchmarks, so on a 2-core machine
it shares a core with one of the two workers.  Runs alternate between the two
settings, and the median requests per second of each is printed with their
ratio.  Skipped, with the reason, when wrk or h11 is missing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import common as c
import web


def serve(workers: int, root: object, log: object) -> tuple[subprocess.Popen[bytes], int]:
    port = c.free_port()
    cmd = [
        c.PYTHON,
        "-m",
        "torsion",
        "run",
        "web",
        "--workers",
        str(workers),
        "--path",
        str(root),
        "--listen",
        f"tcp:{port}:interface={c.HOST}",
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT,
        env={**os.environ, **c.python_env()},
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection((c.HOST, port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)  # a benchmark's start-up poll, not a test
    web.warm_up(port)
    return proc, port


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    problem = web.problem()
    if problem and "Twisted" not in problem:
        print(f"skipped: {problem}")
        return 0
    c.OUT.mkdir(parents=True, exist_ok=True)
    root = web.make_root(c.OUT / "workers-root")
    results: dict[str, list[dict[str, float]]] = {"1": [], "2": []}
    for rnd in range(rounds):
        for workers in c.rotated(["1", "2"], rnd):
            with open(c.OUT / f"workers-{workers}.log", "wb") as log:
                proc, port = serve(int(workers), root, log)
                try:
                    figures = web.run_wrk(port, web.FILES["small"][0], 50, seconds)
                finally:
                    proc.send_signal(signal.SIGTERM)
                    status = proc.wait(30)
            c.log(f"--workers {workers}: {figures['rps']:,.0f} req/s (exit status {status})")
            results[workers].append(figures)
    one = c.median([r["rps"] for r in results["1"]])
    two = c.median([r["rps"] for r in results["2"]])
    print(f"cores: {os.cpu_count()}, wrk -t1 -c50 -d{seconds}s on cpu {c.CLIENT_CPU}")
    for workers, rps in (("1", one), ("2", two)):
        lat = results[workers]
        p50 = c.median([r["p50"] for r in lat])
        p99 = c.median([r["p99"] for r in lat])
        errors = sum(r["errors"] for r in lat)
        print(
            f"--workers {workers}: {rps:,.0f} req/s (median of {rounds}),"
            f" p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors:.0f}"
        )
    print(f"ratio 2/1: {two / one:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
