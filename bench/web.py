"""Static files over HTTP/1.1: ``torsion run web`` against Twisted's ``twist web``, under wrk.

Both commands serve the same folder (made here: a 1,400-byte text file and a
64 KiB binary file), each as a user starts it from the command line:

- torsion: ``python -m torsion run web --path DIR --listen tcp:PORT:interface=127.0.0.1``
  (from the ``src`` under test), which by default logs no line per request;
- torsion --access-log: the same with one log line per request, as twist web does;
- twisted: ``python -m twisted web --path DIR --listen tcp:PORT:interface=127.0.0.1``
  (``twist web``), which logs every request by default.

Each server's log goes to a file in the run's output folder (so twist writes
JSON lines, its choice when its output is not a terminal).  The load is
``wrk`` (one thread, keep-alive connections) on the client core; the server's
CPU time per request is read from /proc.  Skipped, with the reason, when wrk
or h11 (torsion's HTTP parser) is missing.
"""

from __future__ import annotations

import http.client
import importlib.util
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import common as c

#: The files served: name in the report -> (file name, size in bytes).
FILES: dict[str, tuple[str, int]] = {
    "small": ("small.txt", 1400),
    "64k": ("big.bin", 65536),
}
SYSTEMS = ["torsion", "torsion-log", "twisted"]


def problem() -> str | None:
    """Why the web part cannot run here (None when it can)."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (Debian/Ubuntu: apt-get install wrk)"
    if importlib.util.find_spec("h11") is None:
        return "h11 is missing, which torsion's web service needs (pip install h11)"
    if importlib.util.find_spec("twisted") is None:
        return "Twisted is missing (pip install twisted)"
    return None


def make_root(folder: Path) -> Path:
    """Write the served files into ``folder`` (the same bytes every time)."""
    folder.mkdir(parents=True, exist_ok=True)
    line = b"torsion and Twisted serve this same plain text file to wrk.\n"
    (folder / FILES["small"][0]).write_bytes((line * 30)[: FILES["small"][1]])
    (folder / FILES["64k"][0]).write_bytes(random.Random(7).randbytes(FILES["64k"][1]))
    return folder


def command(system: str, root: Path, port: int | str, python: str = c.PYTHON) -> list[str]:
    listen = f"tcp:{port}:interface={c.HOST}"
    if system == "twisted":
        return [python, "-m", "twisted", "web", "--path", str(root), "--listen", listen]
    extra = ["--access-log"] if system == "torsion-log" else []
    return [python, "-m", "torsion", "run", "web", *extra, "--path", str(root), "--listen", listen]


def server(system: str, root: Path, logs: Path, torsion_src: Path | None = None) -> c.LoggedServer:
    port = c.free_port()
    env = c.python_env(torsion_src) if system.startswith("torsion") else {}
    log_path = logs / f"web-{system}.log"
    return c.LoggedServer(system, command(system, root, port), env, port=port, log_path=log_path)


def warm_up(port: int) -> None:
    """GET every file once over one connection, checking status and length."""
    conn = http.client.HTTPConnection(c.HOST, port, timeout=10)
    try:
        for name, size in FILES.values():
            conn.request("GET", f"/{name}")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or len(body) != size:
                raise RuntimeError(f"GET /{name}: {resp.status}, {len(body)} of {size} bytes")
    finally:
        conn.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_NUM = r"([\d.]+)(us|ms|s|m)"


def parse_wrk(text: str) -> dict[str, float]:
    """Requests, requests/s, MB/s, p50/p99 latency (ms) and errors from ``wrk --latency``."""

    def ms(pct: str) -> float:
        m = re.search(rf"^\s*{pct}%\s+{_NUM}\s*$", text, re.M)
        if m is None:
            raise ValueError(f"no {pct}% latency")
        return float(m.group(1)) * _UNITS[m.group(2)]

    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    xfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", text)
    if total is None or rps is None:
        raise ValueError("no request count")
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if bad:
        errors += int(bad.group(1))
    scale = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
    return {
        "requests": float(total.group(1)),
        "elapsed_s": float(total.group(2)) * _UNITS[total.group(3)] / 1e3,
        "rps": float(rps.group(1)),
        "mbps": float(xfer.group(1)) * scale[xfer.group(2)] if xfer else float("nan"),
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": float(errors),
    }


def run_wrk(port: int, path: str, conns: int, seconds: int) -> dict[str, float]:
    url = f"http://{c.HOST}:{port}/{path}"
    cmd = [*c.taskset(c.CLIENT_CPU), "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    try:
        return parse_wrk(proc.stdout)
    except ValueError as e:
        raise RuntimeError(f"wrk failed ({proc.returncode}, {e}): {proc.stdout}{proc.stderr}")


def measure(
    system: str,
    file: str,
    root: Path,
    conns: int,
    seconds: int,
    torsion_src: Path | None = None,
) -> dict[str, float]:
    with server(system, root, root.parent, torsion_src) as srv:
        warm_up(srv.port)
        return c.with_server_cpu(
            srv.pid, lambda: run_wrk(srv.port, FILES[file][0], conns, seconds), "requests"
        )


def run(
    systems: list[str],
    conns: int,
    rounds: int,
    seconds: int,
    out: Path,
    torsion_src: Path | None = None,
) -> dict[str, Any]:
    why = problem()
    if why:
        return {"skipped": why}
    root = make_root(out / "web-root")
    runs = []
    for file in FILES:
        for rnd in range(rounds):
            for system in c.rotated(systems, rnd):
                try:
                    r = measure(system, file, root, conns, seconds, torsion_src)
                except Exception as e:
                    if system.startswith("torsion"):
                        return {"skipped": f"torsion's web server failed: {e}"}
                    raise
                c.log(
                    f"  web {system:11} {file:5} x{conns}: {r['rps']:>8.0f} requests/s"
                    f"  p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  errors {r['errors']:.0f}"
                    f"  server CPU {r['cpu_user_us']:.1f}+{r['cpu_sys_us']:.1f} us/request"
                )
                runs.append({"system": system, "file": file, "round": rnd, **r})
    return {
        "systems": systems,
        "conns": conns,
        "seconds": seconds,
        "rounds": rounds,
        "files": {k: {"name": n, "size": s} for k, (n, s) in FILES.items()},
        "commands": {s: " ".join(command(s, Path("DIR"), "PORT", "python")) for s in systems},
        "runs": runs,
    }
