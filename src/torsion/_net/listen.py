"""Listening stream sockets: the accept loop that TCP, UNIX and TLS ports share.

Theory of operation
-------------------
A ``ListeningPort`` is a reactor reader on its listening socket; each
readiness event accepts up to ``acceptBurst`` connections, builds a protocol
for each from the factory and starts a transport of class ``transport`` for
it.  When the process runs out of descriptors (EMFILE/ENFILE/ENOBUFS/ENOMEM)
the port stops reading and tries again after a short, growing pause, so the
loop does not spin on a listening socket that stays readable; accepting
resumes by itself once descriptors free up.

A family provides ``_bindSocket`` (a bound, listening, non-blocking socket or
``CannotListenError``), ``getHost``, ``_peerAddress`` (the address
``buildProtocol`` gets), ``_where`` (for logs) and may set up each accepted
socket in ``_prepareAccepted``.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from torsion import _global, _log, error
from torsion._logging._legacy import torsionMsg
from torsion._net.stream import StreamConnection
from torsion._util import CONNECTION_DONE, logPrefixOf
from torsion.defer import Deferred, fail, succeed

__all__ = ["AcceptedConnection", "ListeningPort"]

_ACCEPT_PAUSE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_SKIP_ERRNOS = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR}


class AcceptedConnection(StreamConnection):
    """The transport of a connection accepted by a listening port."""

    __slots__ = ("_peer", "_portWhere", "server", "sessionno")

    def __init__(
        self,
        sock: socket.socket,
        protocol: Any,
        peer: Any,
        server: ListeningPort | None,
        sessionno: int,
        reactor: Any,
    ) -> None:
        super().__init__(sock, protocol, reactor)
        self._peer = peer
        self.server = server
        self.sessionno = sessionno
        # Where the port listened when it accepted this connection: the repr
        # keeps saying so after the port stops, as Twisted's does.
        self._portWhere = None if server is None else server._where()

    def __repr__(self) -> str:
        # Twisted's form: the protocol's class, the session number, and where the
        # port listens (its port number, or its path).
        name = self._protocolName()
        if self.server is not None:
            where = self._portWhere
        else:  # adopted (adoptStreamConnection): no port, so the local address
            host = self.getHost()
            where = getattr(host, "port", None) or repr(getattr(host, "name", ""))
        return f"<{name} #{self.sessionno} on {where}>"

    @property
    def logstr(self) -> str:
        """``Protocol,sessionno,peer host`` (Twisted's log prefix of a server connection)."""
        name = self._protocolName()
        peer = self.getPeer()
        where = getattr(peer, "host", None) or getattr(peer, "name", None) or ""
        return f"{name},{self.sessionno},{where}"


class ListeningPort:
    """A listening stream socket that accepts connections for ``factory``."""

    #: The transport class built for each accepted connection.
    transport: Any = AcceptedConnection
    _type = "stream"
    acceptBurst = 128
    _pauseMin = 0.05
    _pauseMax = 1.0

    def __init__(self, factory: Any, backlog: int, reactor: Any) -> None:
        if isinstance(backlog, bool) or not isinstance(backlog, int):
            raise TypeError(f"backlog must be an int, not {type(backlog).__name__}")
        self.factory = factory
        self.backlog = backlog
        if reactor is None:  # Twisted's default: the global reactor
            reactor = _global.globalReactor()
        self.reactor = reactor
        self.socket: socket.socket | None = None
        self.connected = False
        self.disconnecting = False
        #: True once the port has stopped listening (Twisted's attribute).
        self.disconnected = False
        self._fd = -1
        #: The number the next accepted connection gets (Twisted's, from 0).
        self.sessionno = 0
        self._paused: Any = None
        self._pause = self._pauseMin
        self._reading = True

    def __repr__(self) -> str:
        if self.connected:
            return f"<{type(self.factory).__name__} on {self._where()}>"
        return f"<{type(self.factory).__name__} (not listening)>"

    # -------------------------------------------------- provided per family

    def _where(self) -> Any:
        """What this port listens on, for logs and repr."""
        raise NotImplementedError

    def _whereClosed(self) -> Any:
        """What this port listened on, for the log line saying it closed."""
        return self._where()

    def _bindSocket(self) -> socket.socket:
        """A new non-blocking socket, bound and listening; or CannotListenError."""
        raise NotImplementedError

    def _prepareAccepted(self, sock: socket.socket) -> None:
        """Set up a just-accepted socket (nothing by default)."""

    def _peerAddress(self, peer: Any) -> Any:
        """The address object given to ``buildProtocol`` for ``accept()``'s peer."""
        raise NotImplementedError

    def getHost(self) -> Any:
        """The address this port listens on."""
        raise NotImplementedError

    # ------------------------------------------------------------ shared

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return type(self.factory).__name__

    def startListening(self) -> None:
        """Bind and listen; raises CannotListenError if that fails."""
        if self.connected:
            raise error.AlreadyListened(f"already listening on {self.getHost()}")
        sock = self._bindSocket()
        self.socket = sock
        self._fd = sock.fileno()
        torsionMsg(f"{logPrefixOf(self.factory)} starting on {self._where()}")
        self.factory.doStart()
        self.connected = True
        self.disconnecting = False
        self.disconnected = False
        self._reading = True
        self.reactor.addReader(self)

    def doRead(self) -> None:
        listening = self.socket
        assert listening is not None
        # socket.accept() would build a family enum per call; _accept() gives
        # the raw descriptor and address.
        accept = listening._accept  # type: ignore[attr-defined]
        family = int(listening.family)
        newSocket = socket.socket
        factory = self.factory
        reactor = self.reactor
        prepare = self._prepareAccepted
        peerAddress = self._peerAddress
        transportClass = self.transport
        for _ in range(self.acceptBurst):
            if self.socket is not listening:
                return  # stopListening() from buildProtocol: the socket is closed
            try:
                fd, peer = accept()
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in _ACCEPT_PAUSE_ERRNOS:
                    self._pauseAccepting(e)
                    return
                if e.errno in _ACCEPT_SKIP_ERRNOS:
                    continue
                _log.log_failure(f"Error accepting on {self!r}:", e)
                return
            self._pause = self._pauseMin
            sock = newSocket(family, socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)
            prepare(sock)
            try:
                protocol = factory.buildProtocol(peerAddress(peer))
            except Exception as e:
                _log.log_failure(f"Error in buildProtocol of {factory!r}:", e)
                protocol = None
            if protocol is None:
                sock.close()
                continue
            sessionno = self.sessionno
            self.sessionno = sessionno + 1
            transport = transportClass(sock, protocol, peer, self, sessionno, reactor)
            transport._startProtocol()

    def _pauseAccepting(self, e: OSError) -> None:
        _log.logger.warning(
            "%r: out of resources accepting (%s); pausing accept for %.2fs",
            self,
            e.strerror,
            self._pause,
        )
        self.reactor.removeReader(self)
        self._paused = self.reactor.callLater(self._pause, self._resumeAccepting)
        self._pause = min(self._pause * 2, self._pauseMax)

    def _resumeAccepting(self) -> None:
        self._paused = None
        if self.connected and self._reading:
            self.reactor.addReader(self)

    def stopReading(self) -> None:
        """Stop accepting, keeping the socket: connections wait in the kernel's queue.

        (A process that holds a listening socket for others to accept on,
        such as ``torsion run --workers``'s supervisor, keeps it this way.)
        """
        self._reading = False
        self.reactor.removeReader(self)

    def startReading(self) -> None:
        """Accept again after ``stopReading``."""
        self._reading = True
        if self.connected and self._paused is None:
            self.reactor.addReader(self)

    def doWrite(self) -> None:  # pragma: no cover - never a writer
        pass

    def stopListening(self) -> Deferred[None]:
        """Stop listening; returns a Deferred that fires once the socket is closed.

        The socket is closed at once.  If the factory's ``stopFactory`` raises,
        the Deferred fails with that error (as in Twisted) rather than the call
        raising it.
        """
        try:
            self.loseConnection()
        except Exception:
            return fail()
        return succeed(None)

    def loseConnection(self, connDone: Any = None) -> None:
        if not self.connected:
            return
        self.disconnecting = True
        self.reactor.removeReader(self)
        self.connectionLost(CONNECTION_DONE)

    def connectionLost(self, reason: Any) -> None:
        if not self.connected:
            return
        self.connected = False
        self.disconnecting = False
        self.disconnected = True
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        self.reactor.removeReader(self)
        sock, self.socket = self.socket, None
        self._fd = -1
        if sock is not None:
            sock.close()
        torsionMsg(f"({self._type} Port {self._whereClosed()} Closed)")
        self._closed()
        self.factory.doStop()

    def _closed(self) -> None:
        """Forget what only a listening socket has (after it is closed)."""
