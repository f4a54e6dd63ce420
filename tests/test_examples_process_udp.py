"""examples/process_cat.py and examples/udp_echo.py, run as a user would, on every backend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from torsion import reactors

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BACKENDS = reactors.available()


def _env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["TORSION_REACTOR"] = backend
    return env


@pytest.mark.parametrize("backend", BACKENDS)
def test_process_cat(backend: str) -> None:
    payload = os.urandom(60 * 1024)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "process_cat.py")],
        input=payload,
        capture_output=True,
        env=_env(backend),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == payload


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_udp_echo(backend: str, sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "udp_echo.py"), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(backend),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("udp echo on 127.0.0.1:"), line + (
            proc.stderr.read() if proc.stderr else ""
        )
        port = int(line.rsplit(":", 1)[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            for i in range(20):
                datagram = b"datagram %d " % i + os.urandom(100)
                s.sendto(datagram, ("127.0.0.1", port))
                assert s.recvfrom(2048) == (datagram, ("127.0.0.1", port))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# -- Twisted-idiom programs: the same output under Twisted and under torsion ----------

PROCESS_PROGRAM = """
from twisted.internet import defer, error, protocol, reactor, utils

log = []


class Cat(protocol.ProcessProtocol):
    def __init__(self, d):
        self.d, self.out = d, b""

    def connectionMade(self):
        log.append("cat connectionMade")
        self.transport.write(b"x" * 60000)
        self.transport.closeStdin()

    def outReceived(self, data):
        self.out += data

    def inConnectionLost(self):
        log.append("cat inConnectionLost")

    def outConnectionLost(self):
        log.append("cat outConnectionLost")

    def errConnectionLost(self):
        log.append("cat errConnectionLost")

    def processExited(self, reason):
        log.append("cat processExited " + type(reason.value).__name__)

    def processEnded(self, reason):
        v = reason.value
        log.append("cat processEnded %s %s %s" % (type(v).__name__, v.exitCode, v.signal))
        log.append("cat got %d, intact %s" % (len(self.out), self.out == b"x" * 60000))
        self.d.callback(None)


class Err(protocol.ProcessProtocol):
    def __init__(self, d):
        self.d, self.err = d, b""

    def errReceived(self, data):
        self.err += data

    def processEnded(self, reason):
        v = reason.value
        log.append("err %r %s %s %s" % (self.err, type(v).__name__, v.exitCode, v.signal))
        self.d.callback(None)


class Sig(protocol.ProcessProtocol):
    def __init__(self, d):
        self.d = d

    def outReceived(self, data):
        self.transport.signalProcess("TERM")

    def processEnded(self, reason):
        v = reason.value
        log.append("sig %s %s %s" % (type(v).__name__, v.exitCode, v.signal))
        try:
            self.transport.signalProcess("KILL")
        except error.ProcessExitedAlready:
            log.append("sig ProcessExitedAlready")
        self.d.callback(None)


class Env(protocol.ProcessProtocol):
    def __init__(self, d):
        self.d, self.out = d, b""

    def outReceived(self, data):
        self.out += data

    def processEnded(self, reason):
        log.append("env %r" % self.out)
        self.d.callback(None)


def main():
    ds = []
    for cls, exe, args in [
        (Cat, CAT, ["cat"]),
        (Err, SH, ["sh", "-c", "echo oops >&2; exit 3"]),
        (Sig, SH, ["sh", "-c", "echo ready; exec sleep 30"]),
        (Env, ENV, ["env"]),
    ]:
        d = defer.Deferred()
        ds.append(d)
        reactor.spawnProcess(cls(d), exe, args)

    def stderrFailed(f):
        log.append("gpo-stderr %s %s" % (f.check(IOError) is not None, f.getErrorMessage()))
        return f.value.processEnded.addErrback(
            lambda f2: log.append("gpo-stderr ended " + type(f2.value).__name__)
        )

    ds += [
        utils.getProcessOutput(SH, ["-c", "echo out; exit 2"]).addCallback(
            lambda o: log.append("gpo %r" % o)
        ),
        utils.getProcessOutput(SH, ["-c", "echo out; echo err >&2"], errortoo=True).addCallback(
            lambda o: log.append("gpo-errortoo %r" % sorted(o.split()))
        ),
        utils.getProcessOutput(SH, ["-c", "echo err >&2"]).addErrback(stderrFailed),
        utils.getProcessValue(SH, ["-c", "exit 7"]).addCallback(
            lambda v: log.append("gpv %r" % v)
        ),
        utils.getProcessValue(SH, ["-c", "kill -9 $$"]).addCallback(
            lambda v: log.append("gpv-killed %r" % v)
        ),
        utils.getProcessOutputAndValue(SH, ["-c", "echo o; echo e >&2; exit 4"]).addCallback(
            lambda v: log.append("gpov %r" % (v,))
        ),
        utils.getProcessOutputAndValue(SH, ["-c", "echo o; kill -15 $$"]).addErrback(
            lambda f: log.append("gpov-signal %r" % (tuple(f.value),))
        ),
    ]
    defer.DeferredList(ds).addCallback(lambda _: reactor.stop())


reactor.callWhenRunning(main)
reactor.run()
for line in sorted(log):
    print(line)
"""

UDP_PROGRAM = """
import socket
from twisted.internet import defer, protocol, reactor

log = []


class Echo(protocol.DatagramProtocol):
    def startProtocol(self):
        log.append("echo startProtocol")

    def stopProtocol(self):
        log.append("echo stopProtocol")

    def datagramReceived(self, data, addr):
        self.transport.write(data, addr)


class Client(protocol.DatagramProtocol):
    def __init__(self, target, d):
        self.target, self.d, self.got = target, d, []

    def startProtocol(self):
        self.transport.connect("127.0.0.1", self.target)
        for i in range(3):
            self.transport.write(b"ping %d" % i)

    def datagramReceived(self, data, addr):
        self.got.append(data)
        if len(self.got) == 3:
            log.append("client got %r from %s" % (sorted(self.got), addr[0]))
            self.d.callback(None)


class Refused(protocol.DatagramProtocol):
    def __init__(self, target, d):
        self.target, self.d, self.n = target, d, 0

    def startProtocol(self):
        self.transport.connect("127.0.0.1", self.target)
        self.transport.write(b"anyone?")

    def connectionRefused(self):
        self.n += 1
        if self.n == 1:
            log.append("refused, port still listening: %s" % bool(self.transport.connected))
            self.d.callback(None)


def closedPort():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    server = reactor.listenUDP(0, Echo(), interface="127.0.0.1")
    host = server.getHost()
    log.append("server %s %s %s" % (type(host).__name__, host.type, host.host))
    d1, d2 = defer.Deferred(), defer.Deferred()
    client = reactor.listenUDP(0, Client(host.port, d1), interface="127.0.0.1")
    refused = reactor.listenUDP(0, Refused(closedPort(), d2), interface="127.0.0.1")

    def stop(_):
        return defer.gatherResults([p.stopListening() for p in (server, client, refused)])

    defer.gatherResults([d1, d2]).addCallback(stop).addCallback(lambda _: reactor.stop())


reactor.callWhenRunning(main)
reactor.run()
for line in sorted(log):
    print(line)
"""

_PORTS = [
    (r"from twisted\.internet import ", "from torsion import "),
    (r"from twisted\.internet\.(\w+) import ", r"from torsion.\1 import "),
]


def _program(source: str, torsion: bool) -> str:
    import re
    import shutil

    names = {
        "CAT": shutil.which("cat") or "/bin/cat",
        "SH": shutil.which("sh") or "/bin/sh",
        "ENV": shutil.which("env") or "/usr/bin/env",
    }
    header = "".join(f"{k} = {v!r}\n" for k, v in names.items())
    if torsion:
        for pattern, replacement in _PORTS:
            source = re.sub(pattern, replacement, source)
        assert "twisted" not in source
    else:
        # Twisted's poll and epoll reactors drop a refused connected UDP port:
        # its select reactor is the reference.
        header += "from twisted.internet import selectreactor\nselectreactor.install()\n"
    return header + source


_oracle: dict[str, str] = {}


def _run_program(source: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.twisted_oracle
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["process", "udp"])
def test_twisted_idiom_program(name: str, backend: str) -> None:
    pytest.importorskip("twisted")
    source = PROCESS_PROGRAM if name == "process" else UDP_PROGRAM
    if name not in _oracle:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TORSION")}
        _oracle[name] = _run_program(_program(source, torsion=False), env)
    ours = _run_program(_program(source, torsion=True), _env(backend))
    assert ours == _oracle[name]
    assert ours.strip()
