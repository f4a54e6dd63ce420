"""UNIX stream sockets: listening ports, connections, descriptor passing.

The accept loop and the listening life-cycle are the shared ``ListeningPort``
(``torsion._net.listen``); the connection is the shared ``StreamConnection``.
What UNIX adds:

* Addresses are paths (bytes, as Twisted's ``UNIXAddress``); a leading NUL is
  a Linux abstract name, which has no file: no mode, no lock, nothing to
  remove afterwards.
* ``listenUNIX`` binds, applies ``mode`` to the socket file, then listens, so
  no connection is accepted before the mode is in force.  With ``wantPID`` it
  first takes the lock ``PATH.lock`` (a symlink naming our PID, the format of
  Twisted's ``FilesystemLock``); a lock left by a dead process is taken over
  and the stale socket file it guarded is removed.  The socket file (and the
  lock) are removed when the port stops listening.
* ``connectUNIX(checkPID=True)`` refuses a path whose lock no live process
  holds.  A missing path fails with ``NoSuchFileError`` (a ConnectError).
* Descriptors: ``sendFileDescriptor(fd)`` queues ``fd``; it leaves attached
  (SCM_RIGHTS) to the next byte written, so each descriptor needs at least one
  byte written after it (or the connection fails with FileDescriptorOverrun,
  as in Twisted).  Only a protocol with ``fileDescriptorReceived`` makes its
  transport read with ``recvmsg``; any other reads with plain ``recv`` and the
  kernel discards descriptors sent to it.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from array import array
from typing import TYPE_CHECKING, Any

from torsion import _log, error
from torsion._net import tcp
from torsion._net.client import BaseConnector, ClientConnection
from torsion._net.listen import ListeningPort
from torsion._net.stream import _RECV_SIZE, StreamConnection, _lostReason
from torsion.address import UNIXAddress
from torsion.error import NoSuchFileError

if TYPE_CHECKING:
    from torsion.failure import Failure

__all__ = ["Client", "Connector", "Port", "Server", "connectUNIX", "listenUNIX"]

_MAX_FDS_PER_READ = 64
_CMSG_SPACE = socket.CMSG_SPACE(_MAX_FDS_PER_READ * array("i").itemsize)
_RECV_FLAGS = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


def _toPath(address: Any, what: str = "address") -> bytes:
    """A UNIX socket address as bytes; raises a clear error for nonsense."""
    if isinstance(address, UNIXAddress):
        address = address.name
    if isinstance(address, (str, bytes, os.PathLike)):
        path = os.fsencode(address)
    else:
        raise TypeError(
            f"UNIX socket {what} must be a str or bytes path, not {type(address).__name__}"
        )
    if not path:
        raise error.InvalidAddressError(f"UNIX socket {what} is empty")
    if b"\0" in path[1:]:
        raise error.InvalidAddressError(f"UNIX socket {what} contains a NUL byte: {path!r}")
    return path


def _inFilesystem(path: bytes) -> bool:
    return not path.startswith(b"\0")


def _name(sockname: Any) -> bytes | None:
    """``getsockname``/``accept`` output as the bytes a UNIXAddress holds."""
    return os.fsencode(sockname) if sockname else None


# ----------------------------------------------------------------- PID locks


def _pidAlive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lockOwner(lockPath: bytes) -> int | None:
    """The PID a lock file names, or None if there is no lock file; -1 if unreadable."""
    try:
        return int(os.readlink(lockPath))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return -1


def _acquireLock(lockPath: bytes) -> bool | None:
    """Take the lock: True if taken cleanly, False if taken over from a dead
    process, None if a live process (or something that is not a lock) holds it."""
    clean = True
    while True:
        try:
            os.symlink(str(os.getpid()), lockPath)
            return clean
        except FileExistsError:
            pass
        owner = _lockOwner(lockPath)
        if owner is None:
            continue  # released meanwhile: try again
        if owner < 0 or _pidAlive(owner):
            return None
        try:
            os.remove(lockPath)
        except FileNotFoundError:
            pass
        clean = False


def _isLocked(lockPath: bytes) -> bool:
    owner = _lockOwner(lockPath)
    return owner is not None and owner > 0 and _pidAlive(owner)


# ---------------------------------------------------------------- transports


class UNIXConnection(StreamConnection):
    """What UNIX transports add to a stream: addresses and descriptor passing.

    ``_fdQueue`` (descriptors waiting to be sent) and ``_takeFDs`` (read with
    recvmsg) are slots of the concrete classes.
    """

    __slots__ = ()

    _fdQueue: list[int]
    _takeFDs: bool
    #: Queued descriptors above which a streaming producer is paused.
    fileDescriptorBufferSize = 64

    # TCP options mean nothing here; accepted for code written for either.
    def getTcpNoDelay(self) -> bool:
        return False

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass

    def getTcpKeepAlive(self) -> bool:
        return False

    def setTcpKeepAlive(self, enabled: bool) -> None:
        pass

    def _startProtocol(self) -> None:
        # (The slot is declared by Server and Client: see the class docstring.)
        self._takeFDs = hasattr(self.protocol, "fileDescriptorReceived")  # type: ignore[misc]
        super()._startProtocol()

    # -------------------------------------------------- receiving descriptors

    def doRead(self) -> BaseException | Failure | None:
        if not self._takeFDs:
            return StreamConnection.doRead(self)
        try:
            data, ancillary, flags, _ = self.socket.recvmsg(_RECV_SIZE, _CMSG_SPACE, _RECV_FLAGS)
        except BlockingIOError:
            return None
        except OSError as e:
            return _lostReason(e)
        if ancillary:
            self._descriptorsReceived(ancillary)
        if flags & socket.MSG_CTRUNC:
            _log.logger.warning(
                "%r: descriptors were lost (more than %d at once)", self, _MAX_FDS_PER_READ
            )
        if data:
            self.protocol.dataReceived(data)
            return None
        return self._readEOF()

    def _descriptorsReceived(self, ancillary: list[tuple[int, int, bytes]]) -> None:
        fds = array("i")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        receive = getattr(self.protocol, "fileDescriptorReceived", None)
        for i, fd in enumerate(fds):
            if receive is None:
                os.close(fd)
                continue
            try:
                receive(fd)
            except BaseException:
                for rest in fds[i + 1 :]:
                    os.close(rest)
                raise

    # ---------------------------------------------------- sending descriptors

    def sendFileDescriptor(self, fileno: int) -> None:
        """Send descriptor ``fileno`` with the next byte written (keep it open until then)."""
        if isinstance(fileno, bool) or not isinstance(fileno, int) or fileno < 0:
            raise TypeError(f"sendFileDescriptor takes a descriptor number, got {fileno!r}")
        if self.disconnected or self.disconnecting or self._writesClosed:
            return
        self._fdQueue.append(fileno)
        self._direct = False  # writes queue up behind the descriptor
        self.startWriting()
        if self.producer is not None and len(self._fdQueue) > self.fileDescriptorBufferSize:
            self._pauseProducer()

    def doWrite(self) -> BaseException | Failure | None:
        if self._fdQueue and self._writeError is None:
            why = self._sendDescriptors()
            if why is not None or self._fdQueue:
                return why
            self._updateDirect()
        return StreamConnection.doWrite(self)

    def _sendDescriptors(self) -> BaseException | Failure | None:
        """Send each queued descriptor with one queued byte; None when done or blocked."""
        queue = self._fdQueue
        buf = self._buffer
        while queue:
            if not buf:
                return error.FileDescriptorOverrun(
                    "a descriptor was queued with sendFileDescriptor but no byte written after it"
                )
            first = buf[0]
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array("i", queue[:1]).tobytes())]
            try:
                sent = self.socket.sendmsg([first[:1]], rights)
            except BlockingIOError:
                return None
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    return None
                return _lostReason(e)
            if not sent:  # pragma: no cover - a 1-byte sendmsg sends it or blocks
                return None
            del queue[0]
            self._buffered -= 1
            if len(first) == 1:
                del buf[0]
            else:
                buf[0] = memoryview(first)[1:]
        return None

    def connectionLost(self, reason: Any) -> None:
        self._fdQueue.clear()
        super().connectionLost(reason)


class Server(UNIXConnection, tcp.Server):
    """The transport of a connection accepted by a UNIX ``Port`` (a ``tcp.Server``, as
    in Twisted, with UNIX addresses and descriptor passing)."""

    __slots__ = ("_fdQueue", "_takeFDs")

    def __init__(
        self,
        sock: socket.socket,
        protocol: Any,
        peer: Any,
        server: Port,
        sessionno: int,
        reactor: Any,
    ) -> None:
        super().__init__(sock, protocol, _name(peer), server, sessionno, reactor)
        self._fdQueue = []
        self._takeFDs = False

    def getHost(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(_name(self.socket.getsockname()))

    def getPeer(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(self._peer)


class Client(ClientConnection, UNIXConnection):
    """The transport of an outgoing UNIX connection (made by a ``Connector``)."""

    __slots__ = ("_fdQueue", "_path", "_retry", "_retryDelay", "_takeFDs")

    _retryMax = 0.1

    def __init__(self, path: bytes, connector: Connector, reactor: Any, checkPID: int = 0) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        super().__init__(sock, connector, reactor)
        self._fdQueue = []
        self._takeFDs = False
        self._path = path
        self._retry: Any = None
        self._retryDelay = 0.005
        if checkPID and _inFilesystem(path) and not _isLocked(path + b".lock"):
            failure = error.BadFileError(
                string=f"no live process holds {os.fsdecode(path + b'.lock')!r} (checkPID)"
            )
            reactor.callLater(0, self.failIfNotConnected, failure)
        else:
            reactor.callLater(0, self._connectTo, path)

    def getHost(self) -> UNIXAddress:
        return UNIXAddress(None)

    def getPeer(self) -> UNIXAddress:
        return UNIXAddress(self._path)

    def _checkConnected(self) -> None:
        try:
            self.socket.getpeername()
        except OSError:
            # connect() met a full accept backlog (EAGAIN): the socket is not
            # connecting, though it polls writable.  Try again shortly, as a
            # blocking connect would wait, until the connector's timeout.
            self._stopConnectingIO()
            self._retry = self.reactor.callLater(self._retryDelay, self._connectAgain)
            self._retryDelay = min(self._retryDelay * 2, self._retryMax)
            return
        super()._checkConnected()

    def _connectAgain(self) -> None:
        self._retry = None
        self._connectTo(self._path)

    def failIfNotConnected(self, err: BaseException) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if isinstance(err, error.ConnectError) and err.osError == errno.ENOENT:
            err = NoSuchFileError(self._path)
        super().failIfNotConnected(err)


class Connector(BaseConnector):
    """``reactor.connectUNIX``'s connector (see ``BaseConnector``)."""

    def __init__(
        self, address: Any, factory: Any, timeout: float | None, reactor: Any, checkPID: int
    ) -> None:
        self._path = _toPath(address)
        self.address = address
        self.checkPID = checkPID
        super().__init__(factory, timeout, reactor)

    def _makeTransport(self) -> Client:
        return Client(self._path, self, self.reactor, self.checkPID)

    def getDestination(self) -> UNIXAddress:
        return UNIXAddress(self._path)


class Port(ListeningPort):
    """A listening UNIX socket (see the module docstring for mode and locks)."""

    transport: Any = Server
    _type = "UNIX"

    def __init__(
        self,
        fileName: Any,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        reactor: Any = None,
        wantPID: int = 0,
    ) -> None:
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
            raise TypeError(f"mode must be a permission number such as 0o600, got {mode!r}")
        self._bindPath = self.port = _toPath(fileName)
        super().__init__(factory, backlog, reactor)
        self.mode = mode
        self.wantPID = wantPID
        self._locked = False

    def _where(self) -> str:
        return repr(os.fsdecode(self._bindPath))

    def _whereClosed(self) -> str:
        return os.fsdecode(self._bindPath)  # no quotes here, as in Twisted

    def _lockPath(self) -> bytes:
        return self._bindPath + b".lock"

    def _bindSocket(self) -> socket.socket:
        path = self._bindPath
        if self.wantPID and _inFilesystem(path):
            clean = _acquireLock(self._lockPath())
            if clean is None:
                owner = _lockOwner(self._lockPath())
                why = OSError(
                    errno.EADDRINUSE, f"cannot acquire the lock: process {owner} holds it"
                )
                raise error.CannotListenError(None, os.fsdecode(path), why)
            self._locked = True
            if not clean:
                self._removeStaleSocket(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            if _inFilesystem(path):
                os.chmod(path, self.mode)  # before listen(): no connection yet
            sock.listen(self.backlog)
            sock.setblocking(False)
        except (OSError, ValueError) as e:
            sock.close()
            self._unlock()
            raise error.CannotListenError(None, os.fsdecode(path), e)
        return sock

    @staticmethod
    def _removeStaleSocket(path: bytes) -> None:
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.remove(path)
        except OSError:
            pass

    def _unlock(self) -> None:
        if self._locked:
            self._locked = False
            try:
                os.remove(self._lockPath())
            except OSError:
                pass

    def _peerAddress(self, peer: Any) -> UNIXAddress:
        return UNIXAddress(_name(peer))

    def getHost(self) -> UNIXAddress:
        if self.socket is None:
            raise error.NotListeningError("this port is not listening")
        return UNIXAddress(_name(self.socket.getsockname()))

    def connectionLost(self, reason: Any) -> None:
        if self.connected and _inFilesystem(self._bindPath):
            try:
                os.unlink(self._bindPath)
            except OSError:
                pass
        self._unlock()
        super().connectionLost(reason)


def listenUNIX(
    reactor: Any,
    address: Any,
    factory: Any,
    backlog: int = 50,
    mode: int = 0o666,
    wantPID: int = 0,
) -> Port:
    """``reactor.listenUNIX``: listen on the UNIX socket ``address``."""
    p = Port(address, factory, backlog, mode, reactor, wantPID)
    p.startListening()
    return p


def connectUNIX(
    reactor: Any, address: Any, factory: Any, timeout: float | None = 30, checkPID: int = 0
) -> Connector:
    """``reactor.connectUNIX``: connect to the UNIX socket ``address``."""
    c = Connector(address, factory, timeout, reactor, checkPID)
    c.connect()
    return c
