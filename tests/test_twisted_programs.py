"""Twisted-idiom programs, run under Twisted and under torsion (only the imports
changed), on every torsion backend: their output must be the same.

The programs live in tests/programs/ and import from ``twisted``; ``port()``
rewrites the imports the way the porting table says.
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

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"

pytestmark = pytest.mark.twisted_oracle

_IMPORTS = [
    (r"from twisted\.internet import ", "from torsion import "),
    (r"from twisted\.python\.failure import ", "from torsion.failure import "),
    (r"from twisted\.protocols\.basic import ", "from torsion.protocols.basic import "),
    (r"from twisted\.internet\.(\w+) import ", r"from torsion.\1 import "),
]


def port(source: str) -> str:
    for pattern, replacement in _IMPORTS:
        source = re.sub(pattern, replacement, source)
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
