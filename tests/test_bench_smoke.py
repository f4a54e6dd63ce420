"""The benchmark runner's pieces still work (figures are not checked, only that they come).

Each piece runs in a tiny mode: the C tools are built, every echo server
answers a 0.3 s echoload run, the churn clients complete connections, the
memory probe sees connections, the TLS client talks to torsion's TLS server,
and the report (markdown and chart) is written from the figures.
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


@pytest.mark.parametrize("system", [*SYSTEMS, "c"])
def test_echo_server_answers_echoload(system: str) -> None:
    r = echo.measure(system, 1024, 2, 0.3)
    assert r["errors"] == 0
    assert r["trips"] > 0
    assert 0 < r["p50"] <= r["p99"]


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
        "tls": {"skipped": "not in this test"},
    }


def test_report_writes_markdown_and_chart(tmp_path: Path) -> None:
    # In a child process: matplotlib keeps its font files open for good.
    md, chart = tmp_path / "BENCHMARKS.md", tmp_path / "echo.png"
    results = tmp_path / "results.json"
    results.write_text(json.dumps(fake_results()))
    cmd = [sys.executable, str(BENCH / "report.py"), str(results), "--md", str(md)]
    subprocess.run([*cmd, "--chart", str(chart)], check=True, capture_output=True, timeout=60)
    text = md.read_text()
    assert "## Targets" in text
    assert "echo 1 KiB x 10 conns: torsion / uvloop" in text
    assert "python bench/run.py --quick" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert chart.stat().st_size > 0
        assert "](echo.png)" in text
