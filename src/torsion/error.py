"""Exceptions raised by torsion, under the names Twisted's ``internet.error`` uses.

Every class here keeps Twisted's name, base class and constructor shape so that
``except error.ConnectionRefusedError`` and friends port unchanged.  The
messages are torsion's own and always say what went wrong and where.
"""

from __future__ import annotations

import errno as _errno
import os as _os
import socket as _socket
from typing import Any

__all__ = [
    "AlreadyCalled",
    "AlreadyCancelled",
    "AlreadyListened",
    "BadFileError",
    "BindError",
    "CannotListenError",
    "CertificateError",
    "ConnectBindError",
    "ConnectError",
    "ConnectInProgressError",
    "ConnectingCancelledError",
    "ConnectionAborted",
    "ConnectionClosed",
    "ConnectionDone",
    "ConnectionFdescWentAway",
    "ConnectionLost",
    "ConnectionRefusedError",
    "DNSLookupError",
    "FileDescriptorOverrun",
    "HandshakeTimeoutError",
    "HostnameMismatchError",
    "InvalidAddressError",
    "MessageLengthError",
    "MulticastJoinError",
    "NoProtocol",
    "NoRouteError",
    "NoSuchFileError",
    "NotConnectingError",
    "NotListeningError",
    "PeerVerifyError",
    "ProcessDone",
    "ProcessExitedAlready",
    "ProcessTerminated",
    "ReactorAlreadyInstalledError",
    "ReactorAlreadyRunning",
    "ReactorNotRestartable",
    "ReactorNotRunning",
    "SSLError",
    "ServiceNameUnknownError",
    "TCPTimedOutError",
    "TLSError",
    "TimeoutError",
    "UnknownHostError",
    "UnsupportedAddressFamily",
    "UnsupportedSocketType",
    "UntrustedCertificateError",
    "UserError",
    "VerificationError",
    "VerifyError",
    "getConnectError",
]


class BindError(Exception):
    """An address could not be bound."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return f"could not bind: {detail}." if detail else "could not bind."


class CannotListenError(BindError):
    """Listening on ``interface``:``port`` failed; ``socketError`` says why."""

    def __init__(self, interface: str | None, port: Any, socketError: BaseException) -> None:
        super().__init__(interface, port, socketError)
        self.interface = interface
        self.port = port
        self.socketError = socketError

    def __str__(self) -> str:
        where = self.interface if self.interface else "any"
        return f"couldn't listen on {where}:{self.port}: {self.socketError}."


class MulticastJoinError(Exception):
    """Joining a multicast group failed."""


class MessageLengthError(Exception):
    """A datagram was too long to send."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return (
            f"message is too long to send: {detail}" if detail else "message is too long to send."
        )


class InvalidAddressError(ValueError):
    """A host, port or address given by the caller is malformed (torsion-only)."""


class ConnectError(Exception):
    """A connection attempt failed.  ``osError`` carries the underlying error if any."""

    def __init__(self, osError: Any = None, string: str = "") -> None:
        self.osError = osError
        super().__init__(string)

    def __str__(self) -> str:
        base = self.__doc__.splitlines()[0].rstrip(".") if self.__doc__ else "connection failed"
        parts = [base]
        if self.osError:
            parts.append(str(self.osError))
        if self.args and self.args[0]:
            parts.append(str(self.args[0]))
        return ": ".join(parts) + "."


class ConnectBindError(ConnectError):
    """Could not bind the local address before connecting."""


class UnknownHostError(ConnectError):
    """The host name could not be resolved."""


class NoRouteError(ConnectError):
    """There is no route to the host."""


class ConnectionRefusedError(ConnectError):
    """Connection was refused by the other side."""


class TCPTimedOutError(ConnectError):
    """The TCP connection timed out."""


class BadFileError(ConnectError):
    """The file descriptor was not valid."""


class ServiceNameUnknownError(ConnectError):
    """The service name is not known."""


class UserError(ConnectError):
    """The user aborted the connection attempt."""


class TimeoutError(UserError):
    """The connection attempt timed out."""


class SSLError(ConnectError):
    """A TLS error occurred."""


class VerifyError(Exception):
    """Certificate verification failed."""


class PeerVerifyError(VerifyError):
    """The peer's certificate could not be verified."""


class CertificateError(Exception):
    """A certificate is not acceptable."""


class ConnectingCancelledError(Exception):
    """A connection attempt was cancelled before it completed; ``address`` is its target."""

    def __init__(self, address: Any) -> None:
        super().__init__(address)
        self.address = address


class NoProtocol(ConnectError):
    """The factory built no protocol for this connection."""


class UnsupportedAddressFamily(Exception):
    """The address family is not supported here."""


class UnsupportedSocketType(Exception):
    """The socket type is not supported here."""


class AlreadyListened(Exception):
    """This socket is already listening."""


class DNSLookupError(OSError):
    """A host name lookup failed."""


class ConnectInProgressError(Exception):
    """A non-blocking connect is still in progress."""


class ConnectionClosed(Exception):
    """The connection is closed (base class of the reasons a connection ends)."""


class ConnectionLost(ConnectionClosed):
    """The connection to the other side was lost in a non-clean fashion."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        base = "connection to the other side was lost in a non-clean fashion"
        return f"{base}: {detail}." if detail else base + "."


class ConnectionAborted(ConnectionLost):
    """The connection was aborted locally with ``abortConnection()``."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        base = "connection was aborted locally using abortConnection()"
        return f"{base}: {detail}." if detail else base + "."


class ConnectionDone(ConnectionClosed):
    """The connection was closed cleanly."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        base = "connection was closed cleanly"
        return f"{base}: {detail}." if detail else base + "."


class FileDescriptorOverrun(ConnectionLost):
    """More file descriptors arrived than the protocol could take."""


class ConnectionFdescWentAway(ConnectionLost):
    """The file descriptor went away without being closed by torsion."""


class AlreadyCalled(ValueError):
    """The DelayedCall has already been called."""

    def __str__(self) -> str:
        return "tried to cancel or reschedule a DelayedCall that has already run"


class AlreadyCancelled(ValueError):
    """The DelayedCall has already been cancelled."""

    def __str__(self) -> str:
        return "tried to cancel or reschedule a DelayedCall that was already cancelled"


class ProcessDone(ConnectionDone):
    """The process exited with status 0."""

    def __init__(self, status: int) -> None:
        super().__init__("process finished with exit code 0")
        self.exitCode = 0
        self.signal: int | None = None
        self.status = status


class ProcessTerminated(ConnectionLost):
    """The process exited with a non-zero status or was killed by a signal."""

    def __init__(
        self, exitCode: int | None = None, signal: int | None = None, status: int | None = None
    ) -> None:
        self.exitCode = exitCode
        self.signal = signal
        self.status = status
        detail = f"process ended with exit code {exitCode}"
        if signal is not None:
            detail = f"process ended by signal {signal}"
        super().__init__(detail)


class ProcessExitedAlready(Exception):
    """The process has already exited; it cannot be signalled."""


class NotConnectingError(RuntimeError):
    """The connector is not connecting."""


class NotListeningError(RuntimeError):
    """The port is not listening."""


class ReactorNotRunning(RuntimeError):
    """The reactor is not running, so it cannot be stopped."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return detail or "can't stop a reactor that isn't running"


class ReactorNotRestartable(RuntimeError):
    """This reactor has run and stopped; it cannot be run again."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return detail or "a reactor cannot be restarted once it has stopped"


class ReactorAlreadyRunning(RuntimeError):
    """The reactor is already running."""

    def __str__(self) -> str:
        detail = " ".join(str(a) for a in self.args)
        return detail or "the reactor is already running"


class ReactorAlreadyInstalledError(AssertionError):
    """A global reactor is already installed."""


_ERRNO_MAP: dict[int, type[ConnectError]] = {
    _errno.ECONNREFUSED: ConnectionRefusedError,
    _errno.ENETUNREACH: NoRouteError,
    _errno.EHOSTUNREACH: NoRouteError,
    _errno.ETIMEDOUT: TCPTimedOutError,
    _errno.EBADF: BadFileError,
}


def getConnectError(e: BaseException | tuple[int, str]) -> ConnectError:
    """Translate an ``OSError`` (or an ``(errno, message)`` pair) into a ConnectError."""
    if isinstance(e, _socket.gaierror):
        return UnknownHostError(string=str(e))
    if isinstance(e, OSError):
        number, message = e.errno, e.strerror or str(e)
    elif isinstance(e, tuple) and len(e) == 2:
        number, message = e
    else:
        return ConnectError(string=str(e))
    cls = _ERRNO_MAP.get(number, ConnectError) if number is not None else ConnectError
    return cls(number, message)


# ------------------------------------------------ TLS (see torsion._tls.errors)


class TLSError(SSLError):
    """The TLS handshake or a TLS record failed; ``reason`` is OpenSSL's code for it."""

    def __init__(self, message: str, sslError: BaseException | None = None) -> None:
        super().__init__(None, message)
        self.message = message
        self.sslError = sslError
        self.reason: str | None = getattr(sslError, "reason", None)

    def __str__(self) -> str:
        return self.message


class VerificationError(TLSError, VerifyError):
    """The peer's certificate failed verification (``verifyMessage`` says how)."""

    _what = "the peer's certificate failed verification"

    def __init__(
        self,
        verifyMessage: str,
        verifyCode: int | None = None,
        hostname: str | None = None,
        sslError: BaseException | None = None,
    ) -> None:
        self.verifyMessage = verifyMessage
        self.verifyCode = verifyCode
        self.hostname = hostname
        super().__init__(f"{self._describe()}: {verifyMessage}", sslError)

    def _describe(self) -> str:
        return self._what


class HostnameMismatchError(VerificationError):
    """The peer's certificate is not valid for the host name (or address) asked for."""

    def _describe(self) -> str:
        return f"the peer's certificate is not valid for {self.hostname!r}"


class UntrustedCertificateError(VerificationError):
    """The peer's certificate does not chain to a trusted authority."""

    _what = "the peer's certificate is not signed by a trusted authority"


class HandshakeTimeoutError(TLSError, TimeoutError):
    """The TLS handshake did not complete in time."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"the TLS handshake did not complete within {timeout:g}s")
        self.timeout = timeout


# ------------------------------------------------------------------- UNIX


class NoSuchFileError(ConnectError):
    """There is no UNIX socket at this path."""

    def __init__(self, path: bytes) -> None:
        super().__init__(_errno.ENOENT, _os.fsdecode(path))
        self.path = path

    def __str__(self) -> str:
        return f"no UNIX socket at {_os.fsdecode(self.path)!r}: no such file or directory."
