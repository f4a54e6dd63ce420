"""``torsion run SERVICE --workers N``: N worker processes behind one supervisor.

Theory of operation
-------------------
The supervisor is a torsion program: one reactor, ``spawnProcess`` for the
workers, timers for restart delays and deadlines, and signal handlers that
pass each signal to the loop.  It never accepts a connection itself.

Sockets.  The endpoints are parsed first (a bad ``--listen`` is exit status 2
and no child is started), and the service's factory is built once and
dropped, so that a ``ServiceError`` is told before any child starts.  Then the
supervisor listens, through its reactor, and at once stops reading
(``stopReading``): its sockets stay open for its whole life, so their kernel
queues go on taking connections whatever the workers do.  For ``tcp:``,
``tcp6:`` and ``ssl:`` it listens once per worker slot with SO_REUSEPORT (the
first socket on the port asked for, ``0`` included, the others on the port
the first got), and the kernel spreads new connections over the slots.
Without SO_REUSEPORT, and for ``unix:`` and inherited (``systemd:``) sockets,
one socket serves every slot.

Workers.  Each slot runs one worker, ``python -m torsion ARGV --supervised
SLOT`` (``torsion.cli._worker``), given the slot's sockets as descriptors 5,
6, ... and a status pipe on which it writes ``ready`` once it serves.  The
"listening on" lines are logged, once, when every worker of the first start
is ready.  A worker that exits before it is ready at that first start stops
the run (exit status 1): the fault is in the service or its options and would
only repeat.  Afterwards, a worker that exits is logged (slot, pid, exit
status or signal) and its slot restarted after a delay that doubles from
``BACKOFF_MIN`` to ``BACKOFF_MAX`` while workers keep dying, and starts over
once a worker has lived ``BACKOFF_RESET`` seconds.  Meanwhile the slot's
socket queues its share of new connections for the next worker.

SIGHUP replaces the workers one slot at a time: a new worker starts on the
slot's sockets; once it has written ``ready``, the old one is told to stop
(see below) and finishes its connections within ``--grace``.  The sockets stay open
throughout, so no connection is refused.  If a new worker exits before it is
ready, the replacement stops there and the old workers go on.  A SIGHUP
during a replacement queues one more.

SIGINT/SIGTERM: the supervisor closes its sockets, passes a SIGTERM to every
worker (a ``STOP`` line on its control pipe, which it counts as a SIGTERM:
two signals sent in a row may reach a process as one, pipe lines never do),
each stopping as a single-process run does, and waits up to ``--grace``
plus ``STOP_MARGIN`` seconds, then kills what is left with SIGKILL.  Once
every worker is reaped, the reactor stops and the exit status is 0.  Later
signals are counted as a single process counts them, and passed on to the
workers, which count them too: the second is logged and ignored, the third
makes the workers stop waiting for their connections.  A terminal's SIGINT or
SIGHUP reaches the workers as well (one process group); they ignore both and
leave them to the supervisor.  If the supervisor itself dies, each worker sees
its control pipe close and stops gracefully.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from torsion import defer, error, reactors
from torsion._endpoints.process import StandardIOEndpoint
from torsion._endpoints.stream import TCP4ServerEndpoint
from torsion._net.tcp import HAVE_REUSEPORT
from torsion.cli._runner import (
    RunError,
    UsageError,
    _signalsUntilExit,
    describeAddress,
    parseEndpoints,
)
from torsion.cli._worker import CONTROL_FD, FIRST_LISTEN_FD, READY, STATUS_FD, STOP, kindOf
from torsion.failure import Failure
from torsion.protocol import Factory, ProcessProtocol
from torsion.services import Service

__all__ = ["supervise"]

_log = logging.getLogger("torsion.cli")

#: Restart delays: the first, the largest, and how long a worker must live
#: for the next restart to start again from the first.
BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0
BACKOFF_RESET = 10.0
#: How much longer than --grace the supervisor waits for its workers to exit.
STOP_MARGIN = 5.0


def describeExit(reason: BaseException) -> str:
    """``exited with status 1``, ``was killed by signal 9 (SIGKILL)``..."""
    number = getattr(reason, "signal", None)
    if number is not None:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown"
        return f"was killed by signal {number} ({name})"
    return f"exited with status {getattr(reason, 'exitCode', None)}"


class Supervisor(Factory):
    """The factory of the supervisor's own ports: it never builds a protocol."""

    def buildProtocol(self, addr: Any) -> None:  # pragma: no cover - never reading
        return None


class _Slot:
    """One worker's place: its sockets, its worker, a new one starting, its restart delay."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.fds: list[int] = []
        self.current: _WorkerProcess | None = None
        self.pending: _WorkerProcess | None = None
        self.delay = BACKOFF_MIN
        self.restart: Any = None


class _WorkerProcess(ProcessProtocol):
    """One worker process; ``ready`` fires True once it serves, False if it exits first."""

    def __init__(self, supervisor: _Supervisor, slot: _Slot) -> None:
        self.supervisor = supervisor
        self.slot = slot
        self.pid = 0
        self.started = supervisor.reactor.seconds()
        self.ready: defer.Deferred[bool] = defer.Deferred()
        self.retired = False
        self.exited = False
        self._status = b""

    def __repr__(self) -> str:
        return f"worker {self.slot.index} (pid {self.pid})"

    def connectionMade(self) -> None:
        self.pid = self.transport.pid

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == STATUS_FD and not self.ready.called:
            self._status += data
            if READY in self._status:
                self.ready.callback(True)

    def processEnded(self, reason: Failure) -> None:
        self.exited = True
        if not self.ready.called:
            self.ready.callback(False)
        self.supervisor.workerExited(self, reason.value)

    def stop(self) -> None:
        """Pass on a SIGTERM (through the control pipe: see ``torsion.cli._worker``)."""
        if not self.exited:
            try:
                self.transport.writeToChild(CONTROL_FD, STOP)
            except KeyError:
                pass  # the pipe is closed: the worker is on its way out

    def kill(self) -> None:
        """SIGKILL, unless the worker is gone."""
        if not self.exited:
            try:
                self.transport.signalProcess("KILL")
            except error.ProcessExitedAlready:
                pass


class _Supervisor:
    def __init__(
        self, reactor: Any, name: str, service: Service, options: argparse.Namespace
    ) -> None:
        self.reactor = reactor
        self.name = name
        self.grace = options.grace
        self.argv = list(options.commandLine)
        self.endpoints = parseEndpoints(reactor, service, options)
        for description, endpoint in self.endpoints:
            if isinstance(endpoint, StandardIOEndpoint):
                raise UsageError(f"--listen {description}: workers cannot share standard I/O")
        service.makeFactory(reactor, options)  # only to fail (ServiceError) before any child
        self.slots = [_Slot(index) for index in range(options.workers)]
        self.ports: list[tuple[str, list[Any]]] = []  # (description, one port or one per slot)
        self.workers: set[_WorkerProcess] = set()
        self.booting = True
        self.stopping = False
        self.rolling = False
        self.rollAgain = False
        self.signals = 0
        self.deadline: Any = None
        self.failure: str | None = None

    # ------------------------------------------------------------ sockets

    def listen(self) -> None:
        """Listen on every endpoint (RunError if one cannot), and stop reading."""
        factory = Supervisor()
        for description, endpoint in self.endpoints:
            try:
                ports = self._listen(endpoint, factory)
            except Exception as e:
                self.release()
                raise RunError(f"cannot listen on {description}: {e}") from None
            for port in ports:
                port.stopReading()
            self.ports.append((description, ports))
        for slot in self.slots:
            slot.fds = [ports[slot.index % len(ports)].fileno() for _, ports in self.ports]

    def _listen(self, endpoint: Any, factory: Any) -> list[Any]:
        if not isinstance(endpoint, TCP4ServerEndpoint):  # UNIX, inherited: one shared socket
            results: list[Any] = []
            endpoint.listen(factory).addBoth(results.append)
            if not results:
                raise RuntimeError(f"{endpoint!r} does not listen at once")
            if isinstance(results[0], Failure):
                results[0].raiseException()
            return results
        number = endpoint._port
        ports = []
        for _ in self.slots if HAVE_REUSEPORT else self.slots[:1]:
            port = self.reactor.listenTCP(
                number,
                factory,
                endpoint._backlog,
                endpoint._interface,
                reusePort=HAVE_REUSEPORT,
            )
            ports.append(port)
            number = port.getHost().port
        return ports

    def release(self) -> None:
        """Close the supervisor's sockets (a UNIX socket's file goes with them)."""
        ports, self.ports = self.ports, []
        for _, held in ports:
            for port in held:
                port.stopListening()

    def announce(self) -> None:
        for description, ports in self.ports:
            address = describeAddress(kindOf(description), ports[0].getHost())
            _log.info("%s listening on %s", self.name, address)

    # ------------------------------------------------------------ workers

    def start(self) -> None:
        """Start a worker in every slot; announce once all serve."""
        for slot in self.slots:
            slot.current = self.spawn(slot)
        ready = [slot.current.ready for slot in self.slots if slot.current is not None]
        defer.gatherResults(ready).addCallback(self._started)

    def _started(self, results: list[bool]) -> None:
        if self.stopping or not all(results):
            return
        self.booting = False
        self.announce()
        _log.info("%s: %d workers serving", self.name, len(self.slots))
        if self.rollAgain:
            self.rollAgain = False
            self.roll()

    def spawn(self, slot: _Slot) -> _WorkerProcess:
        """Start a worker on ``slot``'s sockets (it is not yet the slot's worker)."""
        worker = _WorkerProcess(self, slot)
        childFDs: dict[int, Any] = {fd: fd for fd in (0, 1, 2) if _isOpen(fd)}
        childFDs[STATUS_FD] = "r"
        childFDs[CONTROL_FD] = "w"
        for index, fd in enumerate(slot.fds):
            childFDs[FIRST_LISTEN_FD + index] = fd
        args = [sys.executable, "-m", "torsion", *self.argv, "--supervised", str(slot.index)]
        self.reactor.spawnProcess(
            worker, sys.executable, args, env=dict(os.environ), childFDs=childFDs
        )
        self.workers.add(worker)
        _log.info("%s %r started", self.name, worker)
        worker.ready.addCallback(self._ready, worker)
        return worker

    def _ready(self, ready: bool, worker: _WorkerProcess) -> bool:
        if ready:
            _log.info("%s %r ready", self.name, worker)
        return ready

    def workerExited(self, worker: _WorkerProcess, reason: BaseException) -> None:
        self.workers.discard(worker)
        slot = worker.slot
        if slot.current is worker:
            slot.current = None
        if slot.pending is worker:
            slot.pending = None
        how = describeExit(reason)
        if self.stopping or worker.retired:
            _log.info("%s %r %s", self.name, worker, how)
            if self.stopping and not self.workers:
                self._stopped()
            return
        if self.booting:
            _log.error("%s %r %s before it was ready", self.name, worker, how)
            self.failure = f"worker {slot.index} {how} before it was ready (see the log)"
            self.stop()
            return
        if slot.current is not None or slot.pending is not None:
            _log.warning("%s %r %s", self.name, worker, how)
            return
        if self.reactor.seconds() - worker.started >= BACKOFF_RESET:
            slot.delay = BACKOFF_MIN
        delay, slot.delay = slot.delay, min(slot.delay * 2, BACKOFF_MAX)
        _log.warning("%s %r %s; restarting it in %.1fs", self.name, worker, how, delay)
        slot.restart = self.reactor.callLater(delay, self._restart, slot)

    def _restart(self, slot: _Slot) -> None:
        slot.restart = None
        if self.stopping or slot.current is not None:
            return
        try:
            slot.current = self.spawn(slot)
        except Exception as e:
            _log.error("%s: cannot start worker %d: %s; trying again", self.name, slot.index, e)
            delay, slot.delay = slot.delay, min(slot.delay * 2, BACKOFF_MAX)
            slot.restart = self.reactor.callLater(delay, self._restart, slot)

    # ------------------------------------------------------- replacing

    def roll(self) -> None:
        """SIGHUP: replace the workers one slot at a time."""
        if self.stopping:
            return
        if self.rolling or self.booting:
            self.rollAgain = True
            _log.info("%s: SIGHUP: the workers will be replaced once they are all up", self.name)
            return
        self.rolling = True
        _log.info("%s: SIGHUP: replacing the workers one at a time", self.name)
        defer.ensureDeferred(self._roll()).addBoth(self._rolled)

    async def _roll(self) -> None:
        for slot in self.slots:
            if self.stopping:
                return
            new = slot.pending = self.spawn(slot)
            if not await new.ready:
                _log.error(
                    "%s: the replacement stops at worker %d: the new worker exited before it"
                    " was ready; the others go on",
                    self.name,
                    slot.index,
                )
                return
            if slot.pending is new:
                slot.pending = None
            if self.stopping:
                return
            old, slot.current = slot.current, new
            if slot.restart is not None:
                slot.restart.cancel()
                slot.restart = None
            if old is not None:
                _log.info("%s: %r replaces %r, which stops now", self.name, new, old)
                old.retired = True
                old.stop()

    def _rolled(self, result: Any) -> None:
        self.rolling = False
        if isinstance(result, Failure):
            _log.error("%s: the replacement failed: %s", self.name, result.getErrorMessage())
        elif not self.stopping:
            _log.info("%s: replacement done", self.name)
        if self.rollAgain and not self.stopping:
            self.rollAgain = False
            self.roll()

    # -------------------------------------------------------- stopping

    def signalHandlers(self) -> dict[int, Any]:
        def shutdown(number: int, frame: Any) -> None:
            self.reactor.callFromThread(self.onShutdownSignal, signal.Signals(number).name)

        def hangup(number: int, frame: Any) -> None:
            self.reactor.callFromThread(self.roll)

        return {signal.SIGINT: shutdown, signal.SIGTERM: shutdown, signal.SIGHUP: hangup}

    def onShutdownSignal(self, name: str) -> None:
        """Count SIGINT/SIGTERM as a single process does, and pass them on."""
        self.signals += 1
        if self.signals == 1:
            _log.info("Received %s, shutting down.", name)
            self.stop()
        elif self.signals == 2:
            _log.warning(
                "Received %s again while shutting down: ignored (a third one stops waiting).",
                name,
            )
        elif self.signals == 3:
            _log.warning(
                "Received %s a third time: the workers stop waiting for their connections.", name
            )
        if self.signals in (2, 3):
            for worker in list(self.workers):
                worker.stop()

    def stop(self) -> None:
        """Close the sockets, stop every worker gracefully, then stop the reactor."""
        if self.stopping:
            return
        self.stopping = True
        for slot in self.slots:
            if slot.restart is not None:
                slot.restart.cancel()
                slot.restart = None
        self.release()
        if not self.workers:
            self._stopped()
            return
        _log.info("%s: stopping %d worker(s)", self.name, len(self.workers))
        for worker in list(self.workers):
            worker.stop()
        self.deadline = self.reactor.callLater(self.grace + STOP_MARGIN, self._kill)

    def _kill(self) -> None:
        self.deadline = None
        for worker in list(self.workers):
            _log.warning(
                "%s %r still runs %gs after SIGTERM; killing it",
                self.name,
                worker,
                self.grace + STOP_MARGIN,
            )
            worker.kill()

    def _stopped(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        if self.reactor.running:
            self.reactor.stop()


def _isOpen(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def supervise(name: str, service: Service, options: argparse.Namespace) -> None:
    """Run ``service`` in ``options.workers`` processes until SIGINT/SIGTERM (see module)."""
    reactor = reactors.create(options.reactor)
    supervisor = None
    try:
        reactors.install(reactor)
        supervisor = _Supervisor(reactor, name, service, options)
        supervisor.listen()
        reactor.callWhenRunning(supervisor.start)
        with _signalsUntilExit(reactor, supervisor.signalHandlers()):
            reactor.run(installSignalHandlers=False)
        if supervisor.failure is not None:
            raise RunError(supervisor.failure)
    finally:
        if supervisor is not None:
            supervisor.release()
        if not reactor.running:
            reactor.close()
