"""Host name resolution, pluggable as in Twisted: ``reactor.nameResolver`` and friends.

Two shapes of resolver exist, as in Twisted:

* an ``IHostnameResolver`` (``resolveHostName(receiver, name, port,
  addressTypes, transportSemantics)``) tells a receiver ``resolutionBegan``,
  then ``addressResolved`` once per address (``IPv4Address``/``IPv6Address``
  with the port and, for IPv6, the flow and scope ids), then
  ``resolutionComplete`` -- always, also when nothing was found.
  ``HostnameEndpoint`` uses the reactor's ``nameResolver``.
* an ``IResolverSimple`` (``getHostByName(name, timeout)``) gives a Deferred
  of one IPv4 address string; ``reactor.resolve``, hence ``connectTCP`` for a
  host name, uses the reactor's ``resolver``.

Installing one shape installs an adapter of it as the other
(``installNameResolver`` / ``installResolver``), so both paths always agree.

The default, ``GAIResolver``, runs ``getaddrinfo`` in the reactor's thread
pool and delivers the addresses in the reactor thread.  An IP address literal
is not looked up: ``getaddrinfo`` with ``AI_NUMERICHOST`` (which never blocks)
gives its socket address, including the scope id of ``"fe80::1%eth0"``, and it
is delivered before ``resolveHostName`` returns.  A failed lookup (``gaierror``)
is an empty result; any other error is logged and the resolution still
completes, so a receiver is never left waiting.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable, Sequence
from typing import Any, Literal

from torsion import _log, defer, error
from torsion._util import isIPv4Address, isIPv6Address
from torsion.address import IPv4Address, IPv6Address
from torsion.failure import Failure

__all__ = [
    "ComplexResolverSimplifier",
    "GAIResolver",
    "HostResolution",
    "SimpleHostnameResolver",
    "SimpleResolverComplexifier",
]

_SOCKET_TYPES = {"TCP": socket.SOCK_STREAM, "UDP": socket.SOCK_DGRAM}
_TRANSPORTS: dict[int, Literal["TCP", "UDP"]] = {
    socket.SOCK_STREAM: "TCP",
    socket.SOCK_DGRAM: "UDP",
}


class HostResolution:
    """A resolution in progress.  It cannot be cancelled (as in Twisted)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<HostResolution {self.name!r}>"

    def cancel(self) -> None:
        raise NotImplementedError("a host name resolution cannot be cancelled")


def _family(addressTypes: Sequence[type] | None) -> int:
    if addressTypes is None:
        return socket.AF_UNSPEC
    v4 = IPv4Address in addressTypes
    v6 = IPv6Address in addressTypes
    if not (v4 or v6):
        raise ValueError(
            f"addressTypes must hold IPv4Address and/or IPv6Address, got {addressTypes!r}"
        )
    return socket.AF_UNSPEC if v4 and v6 else socket.AF_INET if v4 else socket.AF_INET6


def deliverAddresses(receiver: Any, infos: Sequence[Any]) -> None:
    """Tell ``receiver`` each IPv4/IPv6 address of ``getaddrinfo`` results (others are
    skipped)."""
    for family, socktype, _proto, _canonname, sockaddr in infos:
        transport = _TRANSPORTS.get(socktype, "TCP")
        if family == socket.AF_INET:
            receiver.addressResolved(IPv4Address(transport, sockaddr[0], sockaddr[1]))
        elif family == socket.AF_INET6:
            receiver.addressResolved(IPv6Address(transport, *sockaddr[:4]))


def _deliverWhenDone(
    receiver: Any, lookup: defer.Deferred[Any], hostName: str, resolver: Any
) -> None:
    """Deliver ``lookup``'s ``getaddrinfo`` results; log its failure; complete either way."""

    def failed(failure: Failure) -> None:
        _log.log_failure(f"Error while resolving {hostName!r} with {resolver!r}:", failure)

    lookup.addCallback(lambda infos: deliverAddresses(receiver, infos))
    lookup.addErrback(failed)
    lookup.addCallback(lambda _: receiver.resolutionComplete())


def numericAddressInfo(host: str, port: int, family: int = 0, socktype: int = 0) -> list[Any]:
    """``getaddrinfo`` of an address literal (never blocks); [] if it is not one of
    ``family``.  An IPv6 ``%scope`` becomes the scope id of the socket address."""
    try:
        return socket.getaddrinfo(host, port, family, socktype, 0, socket.AI_NUMERICHOST)
    except socket.gaierror:
        return []


class GAIResolver:
    """The default ``IHostnameResolver``: ``getaddrinfo`` in a thread pool.

    ``getThreadPool`` defaults to the reactor's; ``getaddrinfo`` defaults to
    ``socket.getaddrinfo`` (looked up at each call).  ``blocking=True`` runs
    the lookup inline instead (for reactors without threads, such as test
    doubles).
    """

    def __init__(
        self,
        reactor: Any,
        getThreadPool: Callable[[], Any] | None = None,
        getaddrinfo: Callable[..., Any] | None = None,
        blocking: bool = False,
    ) -> None:
        self._reactor = reactor
        self._getThreadPool = getThreadPool
        self._getaddrinfo = getaddrinfo
        self._blocking = blocking

    def __repr__(self) -> str:
        return f"<GAIResolver for {self._reactor!r}>"

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> HostResolution:
        """Look ``hostName`` up; see the module notes for how results are delivered."""
        family = _family(addressTypes)
        try:
            socktype = _SOCKET_TYPES[transportSemantics]
        except KeyError:
            raise ValueError(
                f"transportSemantics must be 'TCP' or 'UDP', not {transportSemantics!r}"
            ) from None
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        if isinstance(hostName, str) and (isIPv4Address(hostName) or isIPv6Address(hostName)):
            infos = numericAddressInfo(hostName, portNumber, family, socktype)
            d: defer.Deferred[Any] = defer.succeed(infos)
        elif self._blocking:
            d = defer.execute(self._lookup, hostName, portNumber, family, socktype)
        else:
            from torsion.threads import deferToThreadPool

            getPool = self._getThreadPool or self._reactor.getThreadPool
            d = deferToThreadPool(
                self._reactor, getPool(), self._lookup, hostName, portNumber, family, socktype
            )
        _deliverWhenDone(resolutionReceiver, d, hostName, self)
        return resolution

    def _lookup(self, host: str, port: int, family: int, socktype: int) -> list[Any]:
        getaddrinfo = self._getaddrinfo or socket.getaddrinfo
        try:
            return list(getaddrinfo(host, port, family, socktype))
        except (socket.gaierror, UnicodeError):
            return []  # no such name (or one that cannot be a name)


class SimpleHostnameResolver:
    """An ``IHostnameResolver`` over a callable ``nameResolution(host, port)`` that
    returns a Deferred of ``getaddrinfo``-shaped results (Twisted's
    ``endpoints._SimpleHostnameResolver``).  ``addressTypes`` and
    ``transportSemantics`` are not passed on; a failure is logged, and the
    resolution completes either way.
    """

    def __init__(self, nameResolution: Callable[[str, int], defer.Deferred[Any]]) -> None:
        self._nameResolution = nameResolution

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> HostResolution:
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        d = defer.maybeDeferred(self._nameResolution, hostName, portNumber)
        _deliverWhenDone(resolutionReceiver, d, hostName, self._nameResolution)
        return resolution


class SimpleResolverComplexifier:
    """An ``IHostnameResolver`` made of an ``IResolverSimple`` (``installResolver``).

    The name is given to the simple resolver as ASCII (IDNA-encoded if need
    be); its one IPv4 address is delivered with the requested port.  A
    ``DNSLookupError`` is an empty result; any other error is logged.
    """

    def __init__(self, simpleResolver: Any) -> None:
        self._simpleResolver = simpleResolver

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> HostResolution:
        try:
            hostName.encode("ascii")
        except UnicodeEncodeError:
            hostName = idnaBytes(hostName).decode("ascii")
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def failed(failure: Failure) -> None:
            if not failure.check(error.DNSLookupError):
                _log.log_failure(
                    f"Error while looking up {hostName!r} with {self._simpleResolver!r}:",
                    failure,
                )

        d = self._simpleResolver.getHostByName(hostName)
        d.addCallback(
            lambda address: resolutionReceiver.addressResolved(
                IPv4Address("TCP", address, portNumber)
            )
        )
        d.addErrback(failed)
        d.addCallback(lambda _: resolutionReceiver.resolutionComplete())
        return resolution


class _FirstAddress:
    """A resolution receiver that fires a Deferred with the first address's host."""

    def __init__(self, name: str, deferred: defer.Deferred[str]) -> None:
        self._name = name
        self._deferred = deferred

    def resolutionBegan(self, resolution: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        if not self._deferred.called:
            self._deferred.callback(address.host)

    def resolutionComplete(self) -> None:
        if not self._deferred.called:
            self._deferred.errback(error.DNSLookupError(self._name))


class ComplexResolverSimplifier:
    """An ``IResolverSimple`` made of an ``IHostnameResolver`` (``installNameResolver``).

    ``getHostByName`` fires with the first IPv4 address found, or fails with
    ``DNSLookupError``.  With a ``clock`` and a non-empty ``timeout`` sequence,
    a lookup that takes longer than its sum fails with ``DNSLookupError`` too
    (Twisted's adapter ignores the timeout; its threaded resolver honours it).
    """

    def __init__(self, nameResolver: Any, clock: Any = None) -> None:
        self._nameResolver = nameResolver
        self._clock = clock

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        d: defer.Deferred[str] = defer.Deferred()
        self._nameResolver.resolveHostName(_FirstAddress(name, d), name, 0, [IPv4Address])
        total = sum(timeout) if timeout else 0
        if total and self._clock is not None and not d.called:

            def timedOut(failure: Failure) -> None:
                failure.trap(defer.TimeoutError)
                raise error.DNSLookupError(f"{name} (timed out after {total} seconds)")

            d.addTimeout(total, self._clock, onTimeoutCancel=None)
            d.addErrback(timedOut)
        return d


def _idna() -> Any:
    """The ``idna`` package (IDNA 2008) if it is installed, else None."""
    try:
        return importlib.import_module("idna")
    except ImportError:
        return None


def idnaBytes(text: str) -> bytes:
    """``text`` (a host name) IDNA-encoded: with the ``idna`` package (IDNA 2008)
    if it is installed, as Twisted does, else the standard library's codec (IDNA 2003)."""
    idna = _idna()
    if idna is None:
        return text.encode("idna")
    return bytes(idna.encode(text))


def idnaText(octets: bytes) -> str:
    """The readable form of IDNA-encoded ``octets`` (``idna`` package if installed)."""
    idna = _idna()
    if idna is None:
        return octets.decode("idna")
    return str(idna.decode(octets))
