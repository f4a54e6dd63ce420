"""TLS echo throughput: torsion vs Twisted vs asyncio (and uvloop), same certificate.

The load client is ``tlsload`` (bench/tlsload.c, built here with OpenSSL): the
TLS twin of echoload.  The servers are the echo servers of bench/servers with
``--tls PEM``.  Skipped, with the reason, when torsion.ssl is missing or its
server does not start, or when the client cannot be built.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import common as c

TLS_DIR = c.BUILD / "tls"


def make_pem() -> Path:
    """A certificate for 127.0.0.1 and its key in one PEM file (made once)."""
    pem = TLS_DIR / "server.pem"
    if pem.exists():
        return pem
    import trustme

    TLS_DIR.mkdir(parents=True, exist_ok=True)
    cert = trustme.CA().issue_cert("127.0.0.1", "localhost")
    pem.write_bytes(cert.private_key_and_cert_chain_pem.bytes())
    return pem


def tlsload() -> Path:
    return c.build_tool("tlsload", c.BENCH / "tlsload.c", ("-lssl", "-lcrypto"))


def torsion_ssl_problem(torsion_src: Path | None = None) -> str | None:
    """Why torsion cannot serve TLS here (None when it can)."""
    code = "from torsion import ssl; ssl.PrivateCertificate.loadPEM"
    proc = subprocess.run(
        [c.PYTHON, "-c", code],
        capture_output=True,
        text=True,
        env={**c.os.environ, **c.python_env(torsion_src)},
    )
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"torsion.ssl is not usable: {last}"
    return None


def measure(
    system: str, size: int, conns: int, seconds: float, torsion_src: Path | None = None
) -> dict[str, float]:
    pem = make_pem()
    with c.echo_server(system, torsion_src, ("--tls", str(pem))) as server:
        # Warm up: one TLS connection opened, used and closed.
        c.run_load(tlsload(), server.port, 1, size, 0.1)
        load = tlsload()
        return c.with_server_cpu(
            server.pid, lambda: c.run_load(load, server.port, conns, size, seconds), "trips"
        )


def run(
    systems: list[str],
    sizes: list[int],
    conns: int,
    rounds: int,
    seconds: float,
    torsion_src: Path | None = None,
) -> dict[str, Any]:
    try:
        make_pem()
        tlsload()
    except Exception as e:
        return {"skipped": f"cannot prepare the TLS client or certificate: {e}"}
    problem = torsion_ssl_problem(torsion_src)
    if problem:
        return {"skipped": problem}
    runs = []
    for size in sizes:
        for rnd in range(rounds):
            for system in c.rotated(systems, rnd):
                try:
                    r = measure(system, size, conns, seconds, torsion_src)
                except Exception as e:
                    if system == "torsion":
                        return {"skipped": f"torsion's TLS server failed: {e}"}
                    raise
                c.log(f"  tls {system:8} {size:>6} B x{conns}: {r['rps']:>9.0f} rps")
                runs.append({"system": system, "size": size, "conns": conns, "round": rnd, **r})
    return {"systems": systems, "conns": conns, "seconds": seconds, "runs": runs}
