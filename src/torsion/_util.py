"""Small helpers that several rooms of torsion share, so they cannot disagree.

Address literals are checked with ``inet_pton``, which takes only the strict
forms: a dotted quad of decimal numbers (``"010.0.0.1"`` is refused, where
``inet_aton`` would read it as octal, 8.0.0.1) and an IPv6 address with an
optional ``%scope`` suffix.  Host and port arguments are validated where the
user passes them, with the errors of ``torsion.error``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any

from torsion import error
from torsion.failure import Failure

__all__ = [
    "CONNECTION_DONE",
    "NO_KEYWORDS",
    "SEQUENCE_NOT_BYTES",
    "checkHost",
    "checkPort",
    "isIPv4Address",
    "isIPv6Address",
    "logPrefixOf",
    "publish",
    "scopedHost",
    "socketAddress",
    "strerror",
    "toBytes",
]

#: The reason every clean close is reported with: one shared, cleaned Failure
#: (Twisted's ``protocol.connectionDone``), so closing a connection builds none.
CONNECTION_DONE: Failure = Failure(error.ConnectionDone())
CONNECTION_DONE.cleanFailure()

#: The keyword arguments of a call that has none (never mutated).
NO_KEYWORDS: dict[str, Any] = {}


def isIPv4Address(host: str) -> bool:
    """Whether ``host`` is an IPv4 address literal (strict dotted quad)."""
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError, TypeError):
        return False
    return True


def isIPv6Address(host: str) -> bool:
    """Whether ``host`` is an IPv6 address literal, with or without a ``%scope``."""
    if ":" not in host:
        return False
    try:
        socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
    except (OSError, ValueError, TypeError):
        return False
    return True


def socketAddress(host: str, port: int) -> tuple[Any, ...]:
    """The address to give ``bind``/``connect``/``sendto`` for the address literal ``host``.

    IPv4 (or ``""``): ``(host, port)``.  IPv6: the 4-tuple ``(host, port,
    flowinfo, scope_id)``, where a ``%scope`` suffix (``"fe80::1%eth0"``)
    becomes the scope id -- given a 2-tuple, the socket module drops it and a
    link-local address fails with EINVAL.  The host keeps its ``%scope`` (as
    ``getsockname`` reports it).  ``getaddrinfo`` with ``AI_NUMERICHOST`` does
    this without any lookup; it raises ``socket.gaierror`` for an unknown scope.
    """
    if ":" not in host:
        return (host, port)
    flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    sockaddr = socket.getaddrinfo(host, port, socket.AF_INET6, 0, 0, flags)[0][4]
    return (scopedHost(sockaddr), *sockaddr[1:])


def scopedHost(sockaddr: tuple[Any, ...]) -> str:
    """The host of a socket address; for an IPv6 one with a scope id, with its
    ``%scope`` suffix (``"fe80::1%eth0"``), as Twisted reports such addresses."""
    if len(sockaddr) == 4 and sockaddr[3]:
        flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
        return str(socket.getnameinfo(sockaddr[:4], flags)[0])
    return str(sockaddr[0])


def checkPort(port: Any, what: str = "port") -> int:
    """Return ``port`` as an int in 0..65535, or raise a clear error."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{what} must be an int, not {type(port).__name__}: {port!r}")
    if not 0 <= port <= 65535:
        raise error.InvalidAddressError(f"{what} must be in 0..65535, got {port}")
    return port


def checkHost(host: Any, what: str = "host") -> str:
    """Return ``host`` as a str (ASCII bytes are decoded), or raise a clear error."""
    if isinstance(host, bytes):
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            raise error.InvalidAddressError(f"{what} is not ASCII: {host!r}") from None
    if not isinstance(host, str):
        raise TypeError(f"{what} must be a str, not {type(host).__name__}: {host!r}")
    if "\x00" in host:
        raise error.InvalidAddressError(f"{what} contains a NUL byte: {host!r}")
    return host


#: What ``writeSequence`` says when an item is not bytes: Twisted's exact text.
SEQUENCE_NOT_BYTES = "Data must be bytes"


def toBytes(data: Any) -> bytes:
    """``data`` for a transport's ``write()``: bytes-like is copied, anything else refused."""
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes, not {type(data).__name__}: {data!r:.60}")


def strerror(code: int) -> str:
    """The system's message for errno ``code`` (never raises)."""
    try:
        return os.strerror(code)
    except ValueError:
        return f"error {code}"


def logPrefixOf(obj: object) -> str:
    """What ``obj`` calls itself in logs: its ``logPrefix()``, else its class name."""
    logPrefix = getattr(obj, "logPrefix", None)
    if logPrefix is not None:
        return str(logPrefix())
    return type(obj).__name__


def publish(namespace: dict[str, Any], names: Iterable[str]) -> None:
    """Make the classes and functions a public module re-exports name it as their module.

    A facade such as ``torsion.defer`` gathers names implemented in private
    modules; after ``publish(globals(), __all__)`` their ``__module__`` is the
    public path, so reprs, pickles and documentation show where users import
    them from.  Objects already defined in a public module keep theirs.
    """
    module = namespace["__name__"]
    for name in names:
        obj = namespace[name]
        if not (isinstance(obj, type) or (callable(obj) and hasattr(obj, "__code__"))):
            continue
        if obj.__module__.startswith("torsion._"):
            obj.__module__ = module
