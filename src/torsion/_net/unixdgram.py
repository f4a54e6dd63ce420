"""UNIX datagram sockets: ``reactor.listenUNIXDatagram`` and ``connectUNIXDatagram``.

They are UDP ports (``torsion._net.udp``: the read loop, writes without a
queue, stopping) on an ``AF_UNIX``/``SOCK_DGRAM`` socket, with paths for
addresses:

* ``listenUNIXDatagram(path, protocol, maxPacketSize, mode)`` binds ``path``
  (none: an unbound socket that can only send), applies ``mode`` to the socket
  file, and gives the protocol ``datagramReceived(data, address)``, where
  ``address`` is the sender's path as the socket module reports it (``None``
  for an unbound sender).  ``write(data, path)`` sends to a path.
* ``connectUNIXDatagram(path, protocol, maxPacketSize, mode, bindAddress)``
  needs a ``ConnectedDatagramProtocol``: it binds ``bindAddress`` if given,
  connects to ``path``, and gives the protocol ``datagramReceived(data)``;
  ``write(data)`` sends to the peer; a peer that goes away makes
  ``connectionRefused()``.  When connecting fails, the protocol's
  ``connectionFailed(failure)`` is called with the system's error (as in
  Twisted) and the port is returned closed.

Errors of ``write`` are those of UDP ports (``MessageLengthError``; a full
receiver drops the datagram); sending to a path nobody listens on raises the
system's ``OSError``, as in Twisted.  Unlike Twisted, a port removes the socket
file it bound when it stops (as ``listenUNIX`` does), so the path can be bound
again.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from torsion import error
from torsion._logging._legacy import torsionMsg
from torsion._net import udp
from torsion._net.unix import _inFilesystem, _name, _toPath
from torsion.address import UNIXAddress
from torsion.failure import Failure
from torsion.protocol import ConnectedDatagramProtocol

__all__ = ["ConnectedDatagramPort", "DatagramPort", "connectUNIXDatagram", "listenUNIXDatagram"]


class DatagramPort(udp.Port):
    """A UNIX datagram socket bound to a path (``reactor.listenUNIXDatagram``)."""

    addressFamily = socket.AF_UNIX

    def __init__(
        self,
        address: Any,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        reactor: Any = None,
    ) -> None:
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
            raise TypeError(f"mode must be a permission number such as 0o600, got {mode!r}")
        super().__init__(0, protocol, "", maxPacketSize, reactor)
        self.addressFamily = socket.AF_UNIX
        self._path = None if address is None or address == "" else _toPath(address)
        self.port = address
        self.mode = mode
        self._bound: bytes | None = None  # the socket file we made, removed at close

    def _createSocket(self) -> socket.socket:
        return socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def _bindSocket(self) -> socket.socket:
        sock = self._createSocket()
        path = self._path
        try:
            sock.setblocking(False)
            if path is not None:
                sock.bind(path)
                if _inFilesystem(path):
                    self._bound = path
                    os.chmod(path, self.mode)
        except OSError as e:
            sock.close()
            self._unlink()
            raise error.CannotListenError(None, os.fsdecode(path or b""), e)
        return sock

    def _unlink(self) -> None:
        bound, self._bound = self._bound, None
        if bound is not None:
            try:
                os.unlink(bound)
            except OSError:
                pass

    def _boundTo(self, sock: socket.socket) -> Any:
        return _name(sock.getsockname())

    def _where(self) -> str:
        name = self._realPortNumber
        return f"UNIX datagram socket {os.fsdecode(name) if name else '(unbound)'!r}"

    def _announceStart(self) -> None:
        torsionMsg(f"{self.logPrefix()} starting on {self._where()}")

    def logPrefix(self) -> str:
        return super().logPrefix().replace("(UDP)", "(UNIX datagram)")

    def connectionLost(self, reason: Any = None) -> None:
        if self.connected:
            self._unlink()  # first: stopListening's Deferred fires inside the close
        super().connectionLost(reason)

    def _checkAddr(self, addr: Any) -> Any:
        if isinstance(addr, UNIXAddress):
            addr = addr.name
        if not isinstance(addr, (str, bytes, os.PathLike)) or not addr:
            raise error.InvalidAddressError(
                f"a UNIX datagram goes to a path (str or bytes), not {addr!r}"
            )
        return addr

    def connect(self, host: str, port: int) -> None:
        raise error.InvalidAddressError(
            "a UNIX datagram port cannot connect to a host and port:"
            " use reactor.connectUNIXDatagram(path, protocol)"
        )

    def getHost(self) -> UNIXAddress:  # type: ignore[override]
        """The path this socket is bound to (``UNIXAddress(None)`` if unbound)."""
        return UNIXAddress(_name(self._sock().getsockname()))

    def getPeer(self) -> UNIXAddress | None:  # type: ignore[override]
        return None


class ConnectedDatagramPort(DatagramPort):
    """A UNIX datagram socket connected to one peer (``reactor.connectUNIXDatagram``)."""

    def __init__(
        self,
        address: Any,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: Any = None,
        reactor: Any = None,
    ) -> None:
        if not isinstance(protocol, ConnectedDatagramProtocol):
            raise TypeError(
                f"connectUNIXDatagram needs a ConnectedDatagramProtocol, not {protocol!r}"
            )
        super().__init__(bindAddress, protocol, maxPacketSize, mode, reactor)
        self.remoteaddr = address
        self._peerPath = _toPath(address)

    def _bindSocket(self) -> socket.socket:
        sock = super()._bindSocket()
        try:
            sock.connect(self._peerPath)
        except OSError:
            sock.close()
            self._unlink()
            raise
        self._connectedAddr = self._peerPath  # type: ignore[assignment]
        return sock

    def startListening(self) -> None:
        """Bind, connect and start the protocol; a failure goes to ``connectionFailed``."""
        try:
            super().startListening()
        except Exception:
            self.protocol.connectionFailed(Failure())

    def _receiver(self) -> Any:
        received = self.protocol.datagramReceived
        return lambda data, addr: received(data)

    def write(self, datagram: bytes, addr: Any = None) -> None:
        """Send one datagram to the peer."""
        if addr is not None:
            raise error.InvalidAddressError(
                f"this port is connected to {self.remoteaddr!r}: write(data) takes no address"
            )
        super().write(datagram)

    def getPeer(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(self._peerPath)


def listenUNIXDatagram(
    reactor: Any, address: Any, protocol: Any, maxPacketSize: int = 8192, mode: int = 0o666
) -> DatagramPort:
    """``reactor.listenUNIXDatagram``: bind ``address`` and start ``protocol``."""
    p = DatagramPort(address, protocol, maxPacketSize, mode, reactor)
    p.startListening()
    return p


def connectUNIXDatagram(
    reactor: Any,
    address: Any,
    protocol: Any,
    maxPacketSize: int = 8192,
    mode: int = 0o666,
    bindAddress: Any = None,
) -> ConnectedDatagramPort:
    """``reactor.connectUNIXDatagram``: connect ``protocol`` to the socket at ``address``."""
    p = ConnectedDatagramPort(address, protocol, maxPacketSize, mode, bindAddress, reactor)
    p.startListening()
    return p
