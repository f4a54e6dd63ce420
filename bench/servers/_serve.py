"""What every benchmark server shares: arguments, the descriptor limit, the ready line.

A server listens on 127.0.0.1 (port 0 by default: the kernel picks one) and
prints ``PORT <n>`` on stdout once it accepts connections.  ``--tls PEM``
serves TLS with the certificate and key in PEM (one file).  SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import resource
import sys


def parse(description: str, **choices: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    for name, values in choices.items():
        p.add_argument(f"--{name}", choices=values, default=values[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--backlog", type=int, default=1024)
    p.add_argument("--tls", metavar="PEM", help="serve TLS with this certificate+key file")
    p.add_argument("--profile", metavar="PATH", help="write a cProfile of the run to PATH")
    args = p.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return args


def ready(port: int) -> None:
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()


def profiled(path: str | None, run: object) -> None:
    """Call ``run()``, under cProfile when ``path`` is given (dumped when it returns)."""
    if not path:
        run()  # type: ignore[operator]
        return
    import cProfile

    prof = cProfile.Profile()
    try:
        prof.runcall(run)  # type: ignore[arg-type]
    finally:
        prof.dump_stats(path)
