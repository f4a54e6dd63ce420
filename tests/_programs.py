"""Running torsion programs as subprocesses, for the command and example tests.

A test waits for what the program says once it is ready -- its first line on
stdout, or its "listening on" log lines on stderr -- never for a timer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = re.compile(r"127\.0\.0\.1:(\d+)")


def environment(backend: str | None = None, extra: Path | str | None = None) -> dict[str, str]:
    """The environment for a program run from this checkout (``extra``: more on its path)."""
    env = dict(os.environ)
    paths = [str(ROOT / "src"), *([str(extra)] if extra else []), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("TORSION_REACTOR", None)
    if backend:
        env["TORSION_REACTOR"] = backend
    return env


class Program:
    """``python ARGS...``, started and waited on until it is ready.

    With ``listening=0`` it is ready once it prints a line on stdout; with
    ``listening=n``, once it has logged n "listening on" lines on stderr.
    ``seen`` holds the lines read meanwhile and ``ports`` the loopback ports
    they name.
    """

    def __init__(
        self,
        *args: str,
        backend: str | None = None,
        extra: Path | str | None = None,
        listening: int = 0,
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(backend, extra),
        )
        self._readsStderr = bool(listening)
        stream = self.proc.stderr if listening else self.proc.stdout
        assert stream is not None
        self.seen: list[str] = []
        self.ports: list[int] = []
        for line in stream:
            self.seen.append(line)
            if listening and "listening on" not in line:
                continue
            self.ports += [int(port) for port in ADDRESS.findall(line)[:1]]
            if not listening or len(self.ports) >= listening:
                break
        assert self.seen, self.finish()

    @property
    def port(self) -> int:
        assert self.ports, self.seen
        return self.ports[0]

    def finish(self, sig: int | None = None) -> tuple[int, str, str]:
        """Signal it (if ``sig``), wait for it: status, stdout, stderr (all of it)."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        if self._readsStderr:
            err = "".join(self.seen) + err
        else:
            out = "".join(self.seen) + out
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()
