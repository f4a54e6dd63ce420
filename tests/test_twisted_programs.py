"""Twisted-idiom programs, run under Twisted and under torsion (only the imports
changed), on every torsion backend: their output must be the same.

The programs live in tests/programs/ and import from ``twisted``; ``port()``
rewrites the imports the way the porting table says (``twisted_suite.rewrite``,
which test_twisted_examples.py also uses for Twisted's own example programs).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from torsion import reactors
from twisted_suite import rewrite

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"

pytestmark = pytest.mark.twisted_oracle


def port(source: str) -> str:
    """The program with its imports ported by the porting table (twisted_suite.rewrite)."""
    source = rewrite(source)
    assert "twisted" not in source.replace("# A Twisted-idiom", ""), "an import was not ported"
    return source


def _run(
    source: str, env: dict[str, str], tmp_path: Path, name: str, sig: int | None = None
) -> tuple[int, str, str]:
    script = tmp_path / name
    script.write_text(source)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    if sig is not None:
        first = proc.stdout.readline()
        assert first == "ready\n", first + (proc.stderr.read() if proc.stderr else "")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        out = first + out
    else:
        out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TORSION"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


_twisted_cache: dict[tuple[str, int | None], tuple[int, str]] = {}


def _twisted(name: str, tmp_path: Path, sig: int | None = None) -> tuple[int, str]:
    pytest.importorskip("twisted")
    key = (name, sig)
    if key not in _twisted_cache:
        code, out, _ = _run((PROGRAMS / name).read_text(), _env(), tmp_path, "tw_" + name, sig)
        _twisted_cache[key] = (code, out)
    return _twisted_cache[key]


@pytest.mark.parametrize("backend", reactors.available())
@pytest.mark.parametrize(
    "name", ["lifecycle.py", "deferreds.py", "tcp_events.py", "threads_prog.py"]
)
def test_program_behaves_as_under_twisted(name: str, backend: str, tmp_path: Path) -> None:
    expected_code, expected = _twisted(name, tmp_path)
    code, out, err = _run(
        port((PROGRAMS / name).read_text()), _env(TORSION_REACTOR=backend), tmp_path, name
    )
    assert out == expected, err
    assert code == expected_code, err


@pytest.mark.parametrize("backend", reactors.available())
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shutdown_behaves_as_under_twisted(backend: str, sig: int, tmp_path: Path) -> None:
    expected_code, expected = _twisted("signals.py", tmp_path, sig)
    code, out, err = _run(
        port((PROGRAMS / "signals.py").read_text()),
        _env(TORSION_REACTOR=backend),
        tmp_path,
        "signals.py",
        sig,
    )
    assert out == expected, err
    assert code == expected_code == 0, err


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[+-]\d{4} ", re.M)


def _logText(out: str) -> str:
    """Log output with times replaced and traceback frames dropped (their paths differ)."""
    out = _TIMESTAMP.sub("TIME ", out)
    kept = [
        line
        for line in out.splitlines()
        if not line.startswith(("\t  File ", "\t    ", "  File ", "    "))
        and "Main loop terminated." not in line  # Twisted's reactor says this; torsion's not
    ]
    return "\n".join(kept)


@pytest.mark.parametrize("backend", ["select", "poll", "epoll"])
@pytest.mark.parametrize("name", ["legacy_log.py", "new_logger.py"])
def test_logging_program_logs_as_under_twisted(name: str, backend: str, tmp_path: Path) -> None:
    expected_code, expected = _twisted(name, tmp_path)
    code, out, err = _run(
        port((PROGRAMS / name).read_text()), _env(TORSION_REACTOR=backend), tmp_path, name
    )
    assert _logText(out) == _logText(expected), err
    assert code == expected_code == 0, err
    assert err == ""
