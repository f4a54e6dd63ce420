"""torsion.utils: getProcessOutput, getProcessValue, getProcessOutputAndValue."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from torsion import defer, error, utils
from torsion.failure import Failure

SH = shutil.which("sh") or "/bin/sh"
ENV = shutil.which("env") or "/usr/bin/env"


def failureOf(d: defer.Deferred[Any]) -> defer.Deferred[Any]:
    """A Deferred firing with the Failure ``d`` errbacks with (and failing if it succeeds)."""

    def succeeded(result: Any) -> Any:
        raise AssertionError(f"expected a failure, got {result!r}")

    return d.addCallbacks(succeeded, lambda f: [f])


def test_getProcessOutput(reactor: Any, run: Any) -> None:
    d = utils.getProcessOutput(SH, ["-c", "echo hello; echo world; exit 3"], reactor=reactor)
    # The exit code does not matter.
    assert run(d) == b"hello\nworld\n"


def test_getProcessOutput_argv0_is_the_executable(reactor: Any, run: Any) -> None:
    d = utils.getProcessOutput(SH, ["-c", 'echo "$0"'], reactor=reactor)
    assert run(d) == SH.encode() + b"\n"


def test_getProcessOutput_default_env_is_empty(reactor: Any, run: Any) -> None:
    assert run(utils.getProcessOutput(ENV, reactor=reactor)) == b""


def test_getProcessOutput_env_and_path(reactor: Any, run: Any, tmp_path: Path) -> None:
    d = utils.getProcessOutput(
        SH, ["-c", "echo $X; pwd"], env={"X": "y"}, path=str(tmp_path), reactor=reactor
    )
    assert run(d) == b"y\n" + str(tmp_path.resolve()).encode() + b"\n"


def test_getProcessOutput_errortoo(reactor: Any, run: Any) -> None:
    d = utils.getProcessOutput(
        SH, ["-c", "echo out; echo err >&2; echo more"], reactor=reactor, errortoo=True
    )
    assert sorted(run(d).split()) == [b"err", b"more", b"out"]


def test_getProcessOutput_stderr_is_an_error(reactor: Any, run: Any) -> None:
    # The child waits for EOF on stdin, which comes when the error closes its stdio.
    d = utils.getProcessOutput(SH, ["-c", "echo bad >&2; read x; exit 7"], reactor=reactor)
    ended: list[Failure] = []

    def check(result: list[Failure]) -> defer.Deferred[Any]:
        (f,) = result
        assert isinstance(f.value, IOError)
        assert "bad" in str(f.value)
        processEnded: defer.Deferred[Any] = f.value.processEnded  # type: ignore[attr-defined]
        return processEnded.addErrback(ended.append)

    run(failureOf(d).addCallback(check))
    (reason,) = ended
    assert reason.check(error.ProcessTerminated)
    assert reason.value.exitCode == 7  # type: ignore[attr-defined]


def test_getProcessOutput_missing_executable(reactor: Any) -> None:
    with pytest.raises(FileNotFoundError):
        utils.getProcessOutput("/no/such/program", reactor=reactor)
    with pytest.raises(TypeError, match="sequence"):
        utils.getProcessOutput(SH, "-c", reactor=reactor)


@pytest.mark.parametrize("code", [0, 1, 42])
def test_getProcessValue(reactor: Any, run: Any, code: int) -> None:
    d = utils.getProcessValue(SH, ["-c", f"exit {code}"], reactor=reactor)
    assert run(d) == code


def test_getProcessValue_killed_is_None(reactor: Any, run: Any) -> None:
    d = utils.getProcessValue(SH, ["-c", "kill -9 $$"], reactor=reactor)
    assert run(d) is None


def test_getProcessOutputAndValue(reactor: Any, run: Any) -> None:
    d = utils.getProcessOutputAndValue(
        SH, ["-c", "echo out; echo err >&2; exit 2"], reactor=reactor
    )
    assert run(d) == (b"out\n", b"err\n", 2)


def test_getProcessOutputAndValue_signal_errbacks_with_the_tuple(reactor: Any, run: Any) -> None:
    d = utils.getProcessOutputAndValue(
        SH, ["-c", "echo out; echo err >&2; kill -TERM $$"], reactor=reactor
    )
    (f,) = run(failureOf(d))
    out, err, sig = f.value
    assert (out, err, sig) == (b"out\n", b"err\n", signal.SIGTERM)
    assert f.value == (b"out\n", b"err\n", signal.SIGTERM)
    assert f.value[2] == signal.SIGTERM and len(f.value) == 3
    assert f.check(utils.ProcessKilled)
    assert "signal 15" in str(f.value)
