"""Client stream connections: the non-blocking connect, and the Connector.

Theory of operation
-------------------
A ``ClientConnection`` is a stream transport that connects out on behalf of a
connector.  Until connected, a small ``_Connecting`` object is the reactor's
writer for the socket, so the connected transport's hot ``doRead`` never
checks for the connecting state; when the connect finishes, the socket's
registration passes to the transport in one backend call.  The outcome is
reported to the connector: ``buildProtocol`` then ``makeConnection`` on
success, ``connectionFailed`` on failure (``failIfNotConnected``: refused,
timed out, cancelled).

``BaseConnector`` is Twisted's Connector state machine:
``"disconnected"`` -> ``"connecting"`` -> ``"connected"`` ->
``"disconnected"``, with the connect timeout scheduled as
``callLater(timeout, transport.failIfNotConnected, TimeoutError())``.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from torsion import _global, error
from torsion._net.stream import StreamConnection
from torsion._util import strerror
from torsion.failure import Failure

__all__ = ["BaseConnector", "ClientConnection"]


class _Connecting:
    """The reactor's view of a client socket while its non-blocking connect runs."""

    __slots__ = ("client",)

    def __init__(self, client: ClientConnection) -> None:
        self.client = client

    def fileno(self) -> int:
        return self.client._fd

    def doRead(self) -> None:
        self.client._checkConnected()

    doWrite = doRead

    def connectionLost(self, reason: Failure) -> None:
        err = reason.value
        if not isinstance(err, error.ConnectError):
            err = error.ConnectError(string=f"{type(err).__name__}: {err}")
        self.client.failIfNotConnected(err)

    def logPrefix(self) -> str:
        return "Connecting"


class ClientConnection(StreamConnection):
    """A stream transport that connects out, on behalf of a connector.

    Until connected, a small ``_Connecting`` object is the reactor's reader and
    writer for the socket, so the connected transport's hot ``doRead`` never
    checks for the connecting state.  The outcome is reported to the connector:
    ``buildProtocol`` then ``makeConnection`` on success, ``connectionFailed``
    on failure (``failIfNotConnected``: refused, timed out, cancelled).
    """

    __slots__ = ("_connecting", "_pendingCall", "connector", "realAddress")

    _connectedOut = True

    @property
    def logstr(self) -> str:
        """Twisted's log string of a client connection: ``Protocol,client`` once
        connected, ``Uninitialized`` until then."""
        protocol = self.protocol
        if protocol is None:
            return "closed,client" if self.disconnected else "Uninitialized"
        return f"{type(protocol).__name__},client"

    def __init__(self, sock: socket.socket, connector: Any, reactor: Any) -> None:
        super().__init__(sock, None, reactor)
        self.connector = connector
        self.realAddress: Any = None
        self._connecting: _Connecting | None = None
        # The next step of the attempt (resolve, or report a bind failure),
        # scheduled for the next turn; cancelled if the attempt fails first.
        self._pendingCall: Any = None

    def _connectTo(self, address: Any) -> None:
        """Start the non-blocking connect to ``address`` (a resolved socket address)."""
        if self.connector is None:
            return  # already failed (cancelled or timed out) while resolving
        self.realAddress = address
        try:
            result = self.socket.connect_ex(address)
        except (OSError, OverflowError, TypeError) as e:
            self.failIfNotConnected(error.ConnectError(string=str(e)))
            return
        if result in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EAGAIN):
            # Writability says the connect finished; a failure also reports
            # an error event, which is dispatched to writers too.
            self._connecting = c = _Connecting(self)
            self.reactor.addWriter(c)
        elif result in (0, errno.EISCONN):
            self._connectDone()
        else:
            self.failIfNotConnected(error.getConnectError((result, strerror(result))))

    def _checkConnected(self) -> None:
        err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.failIfNotConnected(error.getConnectError((err, strerror(err))))
        else:
            self._connectDone()

    def _stopConnectingIO(self) -> None:
        c = self._connecting
        if c is not None:
            self._connecting = None
            self.reactor.removeWriter(c)

    def _connectDone(self) -> None:
        connector = self.connector
        protocol = connector.buildProtocol(self._connectedPeer())
        if protocol is None:
            self.failIfNotConnected(error.NoProtocol())
            return
        self.protocol = protocol
        c = self._connecting
        if c is not None:
            self._connecting = None
            # The socket's registration passes from the connecting helper (a
            # writer) to the transport (a reader): one epoll_ctl(MOD), where
            # removing one and adding the other would make two system calls.
            handOver = getattr(self.reactor, "_replaceWriterWithReader", None)
            if handOver is not None and not self.disconnected:
                handOver(c, self)
                self._reading = True
            else:
                self.reactor.removeWriter(c)
        self._startProtocol()

    def _connectedPeer(self) -> Any:
        """The peer's address once connected (families may know it without asking)."""
        return self.getPeer()

    def failIfNotConnected(self, err: BaseException) -> None:
        """Fail the attempt with ``err`` unless it has already connected or failed."""
        if self.connected or self.disconnected or self.connector is None:
            return
        connector, self.connector = self.connector, None
        pending, self._pendingCall = self._pendingCall, None
        if pending is not None and pending.active():
            pending.cancel()
        self._stopConnectingIO()
        self.disconnected = 1
        self._closeSocket(orderly=True)
        connector.connectionFailed(Failure(err))

    def stopConnecting(self) -> None:
        """Abandon the attempt: the factory gets ``clientConnectionFailed(UserError)``."""
        self.failIfNotConnected(error.UserError())

    def _notifyLost(self, reason: Failure) -> None:
        self.protocol.connectionLost(reason)
        connector = self.connector
        if connector is not None:
            self.connector = None  # it keeps its transport; no cycle back
            connector.connectionLost(reason)


class BaseConnector:
    """Connects a client factory, and reconnects it on request.

    ``state`` goes ``"disconnected"`` -> ``"connecting"`` -> ``"connected"`` ->
    ``"disconnected"``.  The factory is started once (``doStart``) for the
    first attempt and stopped (``doStop``) when a failure or loss leaves the
    connector disconnected, i.e. the factory did not call ``connect()`` again.
    Subclasses provide ``_makeTransport()`` and ``getDestination()``.
    """

    timeoutID: Any = None
    factoryStarted = 0

    def __init__(self, factory: Any, timeout: float | None, reactor: Any) -> None:
        self.state = "disconnected"
        if reactor is None:  # Twisted's default: the global reactor
            reactor = _global.globalReactor()
        self.reactor = reactor
        self.factory = factory
        self.timeout = timeout
        self.transport: Any = None

    def disconnect(self) -> None:
        """Stop connecting, or close the connection."""
        if self.state == "connecting":
            self.stopConnecting()
        elif self.state == "connected":
            self.transport.loseConnection()

    def connect(self) -> None:
        """Start a connection attempt (only when disconnected)."""
        if self.state != "disconnected":
            raise RuntimeError(f"can't connect in state {self.state!r}")
        self.state = "connecting"
        if not self.factoryStarted:
            self.factory.doStart()
            self.factoryStarted = 1
        self.transport = transport = self._makeTransport()
        if self.timeout is not None:
            self.timeoutID = self.reactor.callLater(
                self.timeout, transport.failIfNotConnected, error.TimeoutError()
            )
        self.factory.startedConnecting(self)

    def _makeTransport(self) -> Any:
        raise NotImplementedError

    def stopConnecting(self) -> None:
        """Abandon the attempt in progress."""
        if self.state != "connecting":
            raise error.NotConnectingError("we're not trying to connect")
        self.state = "disconnected"
        transport = self.transport
        transport.failIfNotConnected(error.UserError())
        if self.transport is transport:
            self.transport = None

    def cancelTimeout(self) -> None:
        if self.timeoutID is not None:
            try:
                self.timeoutID.cancel()
            except ValueError:
                pass
            self.timeoutID = None

    def buildProtocol(self, addr: Any) -> Any:
        self.state = "connected"
        self.cancelTimeout()
        return self.factory.buildProtocol(addr)

    def connectionFailed(self, reason: Failure) -> None:
        self.cancelTimeout()
        self.transport = None
        self.state = "disconnected"
        self.factory.clientConnectionFailed(self, reason)
        if self.state == "disconnected":
            # The factory did not call connect() again: it is no longer used.
            self.factory.doStop()
            self.factoryStarted = 0

    def connectionLost(self, reason: Failure) -> None:
        self.state = "disconnected"
        self.factory.clientConnectionLost(self, reason)
        if self.state == "disconnected":
            self.factory.doStop()
            self.factoryStarted = 0

    def getDestination(self) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.getDestination()} state={self.state}>"
