"""Profile torsion's echo server (or churn client and server) under load with py-spy.

    python bench/profile.py echo [--size 1024] [--conns 10] [--seconds 5]
    python bench/profile.py churn [--seconds 5]

The server runs as in the benchmark (core 0, load on core 1); py-spy samples
it without stopping it (``--nonblocking``; samples of the process blocked in
a system call are left out) and this script prints each function's share of
the samples: its own (self) and with its callees (total), per function and,
with ``--lines``, per line.
The collapsed stacks are kept in bench/out/profile-<what>-<pid>.txt for
flame graphs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import common as c


def pyspy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(c.PYTHON).parent / "py-spy")
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "1000"]
    cmd += ["--nonblocking", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarize(path: Path, lines_too: bool = False, top: int = 25) -> str:
    self_t: Counter[str] = Counter()
    total_t: Counter[str] = Counter()
    n = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_name(f, lines_too) for f in stack.split(";")]
        k = int(count)
        n += k
        self_t[frames[-1]] += k
        for f in set(frames):
            total_t[f] += k
    lines = [f"{path.name}: {n} samples", f"{'self':>6} {'total':>6}  function"]
    for f, k in self_t.most_common(top):
        lines.append(f"{k / n:6.1%} {total_t[f] / n:6.1%}  {f}")
    return "\n".join(lines)


def _name(frame: str, line: bool) -> str:
    """``func (dir/file.py[:line])`` from py-spy's ``func (path/file.py:line)``."""
    func, _, where = frame.rpartition(" (")
    path, _, lineno = where.rstrip(")").rpartition(":")
    short = "/".join(path.split("/")[-2:])
    return f"{func} ({short}:{lineno})" if line else f"{func} ({short})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["echo", "churn"])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--conns", type=int, default=10)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--system", default="torsion", choices=sorted(c.ECHO_SERVERS))
    p.add_argument("--torsion-src", type=Path)
    p.add_argument("--lines", action="store_true", help="also split functions by line")
    a = p.parse_args()
    c.OUT.mkdir(parents=True, exist_ok=True)
    with c.echo_server(a.system, a.torsion_src) as server:
        c.warm_up(server.port, a.size)
        out = c.OUT / f"profile-{a.what}-server-{server.pid}.txt"
        spy = pyspy(server.pid, a.seconds, out)
        if a.what == "echo":
            r = c.run_load(c.echoload(), server.port, a.conns, a.size, a.seconds + 1)
            c.log(f"under the profiler: {r['rps']:.0f} round trips/s")
        else:
            client = c.OUT / f"profile-churn-client-{server.pid}.txt"
            cmd = [c.PYTHON, str(c.BENCH / "churn.py"), "--client", a.system]
            cmd += ["--port", str(server.port), "--seconds", str(a.seconds + 1)]
            env = {**c.os.environ, **c.python_env(a.torsion_src)}
            proc = subprocess.Popen(
                [*c.taskset(c.CLIENT_CPU), *cmd], env=env, text=True, stdout=subprocess.PIPE
            )
            cspy = pyspy(proc.pid, a.seconds, client)
            c.log(f"under the profiler: {proc.communicate()[0].strip()}")
            cspy.wait()
        spy.wait()
    print(summarize(out, a.lines))
    if a.what == "churn":
        print()
        print(summarize(client, a.lines))


if __name__ == "__main__":
    sys.exit(main())
