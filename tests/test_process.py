"""reactor.spawnProcess, its transports and ProcessProtocol, on every backend."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from torsion import address, defer, error
from torsion._process import reap as _process_reap
from torsion._process.addresses import ProcessAddress
from torsion.endpoints import ProcessEndpoint, StandardErrorBehavior
from torsion.failure import Failure
from torsion.protocol import Factory, ProcessProtocol, Protocol

SH = shutil.which("sh") or "/bin/sh"
CAT = shutil.which("cat") or "/bin/cat"
ENV = shutil.which("env") or "/usr/bin/env"


class Recorder(ProcessProtocol):
    """Records every callback; ``ended`` fires with processEnded's reason."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.data: dict[int, bytes] = {}
        # Fires with processEnded's exception (a Failure would errback).
        self.ended: defer.Deferred[BaseException] = defer.Deferred()
        self.exitReason: Failure | None = None

    @property
    def out(self) -> bytes:
        return self.data.get(1, b"")

    @property
    def err(self) -> bytes:
        return self.data.get(2, b"")

    def connectionMade(self) -> None:
        self.events.append("made")

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if not self.events or self.events[-1] != ("data", childFD):
            self.events.append(("data", childFD))
        self.data[childFD] = self.data.get(childFD, b"") + data
        super().childDataReceived(childFD, data)

    def childConnectionLost(self, childFD: int) -> None:
        self.events.append(("lost", childFD))
        super().childConnectionLost(childFD)

    def inConnectionLost(self) -> None:
        self.events.append("in")

    def outConnectionLost(self) -> None:
        self.events.append("out")

    def errConnectionLost(self) -> None:
        self.events.append("err")

    def processExited(self, reason: Failure) -> None:
        self.events.append("exited")
        self.exitReason = reason

    def processEnded(self, reason: Failure) -> None:
        self.events.append("ended")
        self.ended.callback(reason.value)


def spawn(reactor: Any, args: list[str], **kw: Any) -> tuple[Recorder, Any]:
    p = Recorder()
    t = reactor.spawnProcess(p, args[0], args, **kw)
    return p, t


# -- the basics ------------------------------------------------------------------


def test_cat_round_trip_60k(reactor: Any, run: Any) -> None:
    payload = os.urandom(60 * 1024)
    p, t = spawn(reactor, [CAT])
    assert isinstance(t.pid, int)
    t.write(payload[:1000])
    t.writeSequence([payload[1000:30000], payload[30000:]])
    t.closeStdin()
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessDone)
    assert reason.exitCode == 0 and reason.signal is None
    assert p.out == payload
    assert t.pid is None
    assert t.status == 0


def test_callback_order(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [SH, "-c", "echo out; echo err >&2"])
    t.closeStdin()
    run(p.ended)
    assert p.events[0] == "made"
    assert p.events[-2:] == ["exited", "ended"]
    for fd, name in ((0, "in"), (1, "out"), (2, "err")):
        i = p.events.index(("lost", fd))
        assert p.events[i + 1] == name
        assert p.events.count(("lost", fd)) == 1
    # Output is delivered before its pipe is reported closed.
    assert p.events.index(("data", 1)) < p.events.index(("lost", 1))
    assert p.events.index(("data", 2)) < p.events.index(("lost", 2))
    assert p.out == b"out\n" and p.err == b"err\n"


@pytest.mark.parametrize("code", [1, 3, 255])
def test_exit_code(reactor: Any, run: Any, code: int) -> None:
    p, _t = spawn(reactor, [SH, "-c", f"echo oops >&2; exit {code}"])
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessTerminated)
    assert reason.exitCode == code
    assert reason.signal is None
    assert p.exitReason is not None and p.exitReason.value.exitCode == code
    assert p.err == b"oops\n"


def test_output_before_exit_is_all_delivered(reactor: Any, run: Any) -> None:
    p, _t = spawn(
        reactor, [SH, "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done"]
    )
    run(p.ended)
    lines = p.out.decode().split()
    assert len(lines) == 2000 and lines[-1] == "line1999"
    # processExited saw everything the child wrote.
    assert p.events.index("exited") > p.events.index(("lost", 1))


def test_processEnded_waits_for_a_grandchild_holding_stdout(reactor: Any, run: Any) -> None:
    # The grandchild keeps stdout open after its parent exits; it is told to
    # finish (by EOF on its fd 3) only once the child has exited.
    class Releaser(Recorder):
        def processExited(self, reason: Failure) -> None:
            super().processExited(reason)
            self.transport.closeChildFD(3)

    p = Releaser()
    t = reactor.spawnProcess(
        p,
        SH,
        [SH, "-c", "(read x <&3; echo late) & exit 0"],
        childFDs={0: "w", 1: "r", 2: "r", 3: "w"},
    )
    assert t.pid is not None
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessDone)
    assert p.out == b"late\n"
    assert p.events.index("exited") < p.events.index(("data", 1)) < p.events.index("ended")


# -- signals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signalID", "number"),
    [
        ("TERM", signal.SIGTERM),
        ("KILL", signal.SIGKILL),
        ("INT", signal.SIGINT),
        ("HUP", signal.SIGHUP),
        (signal.SIGUSR1, signal.SIGUSR1),
    ],
)
def test_signalProcess(reactor: Any, run: Any, signalID: Any, number: int) -> None:
    p, t = spawn(reactor, [SH, "-c", "echo ready; exec cat"])

    def ready(data: bytes) -> None:
        t.signalProcess(signalID)

    p.outReceived = ready  # type: ignore[method-assign]
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessTerminated)
    assert reason.signal == number
    assert reason.exitCode is None
    with pytest.raises(error.ProcessExitedAlready):
        t.signalProcess("TERM")


def test_signalProcess_bad_name(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [CAT])
    with pytest.raises(ValueError, match="unknown signal"):
        t.signalProcess("NOSUCH")
    with pytest.raises(TypeError):
        t.signalProcess(1.5)
    t.closeStdin()
    run(p.ended)


def test_child_signal_state_is_reset(reactor: Any, run: Any) -> None:
    """Blocked and ignored signals of the parent are not inherited."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    old_usr2 = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:
        p, _t = spawn(reactor, [CAT, "/proc/self/status"])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGUSR2, old_usr2)
    run(p.ended)
    status = dict(line.split(":\t", 1) for line in p.out.decode().splitlines() if ":\t" in line)

    def signals(mask: str) -> set[int]:
        bits = int(mask, 16)
        # glibc's two internal signals are not ours to set (and not "valid").
        return {n for n in signal.valid_signals() if bits & (1 << (n - 1))}

    assert signals(status["SigBlk"]) == set()
    # Python ignores SIGPIPE and SIGXFSZ itself; none of that reaches the child.
    assert signals(status["SigIgn"]) == set()


# -- environment, arguments, directory --------------------------------------------


def test_default_environment_is_empty(reactor: Any, run: Any) -> None:
    p, _t = spawn(reactor, [ENV])
    run(p.ended)
    assert p.out == b""


def test_env_none_inherits(reactor: Any, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORSION_TEST_VAR", "inherited")
    p, _t = spawn(reactor, [ENV], env=None)
    run(p.ended)
    assert b"TORSION_TEST_VAR=inherited\n" in p.out


def test_env_given_is_exactly_that(reactor: Any, run: Any) -> None:
    p, _t = spawn(reactor, [ENV], env={"A": "1", b"B": b"two words"})
    run(p.ended)
    assert sorted(p.out.splitlines()) == [b"A=1", b"B=two words"]


def test_arguments_are_not_interpreted_by_a_shell(reactor: Any, run: Any) -> None:
    args = ["$HOME", "a b", "*", "`id`", b"\xff"]
    p, _t = spawn(reactor, [SH, "-c", 'for a in "$@"; do echo "[$a]"; done', "sh", *args])
    run(p.ended)
    assert p.out == b"[$HOME]\n[a b]\n[*]\n[`id`]\n[\xff]\n"


def test_bare_name_is_searched_on_path(reactor: Any, run: Any) -> None:
    p = Recorder()
    reactor.spawnProcess(p, "sh", ["sh", "-c", "exit 7"])
    assert run(p.ended).exitCode == 7


def test_path_sets_the_working_directory(reactor: Any, run: Any, tmp_path: Path) -> None:
    p, _t = spawn(reactor, [SH, "-c", "pwd; exit 4"], path=str(tmp_path))
    reason = run(p.ended)
    assert p.out.decode().strip() == str(tmp_path.resolve())
    assert reason.exitCode == 4


def test_path_with_relative_executable(reactor: Any, run: Any, tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho hello from $0\n")
    script.chmod(0o755)
    p = Recorder()
    reactor.spawnProcess(p, "./hello.sh", ["./hello.sh"], path=str(tmp_path))
    run(p.ended)
    assert p.out == b"hello from ./hello.sh\n"


def test_path_keeps_the_environment_exactly(reactor: Any, run: Any, tmp_path: Path) -> None:
    p, _t = spawn(reactor, [ENV], path=str(tmp_path), env={"ONLY": "me"})
    run(p.ended)
    assert p.out == b"ONLY=me\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")
def test_uid_and_gid(reactor: Any, run: Any) -> None:
    p, _t = spawn(reactor, [SH, "-c", "id -u; id -g; id -G"], uid=65534, gid=65533)
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessDone), p.err
    assert p.out.split() == [b"65534", b"65533", b"65533"]


def test_missing_executable_raises_at_the_call(reactor: Any) -> None:
    with pytest.raises(FileNotFoundError):
        reactor.spawnProcess(Recorder(), "/nonexistent/program", ["program"])
    with pytest.raises(FileNotFoundError):
        reactor.spawnProcess(Recorder(), "no-such-program-torsion", ["x"])


def test_missing_executable_with_path_raises_at_the_call(reactor: Any, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        reactor.spawnProcess(Recorder(), "./nothing", ["nothing"], path=str(tmp_path))
    with pytest.raises(NotADirectoryError):
        reactor.spawnProcess(Recorder(), CAT, [CAT], path=str(tmp_path / "nowhere"))


def test_not_executable_raises(reactor: Any, tmp_path: Path) -> None:
    f = tmp_path / "data.txt"
    f.write_text("not a program")
    with pytest.raises(PermissionError):
        reactor.spawnProcess(Recorder(), str(f), [str(f)])


@pytest.mark.parametrize(
    ("args", "env", "exc", "match"),
    [
        ([CAT, 5], {}, TypeError, r"args\[1\] must be str or bytes"),
        ([CAT, "a\0b"], {}, ValueError, r"args\[1\] contains a NUL byte"),
        ("cat", {}, TypeError, "not a single str"),
        ([], {}, ValueError, "args must not be empty"),
        ([CAT], {"A=B": "1"}, ValueError, "invalid environment variable name"),
        ([CAT], {"A": 1}, TypeError, "environment variable 'A' must be str or bytes"),
        ([CAT], {"A": "x\0"}, ValueError, "NUL"),
        ([CAT], ["A=1"], TypeError, "env must be a dict"),
    ],
)
def test_bad_arguments_raise_at_the_call(
    reactor: Any, args: Any, env: Any, exc: type[Exception], match: str
) -> None:
    with pytest.raises(exc, match=match):
        reactor.spawnProcess(Recorder(), CAT, args, env=env)


def test_bad_executable_and_childFDs(reactor: Any) -> None:
    with pytest.raises(TypeError, match="executable must be str or bytes"):
        reactor.spawnProcess(Recorder(), 42, ["x"])
    with pytest.raises(ValueError, match="NUL"):
        reactor.spawnProcess(Recorder(), "ca\0t", ["cat"])
    with pytest.raises(ValueError, match="childFDs"):
        reactor.spawnProcess(Recorder(), CAT, [CAT], childFDs={0: "x"})
    with pytest.raises(ValueError, match="childFDs keys"):
        reactor.spawnProcess(Recorder(), CAT, [CAT], childFDs={-1: "r"})
    with pytest.raises(OSError, match="not open"):
        reactor.spawnProcess(Recorder(), CAT, [CAT], childFDs={0: 987})
    with pytest.raises(ValueError, match="usePTY"):
        reactor.spawnProcess(Recorder(), CAT, [CAT], usePTY=True, childFDs={0: "w"})
    with pytest.raises(TypeError, match="uid"):
        reactor.spawnProcess(Recorder(), CAT, [CAT], uid="root")


# -- descriptors -------------------------------------------------------------------


def test_childFDs_extra_descriptor(reactor: Any, run: Any) -> None:
    p, t = spawn(
        reactor,
        [SH, "-c", "echo to-three >&3; cat <&4 >&5"],
        childFDs={0: "w", 1: "r", 2: "r", 3: "r", 4: "w", 5: "r"},
    )
    t.writeToChild(4, b"via four")
    t.closeChildFD(4)
    t.closeStdin()
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessDone), p.err
    assert p.data[3] == b"to-three\n"
    assert p.data[5] == b"via four"
    for fd in range(6):
        assert p.events.count(("lost", fd)) == 1


def test_childFDs_parent_descriptor(reactor: Any, run: Any) -> None:
    r, w = os.pipe()
    try:
        # The child's stderr is a descriptor of ours, passed by number.
        p, t = spawn(
            reactor,
            [SH, "-c", "echo one; echo two >&2"],
            childFDs={0: "w", 1: "r", 2: w},
        )
        t.closeStdin()
    finally:
        os.close(w)
    run(p.ended)
    assert p.out == b"one\n"
    assert os.read(r, 100) == b"two\n"
    os.close(r)


def test_childFDs_mapping_does_not_clobber_sources(reactor: Any, run: Any) -> None:
    # Child fd 1 must be pipe A and child fd 2 pipe B, whatever the parent
    # numbers are; give sources whose numbers are the other's target.
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    try:
        p = Recorder()
        reactor.spawnProcess(
            p, SH, [SH, "-c", "echo A; echo B >&2"], childFDs={1: a_w, 2: b_w, 0: "w"}
        )
    finally:
        os.close(a_w)
        os.close(b_w)
    p.transport.closeStdin()
    run(p.ended)
    assert os.read(a_r, 10) == b"A\n"
    assert os.read(b_r, 10) == b"B\n"
    os.close(a_r)
    os.close(b_r)


def test_other_descriptors_are_closed_in_the_child(reactor: Any, run: Any) -> None:
    import fcntl

    r, w = os.pipe()
    high = fcntl.fcntl(r, fcntl.F_DUPFD, 50)  # inheritable, unlike os.pipe()'s
    os.set_inheritable(w, True)
    try:
        p, _t = spawn(reactor, ["ls", "-1", "/proc/self/fd"])
        run(p.ended)
    finally:
        for fd in (r, w, high):
            os.close(fd)
    fds = {int(x) for x in p.out.split()}
    # 0, 1, 2 and the directory ls is listing.
    assert fds <= {0, 1, 2, 3}, fds
    assert w > 3 or w not in fds


def test_100_children_exiting_at_once(reactor: Any, run: Any) -> None:
    """All are reaped (the leak check fails on a zombie) and no descriptor is left."""
    r, w = os.pipe()
    protocols = []
    try:
        for _ in range(100):
            p = Recorder()
            reactor.spawnProcess(p, CAT, [CAT], childFDs={0: r, 1: "r"})
            protocols.append(p)
    finally:
        os.close(r)
    # Every child blocks reading the shared pipe: closing it ends them together.
    os.close(w)
    reasons = run(defer.gatherResults([p.ended for p in protocols]), timeout=30)
    assert all(isinstance(reason, error.ProcessDone) for reason in reasons)
    assert all(p.events[-2:] == ["exited", "ended"] for p in protocols)
    assert not reactor.getReaders()


# -- stdin, closing, producers ------------------------------------------------------


def test_child_closing_stdin_is_noticed_before_exit(reactor: Any, run: Any) -> None:
    class P(Recorder):
        def inConnectionLost(self) -> None:
            super().inConnectionLost()
            self.transport.signalProcess("KILL")

    p = P()
    reactor.spawnProcess(p, SH, [SH, "-c", "exec 0<&-; exec sleep 30"])
    reason = run(p.ended)
    assert reason.signal == signal.SIGKILL
    assert p.events.index("in") < p.events.index("exited")


def test_loseConnection_closes_everything(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [CAT])
    t.write(b"pending")
    t.loseConnection()
    reason = run(p.ended)
    # cat got EOF (after the queued bytes) or SIGPIPE writing them back.
    assert isinstance(reason, error.ProcessDone) or reason.signal == signal.SIGPIPE
    assert {("lost", 0), ("lost", 1), ("lost", 2)} <= set(p.events)


def test_writes_after_stdin_closed_are_dropped_and_str_is_refused(reactor: Any, run: Any) -> None:
    class P(Recorder):
        def inConnectionLost(self) -> None:
            super().inConnectionLost()
            self.transport.write(b"dropped")

    p = P()
    t = reactor.spawnProcess(p, CAT, [CAT])
    with pytest.raises(TypeError, match="must be bytes"):
        t.write("text")
    t.write(b"kept")
    t.closeStdin()
    t.write(b" and queued")  # before the close happens: sent first, as in Twisted
    run(p.ended)
    assert p.out == b"kept and queued"


def test_writeToChild_errors(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [CAT])
    with pytest.raises(KeyError):
        t.writeToChild(7, b"x")
    with pytest.raises(ValueError, match="reads from"):
        t.writeToChild(1, b"x")
    t.closeStdin()
    run(p.ended)


def test_closeStdout_and_closeStderr(reactor: Any, run: Any) -> None:
    class P(Recorder):
        def errConnectionLost(self) -> None:
            super().errConnectionLost()
            self.transport.write(b"hi\n")  # only now does the child try to write

    p = P()
    t = reactor.spawnProcess(p, SH, [SH, "-c", "read x; echo $x; echo e >&2"])
    t.closeStdout()
    t.closeStderr()
    reason = run(p.ended)
    # The child's writes hit closed pipes: SIGPIPE kills it.
    assert reason.signal == signal.SIGPIPE
    assert p.out == b"" and p.events.index("out") < p.events.index("exited")


def test_pause_and_resume_reading(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [SH, "-c", "echo hello"])
    t.pauseProducing()
    reactor.callLater(0.2, t.resumeProducing)
    run(p.ended)
    assert p.out == b"hello\n"


def test_no_stdin_pipe(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [SH, "-c", "echo fine"], childFDs={1: "r"})
    t.write(b"nowhere")  # silently dropped, as in Twisted

    class Producer:
        stopped = False

        def stopProducing(self) -> None:
            self.stopped = True

    producer = Producer()
    t.registerProducer(producer, True)
    assert producer.stopped
    run(p.ended)
    assert p.out == b"fine\n"


# -- errors in the protocol -----------------------------------------------------------


def test_errors_in_callbacks_are_logged(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Bad(Recorder):
        def errReceived(self, data: bytes) -> None:
            raise RuntimeError("boom in errReceived")

        def processExited(self, reason: Failure) -> None:
            super().processExited(reason)
            raise RuntimeError("boom in processExited")

    p = Bad()
    reactor.spawnProcess(p, SH, [SH, "-c", "echo e >&2; echo o"])
    p.transport.closeStdin()
    with caplog.at_level(logging.ERROR):
        reason = run(p.ended)
    assert isinstance(reason, error.ProcessDone)
    assert p.out == b"o\n"
    text = caplog.text
    assert "boom in errReceived" in text and "boom in processExited" in text


def test_connectionMade_error_is_logged(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Bad(Recorder):
        def connectionMade(self) -> None:
            raise RuntimeError("boom in connectionMade")

    p = Bad()
    reactor.spawnProcess(p, SH, [SH, "-c", "exit 0"])
    with caplog.at_level(logging.ERROR):
        run(p.ended)
    assert "boom in connectionMade" in caplog.text


# -- shutdown and reaping ---------------------------------------------------------------


def test_shutdown_reaps_an_exited_child(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [SH, "-c", "exit 5"])
    # Wait (without reaping) until it is a zombie, then shut down at once.
    os.waitid(os.P_PID, t.pid, os.WEXITED | os.WNOWAIT)
    d: defer.Deferred[None] = defer.Deferred()
    reactor.callWhenRunning(d.callback, None)
    run(d)
    assert p.ended.called
    assert "ended" in p.events
    assert p.exitReason is not None and p.exitReason.value.exitCode == 5


def test_shutdown_leaves_a_running_child_running(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [SH, "-c", "exec sleep 30"])
    pid = t.pid
    d: defer.Deferred[None] = defer.Deferred()
    reactor.callWhenRunning(d.callback, None)
    run(d)
    # Its pipes were closed; it runs on and its protocol is not told of an end.
    assert {("lost", 0), ("lost", 1), ("lost", 2)} <= set(p.events)
    assert "exited" not in p.events
    os.kill(pid, 0)
    t.signalProcess("KILL")  # still possible, and safe: it is reaped under a lock
    # A background thread reaps it now (the leak check would see a zombie).
    import threading

    for thread in threading.enumerate():
        if thread.name == f"torsion-reap-{pid}":
            thread.join(5)
    assert t.pid is None and os.WTERMSIG(t.status) == signal.SIGKILL
    with pytest.raises(error.ProcessExitedAlready):
        t.signalProcess("KILL")


def test_sigchld_fallback(reactor: Any, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_process_reap, "HAVE_PIDFD", False)
    before = signal.getsignal(signal.SIGCHLD)
    payload = os.urandom(30000)
    p1, t1 = spawn(reactor, [CAT])
    t1.write(payload)
    t1.closeStdin()
    p2, _t2 = spawn(reactor, [SH, "-c", "exit 9"])
    p3, t3 = spawn(reactor, [SH, "-c", "exec sleep 30"])
    reactor.callLater(0.1, t3.signalProcess, "TERM")
    many = [spawn(reactor, [SH, "-c", "exit 0"])[0] for _ in range(20)]
    results = run(defer.gatherResults([p1.ended, p2.ended, p3.ended] + [p.ended for p in many]))
    assert p1.out == payload and isinstance(results[0], error.ProcessDone)
    assert results[1].exitCode == 9
    assert results[2].signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGCHLD) == before


def test_child_reaped_by_someone_else(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [SH, "-c", "exit 3"])
    t.closeStdin()
    os.waitpid(t.pid, 0)  # steal the exit status
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessTerminated)
    assert reason.exitCode is None and reason.status is None


# -- pty ---------------------------------------------------------------------------------


def test_usePTY(reactor: Any, run: Any) -> None:
    p, t = spawn(
        reactor, [SH, "-c", "test -t 0 && test -t 1 && echo tty; read x; echo got $x"], usePTY=True
    )
    t.write(b"line\n")
    reason = run(p.ended)
    assert isinstance(reason, error.ProcessDone)
    text = p.out.replace(b"\r\n", b"\n")
    assert b"tty\n" in text and b"got line\n" in text
    assert ("lost", 1) not in p.events  # as Twisted: no per-descriptor close for a pty


def test_usePTY_controlling_terminal_and_session(reactor: Any, run: Any) -> None:
    p, _t = spawn(
        reactor,
        [sys.executable, "-c", "import os; print(os.getsid(0) == os.getpid(), os.ttyname(0))"],
        usePTY=True,
        env=None,
    )
    run(p.ended)
    leader, tty = p.out.decode().split()
    assert leader == "True" and tty.startswith("/dev/pts/")


def test_usePTY_signal_and_loseConnection(reactor: Any, run: Any) -> None:
    p, t = spawn(reactor, [CAT], usePTY=True)
    t.signalProcess("KILL")
    reason = run(p.ended)
    assert reason.signal == signal.SIGKILL
    t.loseConnection()  # harmless once closed
    with pytest.raises(NotImplementedError):
        t.writeToChild(0, b"x")


# -- ProcessEndpoint ----------------------------------------------------------------------


class StreamRecorder(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.lost: defer.Deferred[BaseException] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.callback(reason.value)


def test_process_endpoint(reactor: Any, run: Any) -> None:
    ep = ProcessEndpoint(reactor, CAT, [CAT])
    factory = Factory.forProtocol(StreamRecorder)
    connected: list[Any] = []
    ep.connect(factory).addCallback(connected.append)
    (proto,) = connected
    assert isinstance(proto, StreamRecorder) and proto.factory is factory
    assert proto.transport.pid is not None
    assert proto.transport.getHost() == ProcessAddress()
    assert isinstance(proto.transport.getPeer(), address._ProcessAddress)  # Twisted's name
    proto.transport.write(b"through the endpoint")
    proto.transport.closeStdin()
    reason = run(proto.lost)
    assert type(reason) is error.ConnectionDone
    assert proto.data == b"through the endpoint"


def test_process_endpoint_failure_reasons_and_stderr(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    logged = ProcessEndpoint(reactor, SH, [SH, "-c", "echo complaint >&2; exit 3"])
    dropped = ProcessEndpoint(
        reactor, SH, [SH, "-c", "echo hidden >&2"], errFlag=StandardErrorBehavior.DROP
    )
    protos: list[Any] = []
    for ep in (logged, dropped):
        ep.connect(Factory.forProtocol(StreamRecorder)).addCallback(protos.append)
    with caplog.at_level(logging.WARNING):
        reasons = run(defer.gatherResults([p.lost for p in protos]))
    assert isinstance(reasons[0], error.ProcessTerminated) and reasons[0].exitCode == 3
    assert type(reasons[1]) is error.ConnectionDone
    assert "complaint" in caplog.text and "hidden" not in caplog.text


def test_process_endpoint_spawn_error_errbacks(reactor: Any) -> None:
    failures: list[Failure] = []
    ProcessEndpoint(reactor, "/no/such/program", ["program"]).connect(
        Factory.forProtocol(StreamRecorder)
    ).addErrback(failures.append)
    (f,) = failures
    assert f.check(FileNotFoundError)
    with pytest.raises(TypeError, match="errFlag"):
        ProcessEndpoint(reactor, CAT, errFlag="LOG")  # type: ignore[arg-type]


def test_signal_without_pidfd_send_signal(
    reactor: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(fd: int, sig: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(signal, "pidfd_send_signal", unsupported)
    p, t = spawn(reactor, [SH, "-c", "echo ready; exec cat"])
    p.outReceived = lambda data: t.signalProcess("KILL")  # type: ignore[method-assign]
    reason = run(p.ended)
    assert reason.signal == signal.SIGKILL
