"""UNIX sockets on every backend: echo, mode, abstract names, errors, PID locks,
descriptor passing."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import uuid
from typing import Any

import pytest

from _peers import Echo, Peer, Servers, scenario
from torsion import defer, error
from torsion.address import UNIXAddress
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import ClientCreator, ClientFactory
from torsion.unix import NoSuchFileError


def listenAt(reactor: Any, tmp_path: Any, protocol: type[Peer], **kw: Any) -> Any:
    """Listen on a fresh path under ``tmp_path``: ``(path, port, servers)``."""
    path = str(tmp_path / f"{protocol.__name__}.sock")
    servers = Servers(protocol)
    return path, reactor.listenUNIX(path, servers, **kw), servers


async def closeBoth(client: Peer, server: Peer) -> None:
    client.transport.loseConnection()
    await client.lost
    await server.lost


# ------------------------------------------------------------------- echo


def test_unix_echo_with_mode(reactor: Any, run: Any, tmp_path: Any) -> None:
    path, port, servers = listenAt(reactor, tmp_path, Echo, mode=0o600)
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert port.getHost() == UNIXAddress(os.fsencode(path))
    assert repr(port).endswith(f"on {path!r}>")

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(path)
        client.transport.write(b"hello over UNIX")
        await client.waitFor(b"hello over UNIX")
        server = servers.built[0]
        assert client.transport.getPeer() == UNIXAddress(os.fsencode(path))
        assert client.transport.getHost() == UNIXAddress(None)
        assert server.transport.getHost() == UNIXAddress(os.fsencode(path))
        assert server.transport.getPeer() == UNIXAddress(None)
        assert server.addr == UNIXAddress(None)
        assert not client.transport.getTcpNoDelay()
        client.transport.setTcpNoDelay(True)  # accepted, meaningless
        await closeBoth(client, server)
        assert client.reason is not None and client.reason.check(error.ConnectionDone)
        await port.stopListening()
        assert not os.path.exists(path)  # the socket file is removed

    scenario(run, go)


def test_abstract_name(reactor: Any, run: Any) -> None:
    name = "\0torsion-test-" + uuid.uuid4().hex
    servers = Servers(Echo)
    port = reactor.listenUNIX(name, servers)
    assert port.getHost() == UNIXAddress(name.encode())

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(name.encode())
        client.transport.write(b"abstract")
        await client.waitFor(b"abstract")
        await closeBoth(client, servers.built[0])
        await port.stopListening()

    scenario(run, go)


def test_many_clients_beyond_the_backlog(reactor: Any, run: Any, tmp_path: Any) -> None:
    """Connects that meet a full accept queue (EAGAIN) are retried, not mistaken
    for connections."""
    path, port, servers = listenAt(reactor, tmp_path, Echo, backlog=1)

    async def go() -> None:
        creator = ClientCreator(reactor, Peer)
        clients = await defer.gatherResults([creator.connectUNIX(path) for _ in range(12)])
        for i, c in enumerate(clients):
            c.transport.write(b"%d" % i)
        for i, c in enumerate(clients):
            await c.waitFor(b"%d" % i)
            c.transport.loseConnection()
            await c.lost
        for s in servers.built:
            await s.lost
        assert len(servers.built) == 12
        await port.stopListening()

    scenario(run, go)


# ----------------------------------------------------------------- errors


def test_connecting_to_a_missing_path(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "nothing-here.sock")

    async def go() -> None:
        with pytest.raises(NoSuchFileError) as info:
            await ClientCreator(reactor, Peer).connectUNIX(path)
        assert isinstance(info.value, error.ConnectError)
        assert path in str(info.value) and "no such file" in str(info.value)

    scenario(run, go)


def test_connecting_to_a_dead_socket_is_refused(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "dead.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)  # a socket file with nobody listening

    class F(ClientFactory):
        def __init__(self) -> None:
            self.failed: Deferred[Failure] = Deferred()

        def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
            self.reason = reason
            self.failed.callback(None)  # type: ignore[arg-type]

    async def go() -> None:
        f = F()
        connector = reactor.connectUNIX(path, f)
        assert connector.getDestination() == UNIXAddress(os.fsencode(path))
        await f.failed
        assert f.reason.check(error.ConnectionRefusedError)

    scenario(run, go)


def test_stale_socket_file_without_wantpid(reactor: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
    with pytest.raises(error.CannotListenError, match="in use"):
        reactor.listenUNIX(path, Servers())


def test_bad_arguments(reactor: Any, tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="str or bytes path"):
        reactor.listenUNIX(42, Servers())
    with pytest.raises(TypeError, match="permission number"):
        reactor.listenUNIX(str(tmp_path / "x.sock"), Servers(), mode="600")
    with pytest.raises(error.InvalidAddressError, match="NUL"):
        reactor.connectUNIX("/tmp/a\0b", ClientFactory())
    with pytest.raises(error.InvalidAddressError, match="empty"):
        reactor.connectUNIX("", ClientFactory())
    with pytest.raises(error.CannotListenError):
        reactor.listenUNIX(str(tmp_path / "missing-dir" / "x.sock"), Servers())


# -------------------------------------------------------------- PID locks


def test_wantpid_lock_and_checkpid(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "locked.sock")
    lock = path + ".lock"
    port = reactor.listenUNIX(path, Servers(Echo), wantPID=1)
    assert os.readlink(lock) == str(os.getpid())
    with pytest.raises(error.CannotListenError, match=f"process {os.getpid()} holds it"):
        reactor.listenUNIX(path, Servers(), wantPID=1)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(path, checkPID=True)
        client.transport.loseConnection()
        await client.lost
        await port.stopListening()
        assert not os.path.lexists(lock) and not os.path.exists(path)
        # No lock at all: checkPID refuses to connect.
        other = str(tmp_path / "unlocked.sock")
        unlocked = reactor.listenUNIX(other, Servers())
        with pytest.raises(error.BadFileError, match="checkPID"):
            await ClientCreator(reactor, Peer).connectUNIX(other, checkPID=True)
        await unlocked.stopListening()

    scenario(run, go)


def test_wantpid_takes_over_a_dead_process_lock(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "stale.sock")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    os.symlink(dead.stdout.strip(), path + ".lock")  # left by a process that has exited
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)  # and its stale socket file
    port = reactor.listenUNIX(path, Servers(Echo), wantPID=True)
    assert os.readlink(path + ".lock") == str(os.getpid())

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(path, checkPID=1)
        client.transport.loseConnection()
        await client.lost
        await port.stopListening()

    scenario(run, go)


# ---------------------------------------------------------- descriptors


class FDReceiver(Peer):
    def __init__(self) -> None:
        super().__init__()
        self.fds: list[int] = []

    def fileDescriptorReceived(self, descriptor: int) -> None:
        self.fds.append(descriptor)
        self.changed()


def test_passing_file_descriptors(reactor: Any, run: Any, tmp_path: Any) -> None:
    path, port, servers = listenAt(reactor, tmp_path, FDReceiver)
    files = [tmp_path / f"f{i}.txt" for i in range(3)]
    for i, f in enumerate(files):
        f.write_bytes(b"content %d" % i)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(path)
        opened = [os.open(f, os.O_RDONLY) for f in files]
        try:
            for fd in opened:
                client.transport.sendFileDescriptor(fd)
            client.transport.write(b"abc and more")  # one byte carries each descriptor
            server = await servers.first
            await server.waitFor(lambda p: len(p.received) == 12 and len(p.fds) == 3)
        finally:
            for fd in opened:
                os.close(fd)
        assert bytes(server.received) == b"abc and more"
        for i, fd in enumerate(server.fds):
            assert fd not in opened
            assert os.pread(fd, 100, 0) == b"content %d" % i
            assert not os.get_inheritable(fd)
            os.close(fd)
        client.transport.write(b" then plain data")
        await server.waitFor(lambda p: p.received.endswith(b"plain data"))
        await closeBoth(client, server)
        await port.stopListening()

    scenario(run, go)


def test_descriptors_to_a_protocol_that_takes_none(reactor: Any, run: Any, tmp_path: Any) -> None:
    """They are discarded (the leak check would see them otherwise); data flows."""
    path, port, servers = listenAt(reactor, tmp_path, Peer)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(path)
        r, w = os.pipe()
        client.transport.sendFileDescriptor(r)
        client.transport.write(b"x")
        server = await servers.first
        await server.waitFor(b"x")
        os.close(r)
        os.close(w)
        await closeBoth(client, server)
        await port.stopListening()

    scenario(run, go)


def test_descriptor_without_a_byte_is_an_overrun(reactor: Any, run: Any, tmp_path: Any) -> None:
    path, port, servers = listenAt(reactor, tmp_path, FDReceiver)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectUNIX(path)
        r, w = os.pipe()
        try:
            client.transport.sendFileDescriptor(r)  # and nothing written after it
            await client.lost
        finally:
            os.close(r)
            os.close(w)
        assert client.reason is not None and client.reason.check(error.FileDescriptorOverrun)
        await (await servers.first).lost
        with pytest.raises(TypeError, match="descriptor number"):
            client.transport.sendFileDescriptor("3")
        await port.stopListening()

    scenario(run, go)
