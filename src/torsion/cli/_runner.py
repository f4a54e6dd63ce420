"""``torsion run``: listen with a service's factory, serve, and stop gracefully.

Theory of operation
-------------------
Every endpoint is parsed before anything listens, so a bad ``--listen`` fails
without side effects.  The service's factory is wrapped in ``_Tracking``,
which only remembers each protocol it builds (weakly): the data path is the
service's own protocol, untouched.

On SIGINT/SIGTERM the reactor fires its ``shutdown`` event; our ``before``
trigger stops every listening port, asks each live connection to finish
(``protocol.stopGracefully()`` when the protocol has one, else
``transport.loseConnection()``) and returns a Deferred that fires once they
are all closed, or once the grace period is over and the stragglers have been
aborted.  The reactor then closes whatever is left and ``run()`` returns: the
process exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from torsion import defer, reactors
from torsion._endpoints.stream import _WrappingFactory
from torsion.address import IPv4Address, IPv6Address, UNIXAddress
from torsion.endpoints import serverFromString
from torsion.failure import Failure
from torsion.services import Service

__all__ = ["UsageError", "describeAddress", "run"]

_log = logging.getLogger("torsion.cli")

#: How often the graceful stop looks for connections that are still open.
_POLL_INTERVAL = 0.05


class UsageError(Exception):
    """A mistake in the command line (exit status 2)."""


class RunError(Exception):
    """The service could not start (exit status 1)."""


def describeAddress(scheme: str, address: Any) -> str:
    """An address as a short endpoint-like string: ``tcp:127.0.0.1:8080``, ``unix:/p``."""
    if isinstance(address, IPv6Address):
        return f"{scheme}:[{address.host}]:{address.port}"
    if isinstance(address, IPv4Address):
        return f"{scheme}:{address.host}:{address.port}"
    if isinstance(address, UNIXAddress):
        name = address.name
        path = name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name
        return f"{scheme}:{path}"
    return f"{scheme}:{address}"


class _Tracking(_WrappingFactory):
    """Wraps a factory to remember the protocols it builds."""

    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self.protocols: weakref.WeakSet[Any] = weakref.WeakSet()

    def __repr__(self) -> str:
        return repr(self.wrapped)

    def logPrefix(self) -> str:
        prefix = getattr(self.wrapped, "logPrefix", None)
        return prefix() if prefix is not None else type(self.wrapped).__name__

    def buildProtocol(self, addr: Any) -> Any:
        protocol = self.wrapped.buildProtocol(addr)
        if protocol is not None:
            self.protocols.add(protocol)
        return protocol

    def live(self) -> list[Any]:
        """The protocols whose connections are still open."""
        alive = []
        for p in list(self.protocols):
            t = p.transport
            if t is not None and not getattr(t, "disconnected", False):
                alive.append(p)
        return alive


def parseEndpoints(reactor: Any, service: Service, options: argparse.Namespace) -> list[Any]:
    """``(description, endpoint)`` for each ``--listen`` (or the service's default)."""
    endpoints = []
    for description in options.listen or [service.defaultListen]:
        try:
            endpoint = serverFromString(reactor, description)
        except ValueError as e:
            raise UsageError(f"--listen: {e}") from None
        endpoints.append((description, endpoint))
    return endpoints


class _Server:
    def __init__(
        self,
        reactor: Any,
        name: str,
        service: Service,
        options: argparse.Namespace,
        endpoints: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.reactor = reactor
        self.name = name
        self.grace = options.grace
        self.ports: list[tuple[Any, str]] = []  # (port, scheme)
        self.failed = False
        self.endpoints = (
            parseEndpoints(reactor, service, options) if endpoints is None else endpoints
        )
        factory = service.makeFactory(reactor, options)
        # Named after the service's factory class, for the ports' log lines.
        self.tracking = type(type(factory).__name__, (_Tracking,), {})(factory)

    def listen(self) -> None:
        for description, endpoint in self.endpoints:
            scheme = description.split(":", 1)[0].lower()
            d = endpoint.listen(self.tracking)
            d.addCallbacks(
                self._listening,
                self._cannotListen,
                callbackArgs=(scheme,),
                errbackArgs=(description,),
            )

    def _listening(self, port: Any, scheme: str) -> None:
        self.ports.append((port, scheme))
        if self.reactor.running:
            self._announce(port, scheme)

    def announce(self) -> None:
        """Log the addresses once running: signals are handled from then on."""
        for port, scheme in self.ports:
            self._announce(port, scheme)

    def _announce(self, port: Any, scheme: str) -> None:
        _log.info("%s listening on %s", self.name, describeAddress(scheme, port.getHost()))

    def _cannotListen(self, failure: Failure, description: str) -> None:
        self.failed = True
        self.error = f"cannot listen on {description}: {failure.getErrorMessage()}"
        if self.reactor.running:
            self.reactor.stop()

    def stopListening(self) -> None:
        ports, self.ports = self.ports, []
        for port, _ in ports:
            port.stopListening()

    def shutdown(self) -> defer.Deferred[None] | None:
        """The ``before shutdown`` trigger: stop accepting, let connections finish."""
        if self.failed:
            self.stopListening()
            return None
        _log.info("%s stopping: no longer accepting connections", self.name)
        self.stopListening()
        live = self.tracking.live()
        if not live:
            return None
        _log.info(
            "%s waiting up to %gs for %d open connection(s)", self.name, self.grace, len(live)
        )
        for protocol in live:
            try:
                stop = getattr(protocol, "stopGracefully", None)
                if stop is not None:
                    stop()
                else:
                    protocol.transport.loseConnection()
            except Exception:
                _log.exception("%s: error asking %r to stop", self.name, protocol)
        done: defer.Deferred[None] = defer.Deferred()
        deadline = self.reactor.seconds() + self.grace

        def check() -> None:
            live = self.tracking.live()
            if not live:
                done.callback(None)
            elif self.reactor.seconds() >= deadline:
                _log.warning(
                    "%s: %d connection(s) still open after %gs; closing them",
                    self.name,
                    len(live),
                    self.grace,
                )
                for protocol in live:
                    protocol.transport.abortConnection()
                done.callback(None)
            else:
                self.reactor.callLater(_POLL_INTERVAL, check)

        check()
        return done


@contextlib.contextmanager
def _signalsUntilExit(reactor: Any, handlers: dict[int, Any] | None = None) -> Iterator[None]:
    """SIGINT/SIGTERM stop the reactor while it runs, and are ignored afterwards.

    The reactor's own handlers would be replaced by the defaults when ``run()``
    returns, and a signal in the rest of the process's exit would kill it
    (exit status 143 instead of 0).  These handlers go straight from
    forwarding to the reactor (which logs a second signal and stops waiting on
    a third, see ``ReactorCore._onShutdownSignal``) to ignoring, with no
    default handler in between; the process exits with them in place.
    ``handlers`` replaces the reactor's: ``{signal number: handler}``, where a
    handler may also be ``signal.SIG_IGN``.

    The reactor's waker is the process's wakeup descriptor meanwhile, as it is
    when the reactor installs its own handlers.  Without it a signal that lands
    after the loop's last bytecode but before it blocks in ``poll`` (or that
    the kernel hands to another thread) runs its Python handler only when
    something else wakes the loop: seconds later, or never.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if handlers is None:
        handlers = {signal.SIGINT: reactor.sigInt, signal.SIGTERM: reactor.sigTerm}

    def forward(number: int, frame: Any) -> None:
        handlers[number](number, frame)

    for number, handler in handlers.items():
        signal.signal(number, forward if callable(handler) else handler)
    waker = getattr(reactor, "_waker", None)
    saved = None
    if waker is not None:  # the waker coalesces: a full pipe needs no warning
        saved = signal.set_wakeup_fd(waker.writeFileno, warn_on_full_buffer=False)
    try:
        yield
    finally:
        for number in handlers:
            signal.signal(number, signal.SIG_IGN)
        if saved is not None:
            signal.set_wakeup_fd(saved)


def run(name: str, service: Service, options: argparse.Namespace, worker: Any = None) -> None:
    """Serve ``service`` until SIGINT/SIGTERM; RunError/UsageError if it cannot start.

    ``worker`` (a ``torsion.cli._worker.Worker``) makes this process one of
    ``--workers``: it gives the endpoints (``worker.endpoints(reactor)``: the
    supervisor's sockets), what to do once running instead of logging the
    addresses (``worker.ready()``), and the signal handlers (``worker.signals()``).
    """
    reactor = reactors.create(options.reactor)
    try:
        reactors.install(reactor)
        endpoints = worker.endpoints(reactor) if worker is not None else None
        server = _Server(reactor, name, service, options, endpoints)
        server.listen()
        if not server.failed:
            reactor.addSystemEventTrigger("before", "shutdown", server.shutdown)
            reactor.callWhenRunning(server.announce if worker is None else worker.ready)
            handlers = worker.signals() if worker is not None else None
            with _signalsUntilExit(reactor, handlers):
                reactor.run(installSignalHandlers=False)
        if server.failed:
            server.stopListening()
            raise RunError(server.error)
    finally:
        if not reactor.running:
            reactor.close()
