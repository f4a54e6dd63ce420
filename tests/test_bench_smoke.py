"""The benchmark runner's pieces still work (figures are not checked, only that they come).

Each piece runs in a tiny mode: the C tools are built, every echo server
answers a 0.3 s echoload run, the churn clients complete connections, the
memory probe sees connections, the TLS client talks to torsion's TLS server,
wrk loads ``torsion run web`` and ``twist web``, and the report (markdown and
chart) is written from the figures.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))

import churn  # noqa: E402
import common  # noqa: E402
import echo  # noqa: E402
import memory  # noqa: E402
import tls  # noqa: E402
import web  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which(common.os.environ.get("CC", "cc")) is None
    or not (common.SHARED / "echoload.c").exists(),
    reason="needs a C compiler and the shared bench tools",
)


def needs(system: str) -> Any:
    module = {"twisted": "twisted", "uvloop": "uvloop"}.get(system)
    missing = module is not None and importlib.util.find_spec(module) is None
    return pytest.param(system, marks=pytest.mark.skipif(missing, reason=f"{module} missing"))


SYSTEMS = [needs(s) for s in ("torsion", "twisted", "asyncio", "uvloop")]


AIO_SYSTEMS = ["torsion-aio", "torsion-aio-streams", "asyncio-streams", "torsion-on-uvloop"]


@pytest.mark.parametrize("system", [*SYSTEMS, "c", *AIO_SYSTEMS])
def test_echo_server_answers_echoload(system: str) -> None:
    r = echo.measure(system, 1024, 2, 0.3)
    assert r["errors"] == 0
    assert r["trips"] > 0
    assert 0 < r["p50"] <= r["p99"]
    assert r["client_busy"] > 0  # the load client's CPU, from its rusage


@pytest.mark.parametrize("system", SYSTEMS)
def test_churn_client_completes_connections(system: str) -> None:
    r = churn.measure(system, 0.3, 2)
    assert r["connections"] > 0
    assert r["failed"] == 0


def test_memory_probe_sees_the_connections() -> None:
    r = memory.measure("torsion", 100)
    assert r["conns"] == 100
    assert r["rss_after_kib"] > 0


def test_tls_client_against_torsion() -> None:
    problem = tls.torsion_ssl_problem()
    if problem:
        pytest.skip(problem)
    try:
        tls.tlsload()
        tls.make_pem()
    except Exception as e:
        pytest.skip(f"TLS client or certificate unavailable: {e}")
    r = tls.measure("torsion", 1024, 2, 0.3)
    assert r["errors"] == 0
    assert r["trips"] > 0
    assert r["cpu_user_us"] + r["cpu_sys_us"] > 0
    assert r["client_busy"] > 0


WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1/small.txt
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   180.50us   60.10us   2.10ms   90.00%
    Req/Sec    20.00k     1.00k   22.00k    70.00%
  Latency Distribution
     50%  170.00us
     75%  190.00us
     90%  220.00us
     99%    1.20ms
  20000 requests in 1.00s, 31.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  19990.50
Transfer/sec:     30.98MB
"""


def test_wrk_output_is_parsed() -> None:
    r = web.parse_wrk(WRK_OUTPUT)
    assert r["requests"] == 20000
    assert r["rps"] == 19990.5
    assert r["p50"] == pytest.approx(0.17)
    assert r["p99"] == pytest.approx(1.2)
    assert r["mbps"] == pytest.approx(30.98)
    assert r["errors"] == 3


@pytest.mark.parametrize("system", ["torsion", "twisted"])
def test_web_servers_answer_wrk(system: str, tmp_path: Path) -> None:
    problem = web.problem()
    if problem:
        pytest.skip(problem)
    root = web.make_root(tmp_path / "root")
    r = web.measure(system, "small", root, 4, 1)
    assert r["errors"] == 0
    assert r["requests"] > 0
    assert 0 < r["p50"] <= r["p99"]
    assert r["cpu_user_us"] + r["cpu_sys_us"] > 0


def fake_results() -> dict[str, Any]:
    systems = ["torsion", "twisted", "asyncio", "uvloop"]
    echo_runs = [
        {
            "system": s,
            "size": size,
            "conns": 10,
            "round": rnd,
            "rps": 1000.0 + i,
            "mbps": 1.0,
            "p50": 0.1,
            "p99": 0.2,
            "trips": 1,
            "errors": 0,
        }
        for rnd in range(2)
        for size in (1024, 65536)
        for i, s in enumerate([*systems, "c"])
    ]
    return {
        "command": "python bench/run.py --quick",
        "started": "now",
        "elapsed_s": 1.0,
        "idle_before": 1.0,
        "idle_after": 1.0,
        "others_cpu": {"parts": {"echo": 0.25, "web": 0.01}, "run": 0.1},
        "machine": common.machine(),
        "echo": {"systems": [*systems, "c"], "seconds": 0.3, "rounds": 2, "runs": echo_runs},
        "churn": {
            "systems": systems,
            "concurrency": 10,
            "seconds": 0.3,
            "runs": [{"system": s, "round": 0, "cps": 100.0 + i} for i, s in enumerate(systems)],
        },
        "memory": {
            "systems": systems,
            "conns": 10,
            "runs": [
                {
                    "system": s,
                    "round": 0,
                    "bytes_per_conn": 900.0 + i,
                    "rss_before_kib": 1,
                    "rss_after_kib": 2,
                }
                for i, s in enumerate(systems)
            ],
        },
        "core": {
            "meta": {"rounds": 2},
            "results": [
                {
                    "part": "a",
                    "name": "chain",
                    "unit": "us/op",
                    "torsion": 1.0,
                    "twisted": 3.0,
                    "twisted_over_torsion": 3.0,
                },
                {
                    "part": "d",
                    "name": "import",
                    "unit": "ms",
                    "torsion": 40.0,
                    "twisted": 300.0,
                    "twisted_over_torsion": 7.5,
                },
            ],
        },
        "tls": {
            "systems": ["torsion", "twisted"],
            "conns": 10,
            "seconds": 1,
            "runs": [
                {
                    "system": sys_,
                    "size": 65536,
                    "conns": 10,
                    "round": 0,
                    "rps": rps,
                    "p50": 1.0,
                    "p99": 2.0,
                    "cpu_user_us": user,
                    "cpu_sys_us": 20.0,
                    "client_busy": busy,
                }
                for sys_, rps, user, busy in (
                    ("torsion", 10000.0, 60.0, 0.99),
                    ("twisted", 7000.0, 100.0, 0.6),
                )
            ],
        },
        "web": {
            "systems": web.SYSTEMS,
            "conns": 50,
            "seconds": 1,
            "rounds": 1,
            "files": {k: {"name": n, "size": s} for k, (n, s) in web.FILES.items()},
            "commands": {s: f"python -m {s} web" for s in web.SYSTEMS},
            "runs": [
                {
                    "system": s,
                    "file": f,
                    "round": 0,
                    "rps": rps,
                    "p50": 1.0,
                    "p99": 2.0,
                    "errors": 0,
                    "cpu_user_us": 10.0,
                    "cpu_sys_us": 5.0,
                }
                for f in web.FILES
                for s, rps in zip(web.SYSTEMS, (3000.0, 2000.0, 1000.0), strict=True)
            ],
        },
    }


def test_report_writes_markdown_and_chart(tmp_path: Path) -> None:
    # In a child process: matplotlib keeps its font files open for good.
    md, chart = tmp_path / "BENCHMARKS.md", tmp_path / "echo.png"
    results = tmp_path / "results.json"
    results.write_text(json.dumps(fake_results()))
    handWritten = "<!-- Sections below are written by hand; bench/report.py keeps them. -->\n"
    handWritten += "\n## 7. By hand\n\nkept\n"
    md.write_text("# Old report\n\n" + handWritten)
    cmd = [sys.executable, str(BENCH / "report.py"), str(results), "--md", str(md)]
    subprocess.run([*cmd, "--chart", str(chart)], check=True, capture_output=True, timeout=60)
    text = md.read_text()
    assert "## Targets" in text
    assert "echo 1 KiB x 10 conns: torsion / uvloop" in text
    assert "python bench/run.py --quick" in text
    assert "| web small file: torsion / twist web | 3.00 (target >= 2) | met |" in text
    assert "Web (static files over HTTP/1.1)" in text
    assert "# Old report" not in text and text.endswith("\n" + handWritten)
    # TLS: the server's CPU per trip, how busy the client was, torsion's CPU ratio.
    assert "| 64 KiB | 60.0 + 20.0 (99%) | 100.0 + 20.0 (60%) | 0.67 |" in text
    assert "| CPU used by other processes during the run | 10% of all cores (echo 25%" in text
    assert "(25% during echo, as a share of all cores)" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert chart.stat().st_size > 0
        assert "](echo.png)" in text


def test_aio_loop_micro_and_report() -> None:
    """bench/aio.py: one in-process figure per loop, and its report section."""
    import aio
    import report

    for loop in ("torsion", "asyncio"):
        wall, cpu = aio._micro(loop, "sleep0", 1000)
        assert 0 < wall < 1e-3 and 0 < cpu < 1e-3

    def echoRun(system: str, rps: float, cpu: float, busy: float) -> dict[str, Any]:
        return {
            "system": system,
            "size": 1024,
            "conns": 10,
            "round": 0,
            "rps": rps,
            "cpu_user_us": cpu - 5.0,
            "cpu_sys_us": 5.0,
            "client_busy": busy,
        }

    res = {
        "sizes": [1024],
        "conns": [10],
        "echo": {
            "runs": [
                # The client's core is 95% busy with asyncio: the CPU per trip decides.
                echoRun("torsion-aio", 100.0, 6.0, 0.90),
                echoRun("asyncio", 98.0, 7.5, 0.95),
                echoRun("uvloop", 90.0, 6.3, 0.50),
            ]
        },
        "loop": {
            "ns_per_op": {"call_soon": {"torsion": 100.0, "asyncio": 200.0, "uvloop": 50.0}},
            "cpu_ns_per_op": {"call_soon": {"torsion": 100.0, "asyncio": 150.0, "uvloop": 50.0}},
        },
    }
    targets = report.Targets()
    text = "\n".join(report.aio_section(res, targets))
    assert "| protocol echo | 1 KiB x 10 | 100 | 98 | 90 | 1.02 | 1.11 |" in text
    assert (
        "| protocol echo | 1 KiB x 10 | 6.0 (90%) | 7.5 (95%) | 6.3 (50%) | 1.25 | 1.05 |" in text
    )
    assert "| call_soon churn | 10,000,000 | 6,666,667 | 20,000,000 | 1.50 | 0.50 |" in text
    assert targets.rows == [
        (
            "asyncio echo 1 KiB x 10: torsion.aio / asyncio"
            " (server CPU per round trip; client-bound)",
            "1.25 (target >= 1.2); round trips/s: 1.02",
            "met",
        ),
        (
            "asyncio echo 1 KiB x 10: torsion.aio / uvloop"
            " (server CPU per round trip; client-bound)",
            "1.05 (target >= 1); round trips/s: 1.11",
            "met",
        ),
        (
            "call_soon churn: torsion.aio / asyncio (CPU time)",
            "1.50 (target >= 1); wall clock: 2.00",
            "met",
        ),
    ]
    # Neither client busy: round trips per second decide.
    for r in res["echo"]["runs"]:
        r["client_busy"] = 0.5
    targets = report.Targets()
    report.aio_section(res, targets)
    assert targets.rows[0] == (
        "asyncio echo 1 KiB x 10: torsion.aio / asyncio (round trips/s)",
        "1.02 (target >= 1.2); server CPU: 1.25",
        "MISSED",
    )
