"""One worker of ``torsion run --workers N``: serve on sockets the supervisor holds.

A worker is ``python -m torsion <the user's command line> --supervised SLOT``,
started by the supervisor (``torsion.cli._workers``) with these descriptors:

- ``STATUS_FD`` (3), a pipe the worker writes ``ready`` to once its ports
  accept and its reactor runs, then closes;
- ``CONTROL_FD`` (4), a pipe from the supervisor: each ``STOP`` line on it
  counts as a SIGTERM (a pipe, unlike a signal sent twice in a row, never
  merges two into one); at EOF the supervisor is gone (killed, crashed), and
  the worker stops gracefully rather than serve on unsupervised;
- ``FIRST_LISTEN_FD`` (5) and up, one listening socket per ``--listen``, in
  order.

It is today's single-process runner (``torsion.cli._runner.run``) with a
``Worker`` as its hooks: each endpoint adopts its descriptor
(``AdoptedStreamServerEndpoint``, inside TLS with the description's own
certificate options for ``ssl:``), it does not log "listening on" (the
supervisor does, once), and it ignores SIGINT and SIGHUP -- a terminal sends
those to the whole process group, and the supervisor acts on them for every
worker.  SIGTERM is the graceful stop, with the runner's counting (a second is
ignored, a third stops waiting for open connections).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
from typing import Any

from torsion import error
from torsion._endpoints.adopted import AdoptedStreamServerEndpoint
from torsion._tls.protocol import TLSMemoryBIOFactory
from torsion.cli._runner import parseEndpoints
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.services import Service

__all__ = ["CONTROL_FD", "FIRST_LISTEN_FD", "READY", "STATUS_FD", "STOP", "Worker", "kindOf"]

STATUS_FD = 3
CONTROL_FD = 4
FIRST_LISTEN_FD = 5

#: What a worker writes on its status pipe once it serves.
READY = b"ready\n"
#: What the supervisor writes on the control pipe for each SIGTERM it passes on.
STOP = b"STOP\n"

_log = logging.getLogger("torsion.cli")


def kindOf(description: str) -> str:
    """The endpoint type of a description, lower case: ``tcp``, ``ssl``, ``unix``..."""
    return description.split(":", 1)[0].strip().lower()


class _TLSOnAdopted:
    """An adopted listening socket whose connections are wrapped in TLS."""

    def __init__(
        self, adopted: AdoptedStreamServerEndpoint, contextFactory: Any, reactor: Any
    ) -> None:
        self.adopted = adopted
        self.contextFactory = contextFactory
        self.reactor = reactor

    def listen(self, factory: Any) -> Deferred[Any]:
        tls = TLSMemoryBIOFactory(self.contextFactory, False, factory, self.reactor)
        return self.adopted.listen(tls)


class _SupervisorWatch:
    """A reader on the control pipe: a SIGTERM per ``STOP``; EOF: the supervisor is gone."""

    def __init__(self, reactor: Any, slot: int) -> None:
        self.reactor = reactor
        self.slot = slot
        self.fd = CONTROL_FD
        self.buffer = b""
        self.stops = 0  # STOP lines read and not yet handed to the reactor
        self.pending: Any = None
        os.set_blocking(self.fd, False)

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return "supervisor"

    def doRead(self) -> None:
        try:
            data = os.read(self.fd, 512)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            *lines, self.buffer = (self.buffer + data).split(b"\n")
            self.stops += sum(line + b"\n" == STOP for line in lines)
            self._nextStop()
            return
        self.connectionLost(None)
        _log.warning("worker %d: the supervisor is gone; stopping", self.slot)
        if self.reactor.running:
            try:
                self.reactor.stop()
            except error.ReactorNotRunning:
                pass

    def _nextStop(self) -> None:
        """Hand the reactor one STOP as a SIGTERM, the next one a turn of the loop later.

        Signals reach the reactor one by one, each in its own turn; several
        given in one turn would all be counted before the shutdown has begun
        to wait for connections, so a third could not end that wait.
        """
        self.pending = None
        if self.stops:
            self.stops -= 1
            self.reactor.sigTerm(signal.SIGTERM)
            if self.stops:
                self.pending = self.reactor.callLater(0, self._nextStop)

    def doWrite(self) -> None:  # pragma: no cover - never a writer
        pass

    def connectionLost(self, reason: Failure | None) -> None:
        if self.pending is not None and self.pending.active():
            self.pending.cancel()
        self.pending = None
        if self.fd >= 0:
            self.reactor.removeReader(self)
            os.close(self.fd)
            self.fd = -1


class Worker:
    """The hooks ``torsion.cli._runner.run`` takes to run as worker ``slot``."""

    def __init__(self, slot: int, service: Service, options: argparse.Namespace) -> None:
        self.slot = slot
        self.service = service
        self.options = options
        self.reactor: Any = None

    def endpoints(self, reactor: Any) -> list[tuple[str, Any]]:
        """An endpoint adopting the supervisor's socket for each ``--listen``."""
        self.reactor = reactor
        endpoints = []
        for index, description in enumerate(self.options.listen or [self.service.defaultListen]):
            fd = FIRST_LISTEN_FD + index
            probe = socket.socket(fileno=fd)
            family = probe.family
            probe.detach()
            adopted = AdoptedStreamServerEndpoint(reactor, fd, family)
            endpoint: Any = adopted
            if kindOf(description) == "ssl":
                options = argparse.Namespace(listen=[description])
                [(_, parsed)] = parseEndpoints(reactor, self.service, options)
                endpoint = _TLSOnAdopted(adopted, parsed._sslContextFactory, reactor)
            endpoints.append((description, endpoint))
        return endpoints

    def ready(self) -> None:
        """Once running: watch the control pipe, tell the supervisor we serve."""
        watch = _SupervisorWatch(self.reactor, self.slot)
        self.reactor.addReader(watch)
        try:
            os.write(STATUS_FD, READY)
        finally:
            os.close(STATUS_FD)

    def signals(self) -> dict[int, Any]:
        """SIGTERM stops gracefully; SIGINT and SIGHUP are the supervisor's business."""
        return {
            signal.SIGTERM: self.reactor.sigTerm,
            signal.SIGINT: signal.SIG_IGN,
            signal.SIGHUP: signal.SIG_IGN,
        }
