"""Stream endpoints: where to listen and what to connect to (TCP, UNIX, TLS, names).

A server endpoint's ``listen(factory)`` returns a Deferred of the listening
port; a client endpoint's ``connect(factory)`` returns a Deferred of the
connected protocol.  (``serverFromString``/``clientFromString``, in
``torsion._endpoints.kinds``, build them from descriptions.)

Theory of operation (clients)
-----------------------------
``connect`` hands the connector an ``_EndpointFactory`` that builds the user's
protocol from the user's factory and *returns it unwrapped*, so the transport
talks to the user's protocol directly (no forwarding layer on the data path).
The Deferred fires on the next turn of the loop, once ``connectionMade`` has
run (the turn ends before any data is read, so the callback still comes before
the first ``dataReceived``).  Cancelling stops the attempt, or closes a
connection whose protocol was built but not yet delivered, and fails the
Deferred with an error that is both ``error.ConnectingCancelledError`` (as in
Twisted) and ``defer.CancelledError``.

``HostnameEndpoint`` resolves the name with the reactor's ``nameResolver``
(``getaddrinfo`` in the reactor's thread pool unless another resolver is
installed; see ``torsion._net.resolver``), then races the addresses, Happy
Eyeballs style: one attempt starts every ``attemptDelay`` seconds (at once
when the previous one fails); the first attempt to connect wins through a
one-shot ``_Gate`` factory, and every other attempt is cancelled.  When all
fail, the last failure is reported.
"""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from torsion import defer, error
from torsion._net.resolver import GAIResolver, idnaBytes, idnaText
from torsion._util import isIPv6Address, scopedHost
from torsion.address import HostnameAddress, IPv4Address, IPv6Address
from torsion.failure import Failure
from torsion.protocol import ClientFactory, Factory

if TYPE_CHECKING:
    from torsion.interfaces import (
        IConnector,
        IListeningPort,
        IProtocolFactory,
        IReactorSSL,
        IReactorTCP,
        IReactorUNIX,
    )

__all__ = [
    "HostnameEndpoint",
    "SSL4ClientEndpoint",
    "SSL4ServerEndpoint",
    "TCP4ClientEndpoint",
    "TCP4ServerEndpoint",
    "TCP6ClientEndpoint",
    "TCP6ServerEndpoint",
    "UNIXClientEndpoint",
    "UNIXServerEndpoint",
    "connectProtocol",
    "wrapClientTLS",
    "wrapServerTLS",
]


class _ConnectingCancelled(error.ConnectingCancelledError, defer.CancelledError):
    """A cancelled connection attempt: catchable under either name."""

    def __str__(self) -> str:
        return f"connecting to {self.address} was cancelled"


# ------------------------------------------------------------------ servers


class TCP4ServerEndpoint:
    """Listen for TCP connections on an IPv4 interface (``''``: all of them).

    ``reusePort=True`` (torsion only) listens with SO_REUSEPORT: see
    ``reactor.listenTCP``.
    """

    def __init__(
        self,
        reactor: IReactorTCP,
        port: int,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> None:
        self._reactor: Any = reactor  # Any: SSL4ServerEndpoint keeps an IReactorSSL here
        self._port = port
        self._backlog = backlog
        self._interface = interface
        self._reusePort = reusePort

    def _options(self) -> dict[str, Any]:
        """The keyword arguments of the reactor's listen call (reusePort only when asked)."""
        options: dict[str, Any] = {"backlog": self._backlog, "interface": self._interface}
        if self._reusePort:
            options["reusePort"] = True
        return options

    def listen(self, protocolFactory: IProtocolFactory) -> defer.Deferred[IListeningPort]:
        """Start listening; the Deferred fires with the port, or fails with CannotListenError."""
        return defer.execute(
            self._reactor.listenTCP, self._port, protocolFactory, **self._options()
        )


class TCP6ServerEndpoint(TCP4ServerEndpoint):
    """Listen for TCP connections on an IPv6 interface (``'::'``: all of them)."""

    def __init__(
        self,
        reactor: IReactorTCP,
        port: int,
        backlog: int = 50,
        interface: str = "::",
        *,
        reusePort: bool = False,
    ) -> None:
        super().__init__(reactor, port, backlog, interface, reusePort=reusePort)


class UNIXServerEndpoint:
    """Listen on a UNIX socket path (``mode`` is applied to the socket file)."""

    def __init__(
        self,
        reactor: IReactorUNIX,
        address: str,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> None:
        self._reactor = reactor
        self._address = address
        self._backlog = backlog
        self._mode = mode
        self._wantPID = wantPID

    def listen(self, protocolFactory: IProtocolFactory) -> defer.Deferred[IListeningPort]:
        """Start listening; the Deferred fires with the port."""
        return defer.execute(
            self._reactor.listenUNIX,
            self._address,
            protocolFactory,
            backlog=self._backlog,
            mode=self._mode,
            wantPID=self._wantPID,
        )


class SSL4ServerEndpoint(TCP4ServerEndpoint):
    """Listen for TLS connections on an IPv4 interface."""

    def __init__(
        self,
        reactor: IReactorSSL,
        port: int,
        sslContextFactory: Any,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> None:
        # (The base keeps the reactor; this class only calls its listenSSL.)
        super().__init__(reactor, port, backlog, interface, reusePort=reusePort)  # type: ignore[arg-type]
        self._sslContextFactory = sslContextFactory

    def listen(self, protocolFactory: IProtocolFactory) -> defer.Deferred[IListeningPort]:
        """Start listening; the Deferred fires with the port."""
        return defer.execute(
            self._reactor.listenSSL,
            self._port,
            protocolFactory,
            self._sslContextFactory,
            **self._options(),
        )


# ------------------------------------------------------------------ clients


class _WrappingFactory(ClientFactory):
    """A factory that stands in for ``wrapped``, which is started and stopped with it."""

    noisy = False

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def startFactory(self) -> None:
        self.wrapped.doStart()

    def stopFactory(self) -> None:
        self.wrapped.doStop()


class _EndpointFactory(_WrappingFactory):
    """Builds the user's protocol for a connector and reports the outcome once."""

    def __init__(self, reactor: Any, factory: Any, deferred: defer.Deferred[Any]) -> None:
        super().__init__(factory)
        self._reactor = reactor
        self._deferred: defer.Deferred[Any] | None = deferred
        self._error: Failure | None = None
        self._protocol: Any = None
        self._delivery: Any = None

    def __repr__(self) -> str:
        return f"<endpoint connection for {self.wrapped!r}>"

    def buildProtocol(self, addr: Any) -> Any:
        if self._deferred is None:
            return None  # cancelled as the connection completed
        try:
            protocol = self.wrapped.buildProtocol(addr)
        except Exception:
            self._error = Failure()
            return None
        if protocol is None:
            self._error = Failure(error.NoProtocol(f"{self.wrapped!r} built no protocol"))
            return None
        self._protocol = protocol
        self._delivery = self._reactor.callLater(0, self._deliver)
        return protocol

    def _deliver(self) -> None:
        self._delivery = None
        d, self._deferred = self._deferred, None
        if d is not None:
            d.callback(self._protocol)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        d, self._deferred = self._deferred, None
        if d is not None:
            d.errback(self._error if self._error is not None else reason)

    def cancel(self, connector: Any, address: Any) -> None:
        """Stop the attempt (or drop the undelivered connection); fail the Deferred."""
        d, self._deferred = self._deferred, None
        if d is None:
            return
        if self._delivery is not None:
            self._delivery.cancel()
            self._delivery = None
            transport = getattr(self._protocol, "transport", None)
            if transport is not None:
                transport.abortConnection()
        elif connector is not None and connector.state == "connecting":
            connector.stopConnecting()
        d.errback(_ConnectingCancelled(address))


def _connectWith(
    reactor: Any,  # the endpoint's (IReactorTCP, UNIX or SSL), whose callLater is used too
    factory: IProtocolFactory,
    address: Any,
    start: Callable[[ClientFactory], IConnector],
) -> defer.Deferred[Any]:
    """Connect through ``start(clientFactory) -> connector``; see the module notes."""
    connector: Any = None

    def cancel(d: defer.Deferred[Any]) -> None:
        wrapper.cancel(connector, address)

    d: defer.Deferred[Any] = defer.Deferred(cancel)
    wrapper = _EndpointFactory(reactor, factory, d)
    try:
        connector = start(wrapper)
    except Exception:
        return defer.fail()
    return d


class TCP4ClientEndpoint:
    """Connect over TCP to an IPv4 address or a host name resolved to one."""

    def __init__(
        self,
        reactor: IReactorTCP,
        host: str,
        port: int,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> None:
        self._reactor: Any = reactor  # Any: SSL4ClientEndpoint keeps an IReactorSSL here
        self._host = host
        self._port = port
        self._timeout = timeout
        self._bindAddress = bindAddress

    def _address(self, host: str | None = None) -> Any:
        """The address a cancelled attempt reports: ``host`` once resolved, as Twisted."""
        return IPv4Address("TCP", self._host if host is None else host, self._port)

    def connect(self, protocolFactory: IProtocolFactory) -> defer.Deferred[Any]:
        """Connect; the Deferred fires with the protocol once it is connected."""
        return self._connectTo(self._host, protocolFactory)

    def _connectTo(self, host: str, protocolFactory: IProtocolFactory) -> defer.Deferred[Any]:
        return _connectWith(
            self._reactor,
            protocolFactory,
            self._address(host),
            lambda f: self._reactor.connectTCP(
                host, self._port, f, timeout=self._timeout, bindAddress=self._bindAddress
            ),
        )


def _getaddrinfo(
    reactor: Any, host: str, port: int, family: int
) -> defer.Deferred[list[tuple[Any, ...]]]:
    """``getaddrinfo`` (TCP) in the reactor's thread pool: a Deferred of its results."""

    def lookup() -> list[tuple[Any, ...]]:
        try:
            infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise error.DNSLookupError(f"could not resolve {host!r}: {e}")
        if not infos:
            raise error.DNSLookupError(f"could not resolve {host!r}: no addresses")
        return list(infos)

    if not hasattr(reactor, "getThreadPool"):  # a test double: resolve inline
        return defer.execute(lookup)
    from torsion.threads import deferToThreadPool

    return deferToThreadPool(reactor, reactor.getThreadPool(), lookup)


class _Resolving:
    """A connection attempt that waits for a name lookup first (cancellable throughout)."""

    def __init__(self, address: Any) -> None:
        self.address = address
        self.attempt: defer.Deferred[Any] | None = None
        self.deferred: defer.Deferred[Any] = defer.Deferred(self._cancel)

    def _cancel(self, d: defer.Deferred[Any]) -> None:
        if self.attempt is not None:
            self.attempt.cancel()  # fails self.deferred through the chain
        else:
            d.errback(_ConnectingCancelled(self.address))

    def resolved(self, start: Callable[[], defer.Deferred[Any]]) -> None:
        if self.deferred.called:
            return  # cancelled while resolving
        self.attempt = start()
        self.attempt.chainDeferred(self.deferred)

    def failed(self, failure: Failure) -> None:
        if not self.deferred.called:
            self.deferred.errback(failure)


class TCP6ClientEndpoint(TCP4ClientEndpoint):
    """Connect over TCP to an IPv6 address or a host name resolved to one."""

    def _address(self, host: str | None = None) -> Any:
        return IPv6Address("TCP", self._host if host is None else host, self._port)

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """Connect; a host name is resolved (IPv6 only) in a thread first."""
        if isIPv6Address(self._host):
            return self._connectTo(self._host, protocolFactory)
        attempt = _Resolving(self._address())
        lookup = self._nameResolution(self._host)
        lookup.addCallbacks(
            lambda infos: attempt.resolved(
                lambda: self._connectTo(scopedHost(infos[0][4]), protocolFactory)
            ),
            attempt.failed,
        )
        return attempt.deferred

    def _nameResolution(self, host: str) -> defer.Deferred[list[tuple[Any, ...]]]:
        """The IPv6 ``getaddrinfo`` results for ``host`` (as Twisted, not the name resolver)."""
        return _getaddrinfo(self._reactor, host, 0, socket.AF_INET6)


class _Gate(_WrappingFactory):
    """Lets the first of several racing attempts build the user's protocol.

    A protocol that fails to build (None or an exception) fails that attempt
    only; the next attempt to connect asks again.
    """

    def __init__(self, wrapped: Any, onWin: Callable[[], None]) -> None:
        super().__init__(wrapped)
        self.onWin = onWin
        self.won = False

    def buildProtocol(self, addr: Any) -> Any:
        if self.won:
            return None
        protocol = self.wrapped.buildProtocol(addr)
        if protocol is not None:
            self.won = True
            self.onWin()
        return protocol


class _Race:
    """Connection attempts to each address in turn, overlapping (see module notes)."""

    def __init__(
        self, endpoint: HostnameEndpoint, addresses: list[Any], factory: Any, deferred: Any
    ) -> None:
        self.endpoint = endpoint
        self.addresses = addresses
        self.next = 0
        self.attempts: list[defer.Deferred[Any]] = []
        self.lastFailure: Failure | None = None
        self.timer: Any = None
        self.stopped = False
        self.deferred: defer.Deferred[Any] = deferred
        self.gate = _Gate(factory, self._won)

    def start(self) -> None:
        if not self.deferred.called:  # else: cancelled while resolving
            self._attempt()

    def _attempt(self) -> None:
        self._stopTimer()
        address = self.addresses[self.next]
        self.next += 1
        ep = self.endpoint
        host = address.host
        endpointClass: type[TCP4ClientEndpoint] = TCP4ClientEndpoint
        if isinstance(address, IPv6Address):
            endpointClass = TCP6ClientEndpoint
            if address.scopeID and "%" not in host:
                host = f"{host}%{address.scopeID}"  # a link-local address keeps its scope
        d = endpointClass(ep._reactor, host, address.port, ep._timeout, ep._bindAddress).connect(
            self.gate
        )
        self.attempts.append(d)
        d.addCallbacks(self._succeeded, self._failed, errbackArgs=(d,))
        if self.next < len(self.addresses) and not self.gate.won:
            self.timer = ep._reactor.callLater(ep._attemptDelay, self._attempt)

    def _stopTimer(self) -> None:
        if self.timer is not None:
            if self.timer.active():
                self.timer.cancel()
            self.timer = None

    def _won(self) -> None:
        self._stopTimer()

    def _succeeded(self, protocol: Any) -> None:
        self.stopped = True
        losers, self.attempts = self.attempts, []
        for d in losers:
            if not d.called:
                d.cancel()
        if not self.deferred.called:
            self.deferred.callback(protocol)

    def _failed(self, failure: Failure, d: defer.Deferred[Any]) -> None:
        if d in self.attempts:
            self.attempts.remove(d)
        if self.stopped:
            return
        if not failure.check(defer.CancelledError, error.NoProtocol) or self.lastFailure is None:
            self.lastFailure = failure
        if self.gate.won:
            return
        if self.next < len(self.addresses):
            self._attempt()
        elif not self.attempts:
            self._stopTimer()
            self.deferred.errback(self.lastFailure)

    def cancel(self) -> None:
        self.stopped = True
        self._stopTimer()
        attempts, self.attempts = self.attempts, []
        for d in attempts:
            d.cancel()


class HostnameEndpoint:
    """Connect to a host name (or address) over TCP, trying each address it resolves to.

    ``host`` may be ``str`` or ``bytes`` (ASCII or IDNA); a host that is not a
    valid name makes ``connect()`` fail with ValueError (as in Twisted, the
    constructor does not raise).  The name is resolved by the reactor's
    ``nameResolver``.  ``attemptDelay`` (default 0.3 s) is how long an
    attempt runs before the next one starts.  ``bindAddress`` may be a
    ``(host, port)`` tuple or just a host (port 0).
    """

    _DEFAULT_ATTEMPT_DELAY = 0.3

    def __init__(
        self,
        reactor: Any,
        host: str | bytes,
        port: int,
        timeout: float = 30,
        bindAddress: tuple[str | bytes, int] | str | bytes | None = None,
        attemptDelay: float | None = None,
    ) -> None:
        self._reactor = reactor
        self._badHostname, self._hostBytes, self._hostText = _hostAsBytesAndText(host)
        self._port = port
        self._timeout = timeout
        self._bindAddress = _bindAddressTuple(bindAddress)
        self._attemptDelay = self._DEFAULT_ATTEMPT_DELAY if attemptDelay is None else attemptDelay

    def __repr__(self) -> str:
        if self._badHostname:
            host = self._hostText  # already backslash-escaped
        elif isIPv6Address(self._hostText):
            host = f"[{self._hostText}]"
        else:
            host = self._hostBytes.decode("ascii")  # the IDNA form: copy-pasteable
        return f"<HostnameEndpoint {host}:{self._port}>"

    def _nameResolver(self) -> Any:
        """The reactor's name resolver (asked at each ``connect``), or getaddrinfo."""
        resolver = getattr(self._reactor, "nameResolver", None)
        if resolver is None:
            blocking = not hasattr(self._reactor, "getThreadPool")
            resolver = GAIResolver(self._reactor, blocking=blocking)
        return resolver

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """Resolve, race the addresses, and fire with the protocol of the winner."""
        if self._badHostname:
            return defer.fail(ValueError(f"invalid hostname: {self._hostText}"))
        race: _Race | None = None

        def cancel(d: defer.Deferred[Any]) -> None:
            if race is not None:
                race.cancel()
            d.errback(_ConnectingCancelled(HostnameAddress(self._hostBytes, self._port)))

        d: defer.Deferred[Any] = defer.Deferred(cancel)

        def resolved(addresses: list[Any]) -> None:
            nonlocal race
            if d.called:
                return  # cancelled while resolving
            usable = _interleave(
                [a for a in addresses if isinstance(a, (IPv4Address, IPv6Address))]
            )
            if not usable:
                d.errback(
                    error.DNSLookupError(f"no results for hostname lookup: {self._hostText}")
                )
                return
            race = _Race(self, usable, protocolFactory, d)
            race.start()

        try:
            self._nameResolver().resolveHostName(
                _Collector(resolved), self._hostText, portNumber=self._port
            )
        except Exception:
            if not d.called:
                d.errback()
        return d


class _Collector:
    """A resolution receiver that hands every address over once resolution completes."""

    def __init__(self, done: Callable[[list[Any]], None]) -> None:
        self._done = done
        self._addresses: list[Any] = []

    def resolutionBegan(self, resolution: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        self._addresses.append(address)

    def resolutionComplete(self) -> None:
        self._done(self._addresses)


def _hostAsBytesAndText(host: str | bytes) -> tuple[bool, bytes, str]:
    """``(bad, asBytes, asText)`` for a host given as text or bytes.

    Text is NFC-normalised; a non-ASCII name is IDNA-encoded for the bytes,
    an IDNA (``xn--``) name is decoded for the text.  ASCII names pass as they
    are (Twisted runs even them through the ``idna`` package and so refuses
    ``under_score`` names, which exist on private networks).  A host that
    cannot be a name is ``bad``, with both forms backslash-escaped.
    """
    bad = False
    if isinstance(host, bytes):
        hostBytes = host
        try:
            hostText = host.decode("ascii")
        except UnicodeDecodeError:
            hostText = host.decode("charmap")
            bad = True
        else:
            if "xn--" in hostText.lower():
                try:
                    hostText = idnaText(host)
                except UnicodeError:
                    pass
    else:
        hostText = unicodedata.normalize("NFC", host)
        try:
            hostBytes = hostText.encode("ascii")
        except UnicodeEncodeError:
            try:
                hostBytes = idnaBytes(hostText)
            except UnicodeError:
                bad = True
    if not hostText:
        bad = True
    if bad:
        hostBytes = hostText.encode("ascii", "backslashreplace")
        hostText = hostBytes.decode("ascii")
    return bad, hostBytes, hostText


def _bindAddressTuple(bindAddress: Any) -> tuple[str, int] | None:
    """Twisted's forms of ``bindAddress``: a host alone means port 0; bytes are decoded."""
    if bindAddress is None:
        return None
    if isinstance(bindAddress, (str, bytes)):
        bindAddress = (bindAddress, 0)
    host, port = bindAddress
    if isinstance(host, bytes):
        host = host.decode()
    return (host, port)


def _interleave(addresses: Sequence[Any]) -> list[Any]:
    """Alternate address families, keeping the resolver's order within each (RFC 8305)."""
    unique = list(dict.fromkeys(addresses))
    if not unique:
        return unique
    first = [a for a in unique if type(a) is type(unique[0])]
    other = [a for a in unique if type(a) is not type(unique[0])]
    mixed: list[Any] = []
    for i in range(max(len(first), len(other))):
        mixed.extend(pair[i] for pair in (first, other) if i < len(pair))
    return mixed


class UNIXClientEndpoint:
    """Connect to a UNIX socket path."""

    def __init__(
        self, reactor: IReactorUNIX, path: str, timeout: float = 30, checkPID: int = 0
    ) -> None:
        self._reactor = reactor
        self._path = path
        self._timeout = timeout
        self._checkPID = checkPID

    def connect(self, protocolFactory: IProtocolFactory) -> defer.Deferred[Any]:
        """Connect; the Deferred fires with the protocol once it is connected."""
        from torsion.address import UNIXAddress

        path = self._path
        return _connectWith(
            self._reactor,
            protocolFactory,
            UNIXAddress(path.encode() if isinstance(path, str) else path),
            lambda f: self._reactor.connectUNIX(
                path, f, timeout=self._timeout, checkPID=self._checkPID
            ),
        )


class SSL4ClientEndpoint(TCP4ClientEndpoint):
    """Connect over TLS (``reactor.connectSSL``) to an IPv4 address or host name."""

    def __init__(
        self,
        reactor: IReactorSSL,
        host: str,
        port: int,
        sslContextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> None:
        # (The base keeps the reactor; this class only calls its connectSSL.)
        super().__init__(reactor, host, port, timeout, bindAddress)  # type: ignore[arg-type]
        self._sslContextFactory = sslContextFactory

    def _connectTo(self, host: str, protocolFactory: IProtocolFactory) -> defer.Deferred[Any]:
        return _connectWith(
            self._reactor,
            protocolFactory,
            self._address(host),
            lambda f: self._reactor.connectSSL(
                host,
                self._port,
                f,
                self._sslContextFactory,
                timeout=self._timeout,
                bindAddress=self._bindAddress,
            ),
        )


class _WrapperEndpoint:
    """Connects ``wrappedEndpoint`` with ``wrapperFactory(factory)``; fires with the
    protocol the wrapper wraps (``wrappedProtocol``).  Twisted's private name."""

    def __init__(self, wrappedEndpoint: Any, wrapperFactory: Callable[[Any], Any]) -> None:
        self._wrappedEndpoint = wrappedEndpoint
        self._wrapperFactory = wrapperFactory

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """Connect the wrapped endpoint through the wrapper; fires with the user's protocol."""
        d = self._wrappedEndpoint.connect(self._wrapperFactory(protocolFactory))
        d.addCallback(lambda wrapper: wrapper.wrappedProtocol)
        return d  # type: ignore[no-any-return]


class _TLSClientEndpoint(_WrapperEndpoint):
    """``wrapClientTLS``'s endpoint: TLS started over whatever ``wrapped`` connects."""

    def __init__(self, connectionCreator: Any, wrappedEndpoint: Any, clock: Any = None) -> None:
        super().__init__(wrappedEndpoint, self._tlsFactory)
        self._connectionCreator = connectionCreator
        self._clock = clock

    def _tlsFactory(self, protocolFactory: Any) -> Any:
        from torsion._tls.protocol import TLSMemoryBIOFactory

        return TLSMemoryBIOFactory(self._connectionCreator, True, protocolFactory, self._clock)


class _TLSServerEndpoint:
    """``wrapServerTLS``'s endpoint: each connection ``wrapped`` accepts speaks TLS."""

    def __init__(self, connectionCreator: Any, wrappedEndpoint: Any, clock: Any = None) -> None:
        self._connectionCreator = connectionCreator
        self._wrappedEndpoint = wrappedEndpoint
        self._clock = clock

    def listen(self, protocolFactory: Any) -> defer.Deferred[Any]:
        """Listen on the wrapped endpoint with TLS on top; fires with its port."""
        from torsion._tls.protocol import TLSMemoryBIOFactory

        tlsFactory = TLSMemoryBIOFactory(
            self._connectionCreator, False, protocolFactory, self._clock
        )
        return self._wrappedEndpoint.listen(tlsFactory)  # type: ignore[no-any-return]


def wrapClientTLS(
    connectionCreator: Any, wrappedEndpoint: Any, clock: Any = None
) -> _TLSClientEndpoint:
    """An endpoint that speaks TLS (per ``connectionCreator``) over ``wrappedEndpoint``."""
    return _TLSClientEndpoint(connectionCreator, wrappedEndpoint, clock)


def wrapServerTLS(
    connectionCreator: Any, wrappedEndpoint: Any, clock: Any = None
) -> _TLSServerEndpoint:
    """A server endpoint whose connections speak TLS (per ``connectionCreator``,
    a ``CertificateOptions``) over those ``wrappedEndpoint`` accepts."""
    return _TLSServerEndpoint(connectionCreator, wrappedEndpoint, clock)


# ------------------------------------------------------------------ helpers


class _OneProtocolFactory(Factory):
    noisy = False

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def buildProtocol(self, addr: Any) -> Any:
        return self._protocol


def connectProtocol(endpoint: Any, protocol: Any) -> defer.Deferred[Any]:
    """Connect ``endpoint`` to this one ``protocol`` instance; fires with the protocol."""
    return endpoint.connect(_OneProtocolFactory(protocol))  # type: ignore[no-any-return]
