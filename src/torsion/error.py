"""Exceptions raised by torsion, under the names Twisted's ``internet.error`` uses.

Every class here keeps Twisted's name, base class and constructor shape so that
``except error.ConnectionRefusedError`` and friends port unchanged, and
``str()`` gives Twisted's text: a class with a ``MESSAGE`` prints it, followed
by its arguments (``"DNS lookup failed: example.invalid."``), so that logs and
messages of ported programs read the same.  Where Twisted's ``str()`` would
raise (arguments that are not strings), torsion prints them with ``str()``.

The classes after the TLS marker are torsion's own.
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


def _withArgs(message: str, args: tuple[Any, ...]) -> str:
    """``"MESSAGE: arg arg."``, or ``"MESSAGE."`` without arguments (Twisted's format)."""
    if args:
        return f"{message}: {' '.join(str(a) for a in args)}."
    return f"{message}."


def _described(self: Any) -> str:
    """``__str__`` of the classes with a ``MESSAGE`` (shared, so their bases stay Twisted's)."""
    return _withArgs(self.MESSAGE, self.args)


class BindError(Exception):
    """An address could not be bound."""

    MESSAGE = "An error occurred binding to an interface"
    __str__ = _described


class CannotListenError(BindError):
    """Listening on ``interface``:``port`` failed; ``socketError`` says why."""

    def __init__(self, interface: str | None, port: Any, socketError: BaseException) -> None:
        super().__init__(interface, port, socketError)
        self.interface = interface
        self.port = port
        self.socketError = socketError

    def __str__(self) -> str:
        return f"Couldn't listen on {self.interface or 'any'}:{self.port}: {self.socketError}."


class MulticastJoinError(Exception):
    """Joining a multicast group failed."""


class MessageLengthError(Exception):
    """A datagram was too long to send."""

    MESSAGE = "Message is too long to send"
    __str__ = _described


class InvalidAddressError(ValueError):
    """A host, port or address is malformed.

    Twisted's form is ``InvalidAddressError(address, message)``; torsion also
    raises it with a message alone.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.address: Any = args[0] if len(args) > 1 else None
        self.message: Any = args[-1] if args else None


class ConnectError(Exception):
    """A connection attempt failed.  ``osError`` carries the underlying error if any."""

    MESSAGE = "An error occurred while connecting"

    def __init__(self, osError: Any = None, string: Any = "") -> None:
        self.osError = osError
        super().__init__(string)

    def __str__(self) -> str:
        text = self.MESSAGE
        if self.osError:
            text = f"{text}: {self.osError}"
        if self.args and self.args[0]:
            text = f"{text}: {self.args[0]}"
        return f"{text}."


class ConnectBindError(ConnectError):
    """Could not bind the local address before connecting."""

    MESSAGE = "Couldn't bind"


class UnknownHostError(ConnectError):
    """The host name could not be resolved."""

    MESSAGE = "Hostname couldn't be looked up"


class NoRouteError(ConnectError):
    """There is no route to the host."""

    MESSAGE = "No route to host"


class ConnectionRefusedError(ConnectError):
    """Connection was refused by the other side."""

    MESSAGE = "Connection was refused by other side"


class TCPTimedOutError(ConnectError):
    """The TCP connection timed out."""

    MESSAGE = "TCP connection timed out"


class BadFileError(ConnectError):
    """The file descriptor (or UNIX socket file) was not valid."""

    MESSAGE = "File used for UNIX socket is no good"


class ServiceNameUnknownError(ConnectError):
    """The service name is not known."""

    MESSAGE = "Service name given as port is unknown"


class UserError(ConnectError):
    """The user aborted the connection attempt."""

    MESSAGE = "User aborted connection"


class TimeoutError(UserError):
    """The connection attempt timed out."""

    MESSAGE = "User timeout caused connection failure"


class SSLError(ConnectError):
    """A TLS error occurred."""

    MESSAGE = "An SSL error occurred"


class VerifyError(Exception):
    """Certificate verification failed."""

    MESSAGE = "Could not verify something that was supposed to be signed."


class PeerVerifyError(VerifyError):
    """The peer's certificate could not be verified."""

    MESSAGE = "The peer rejected our verify error."


class CertificateError(Exception):
    """A certificate is not acceptable."""

    MESSAGE = "We did not find a certificate where we expected to find one."


class ConnectingCancelledError(Exception):
    """A connection attempt was cancelled before it completed; ``address`` is its target."""

    def __init__(self, address: Any) -> None:
        super().__init__(address)
        self.address = address


class NoProtocol(ConnectError):
    """The factory built no protocol for this connection.

    Also a ConnectError in torsion (a plain Exception in Twisted); it prints
    as a plain Exception does.
    """

    def __init__(self, *args: Any) -> None:
        Exception.__init__(self, *args)
        self.osError = None

    __str__ = Exception.__str__


class UnsupportedAddressFamily(Exception):
    """The address family is not supported here."""


class UnsupportedSocketType(Exception):
    """The socket type is not supported here."""


class AlreadyListened(Exception):
    """This socket is already listening."""


class DNSLookupError(OSError):
    """A host name lookup failed."""

    MESSAGE = "DNS lookup failed"
    __str__ = _described


class ConnectInProgressError(Exception):
    """A non-blocking connect is still in progress."""


class ConnectionClosed(Exception):
    """The connection is closed (base class of the reasons a connection ends)."""


class ConnectionLost(ConnectionClosed):
    """The connection to the other side was lost in a non-clean fashion."""

    MESSAGE = "Connection to the other side was lost in a non-clean fashion"
    __str__ = _described


class ConnectionAborted(ConnectionLost):
    """The connection was aborted locally with ``abortConnection()``."""

    MESSAGE = "Connection was aborted locally using ITCPTransport.abortConnection"


class ConnectionDone(ConnectionClosed):
    """The connection was closed cleanly."""

    MESSAGE = "Connection was closed cleanly"
    __str__ = _described


class FileDescriptorOverrun(ConnectionLost):
    """More file descriptors were sent than bytes written to carry them."""

    # Twisted's text, final period included (its str() adds another).
    MESSAGE = "A mis-use of IUNIXTransport.sendFileDescriptor caused the connection to be closed."


class ConnectionFdescWentAway(ConnectionLost):
    """The file descriptor went away without being closed by torsion."""

    MESSAGE = "Uh"  # Twisted's text


class AlreadyCalled(ValueError):
    """The DelayedCall has already been called."""

    MESSAGE = "Tried to cancel an already-called event"
    __str__ = _described


class AlreadyCancelled(ValueError):
    """The DelayedCall has already been cancelled."""

    MESSAGE = "Tried to cancel an already-cancelled event"
    __str__ = _described


class ProcessDone(ConnectionDone):
    """The process exited with status 0."""

    MESSAGE = "A process has ended without apparent errors"

    def __init__(self, status: int) -> None:
        super().__init__("process finished with exit code 0")
        self.exitCode = 0
        self.signal: int | None = None
        self.status = status


class ProcessTerminated(ConnectionLost):
    """The process exited with a non-zero status or was killed by a signal."""

    MESSAGE = "A process has ended with a probable error condition"

    def __init__(
        self, exitCode: int | None = None, signal: int | None = None, status: int | None = None
    ) -> None:
        self.exitCode = exitCode
        self.signal = signal
        self.status = status
        detail = "process ended"
        if exitCode is not None:
            detail += f" with exit code {exitCode}"
        if signal is not None:
            detail += f" by signal {signal}"
        super().__init__(detail)


class ProcessExitedAlready(Exception):
    """The process has already exited; it cannot be signalled."""


class NotConnectingError(RuntimeError):
    """The connector is not connecting."""

    MESSAGE = "The Connector was not connecting when it was asked to stop connecting"
    __str__ = _described


class NotListeningError(RuntimeError):
    """The port is not listening."""

    MESSAGE = "The Port was not listening when it was asked to stop listening"
    __str__ = _described


class ReactorNotRunning(RuntimeError):
    """The reactor is not running, so it cannot be stopped."""


class ReactorNotRestartable(RuntimeError):
    """This reactor has run and stopped; it cannot be run again."""


class ReactorAlreadyRunning(RuntimeError):
    """The reactor is already running."""


class ReactorAlreadyInstalledError(AssertionError):
    """A global reactor is already installed."""


_ERRNO_MAP: dict[Any, type[ConnectError]] = {
    _errno.ECONNREFUSED: ConnectionRefusedError,
    _errno.ENETUNREACH: NoRouteError,
    _errno.EHOSTUNREACH: NoRouteError,
    _errno.ETIMEDOUT: TCPTimedOutError,
    _errno.EBADF: BadFileError,
}


def getConnectError(e: BaseException | tuple[Any, Any]) -> ConnectError:
    """Translate a socket error (or an ``(errno, message)`` pair) into a ConnectError.

    The class follows the errno (``getaddrinfo`` errors give UnknownHostError)
    and the error keeps both: ``ConnectionRefusedError(111, "Connection
    refused")``.  Anything else becomes a plain ConnectError carrying it.
    """
    args = e.args if isinstance(e, BaseException) else e
    try:
        number, string = args
    except (TypeError, ValueError):
        return ConnectError(string=e)
    if isinstance(e, _socket.gaierror):
        return UnknownHostError(number, string)
    try:
        cls = _ERRNO_MAP.get(number, ConnectError)
    except TypeError:  # an unhashable "errno"
        cls = ConnectError
    return cls(number, string)


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
