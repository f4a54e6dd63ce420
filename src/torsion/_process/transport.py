"""Child processes: ``reactor.spawnProcess`` and its transports (Twisted's ``process``).

Theory of operation
-------------------
A ``Process`` owns one pipe per child descriptor that ``childFDs`` marks
``"r"`` (the parent reads: a ``PipeReader``) or ``"w"`` (the parent writes: a
``PipeWriter``, whose write queue and producer support are the stream
transport's), and an exit watcher (a pidfd reader, see ``_process_reap``).
The default ``childFDs`` is ``{0: "w", 1: "r", 2: "r"}``.

Events, and what the protocol is told:

* data on a reading pipe -> ``childDataReceived(fd, data)``, which
  ``ProcessProtocol`` turns into ``outReceived`` (1) / ``errReceived`` (2);
* a pipe closes -> ``childConnectionLost(fd)`` (then ``inConnectionLost``,
  ``outConnectionLost`` or ``errConnectionLost``), once per pipe, whatever
  closed it: EOF, the child closing its stdin, ``closeChildFD`` and friends,
  a write error, or the reactor shutting down;
* the child exits and is reaped -> ``processExited(reason)``;
* once the child has exited *and* every pipe is closed (so all its output has
  been delivered) -> ``processEnded(reason)``, exactly once.

``reason`` is ``ProcessDone`` for exit status 0, else ``ProcessTerminated``
with ``exitCode`` (a normal exit) or ``signal`` (killed by a signal).  The
relative order of the pipe events and of ``processExited`` depends on the
timing of the child, as in Twisted; ``processEnded`` is always last.  A pipe
the child shares with its own children stays open until they close it too,
and ``processEnded`` waits for it.

An exception raised by a protocol callback is logged; one raised while data is
delivered closes that pipe (as a raising ``dataReceived`` drops a connection).

With ``usePTY`` the child's 0, 1 and 2 are a new pseudo-terminal (its
controlling terminal, in a new session) and the transport is a ``PTYProcess``:
one read-write descriptor, output arriving as ``childDataReceived(1, ...)``.

At reactor shutdown every pipe is closed; a child that has exited is reaped
and reported, one still running is left running (see ``_process_reap``).
"""

from __future__ import annotations

import os
import signal as _signal
from typing import Any

from torsion import _log, error
from torsion._process import reap as _process_reap
from torsion._process.addresses import ProcessAddress
from torsion._process.pipes import EMPTY, PipeReader, PipeWriter, readInto
from torsion._process.spawn import checkSpawnArgs, spawn
from torsion.failure import Failure

__all__ = ["PTYProcess", "Process", "spawnProcess"]

_DEFAULT_CHILD_FDS: dict[int, Any] = {0: "w", 1: "r", 2: "r"}


def _reason(status: int | None) -> BaseException:
    if status is None:
        return error.ProcessTerminated(None, None, None)
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code == 0:
            return error.ProcessDone(status)
        return error.ProcessTerminated(code, None, status)
    return error.ProcessTerminated(None, os.WTERMSIG(status), status)


def _signalNumber(signalID: Any) -> int:
    if isinstance(signalID, str):
        name = signalID.upper()
        number = getattr(_signal, name if name.startswith("SIG") else "SIG" + name, None)
        if not isinstance(number, int) or name.startswith("SIG_"):
            raise ValueError(f"unknown signal name {signalID!r} (use e.g. 'TERM', 'KILL', 'INT')")
        return int(number)
    if isinstance(signalID, bool) or not isinstance(signalID, int):
        raise TypeError(f"signalID must be a signal name or number, not {signalID!r}")
    return int(signalID)


class _BaseProcess:
    """What both process transports share: the exit watcher and the endgame."""

    pid: int | None = None
    status: int | None = -1
    proto: Any = None

    def __init__(self, reactor: Any, proto: Any) -> None:
        self.reactor = reactor
        self.proto = proto
        self.lostProcess = 0
        self._watcher: _process_reap.PidfdWatcher | None = None
        self._exitStatus: int | None = None
        self._hasExited = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} status={self.status}>"

    def _watch(self, pid: int) -> None:
        self.pid = pid
        if _process_reap.HAVE_PIDFD:
            try:
                self._watcher = _process_reap.PidfdWatcher(self.reactor, self, pid)
            except ProcessLookupError:
                # Reaped already by someone else's waitpid(-1): nothing to watch.
                self.reactor.callLater(0, self._exited, _process_reap.UNKNOWN_STATUS)
                return
            except OSError:
                self._watcher = None  # out of descriptors: fall back below
            else:
                self._watcher.start()
                return
        _process_reap.SigchldWatcher.forReactor(self.reactor).add(pid, self)

    # -- signals -------------------------------------------------------------

    def signalProcess(self, signalID: Any) -> None:
        """Send a signal (``'TERM'``, ``'KILL'``, ``'INT'``, ``'HUP'``... or a number)."""
        signum = _signalNumber(signalID)
        if self.pid is None or self._hasExited:
            raise error.ProcessExitedAlready()
        try:
            if self._watcher is not None:
                self._watcher.sendSignal(signum)
                return
            with _process_reap.reapLock:
                # Abandoned at shutdown, a child is reaped by another thread.
                if self.pid is None:
                    raise error.ProcessExitedAlready()
                os.kill(self.pid, signum)
        except ProcessLookupError:
            raise error.ProcessExitedAlready()

    # -- the endgame ----------------------------------------------------------

    def _exited(self, status: int | None) -> None:
        """The child has exited and been reaped (called by the watcher)."""
        if self._hasExited:
            return
        self._watcher = None
        # Not yet marked exited: the pipes this closes cannot end the process.
        self._drain()
        self._hasExited = True
        self.status = status
        self._exitStatus = status
        self.lostProcess += 1
        self.pid = None
        proto = self.proto
        if proto is not None:
            try:
                proto.processExited(Failure(_reason(status)))
            except Exception as e:
                _log.log_failure(f"Error in processExited of {proto!r}:", e)
        self.maybeCallProcessEnded()

    def _drain(self) -> None:
        """Deliver the output that is already there before saying the child exited."""

    def _abandoned(self) -> None:
        """The reactor shut down with the child still running: it is no longer ours."""
        self._watcher = None

    def _allClosed(self) -> bool:
        raise NotImplementedError

    def maybeCallProcessEnded(self) -> None:
        """Call ``processEnded`` once the child has exited and every pipe is closed."""
        if not self._hasExited or not self._allClosed():
            return
        proto, self.proto = self.proto, None
        if proto is None:
            return
        try:
            proto.processEnded(Failure(_reason(self._exitStatus)))
        except Exception as e:
            _log.log_failure(f"Error in processEnded of {proto!r}:", e)

    def getHost(self) -> Any:
        return ProcessAddress()

    getPeer = getHost


class Process(_BaseProcess):
    """A child process with a pipe per descriptor named in ``childFDs``."""

    def __init__(
        self,
        reactor: Any,
        executable: Any,
        args: Any,
        environment: Any,
        path: Any,
        proto: Any,
        uid: int | None = None,
        gid: int | None = None,
        childFDs: dict[int, Any] | None = None,
    ) -> None:
        super().__init__(reactor, proto)
        exe, argv, env, cwd = checkSpawnArgs(executable, args, environment, path, uid, gid)
        if childFDs is None:
            childFDs = _DEFAULT_CHILD_FDS
        layout = _checkChildFDs(childFDs)
        if proto is None and any(kind in ("r", "w") for kind in layout.values()):
            raise ValueError("a process with pipes ('r' or 'w' in childFDs) needs a protocol")
        self.pipes: dict[int, PipeReader | PipeWriter] = {}
        fdmap: dict[int, int] = {}
        ours: dict[int, tuple[str, int]] = {}
        opened: list[int] = []
        try:
            for childFD, kind in layout.items():
                if kind == "r":
                    r, w = os.pipe()
                    opened += (r, w)
                    fdmap[childFD], ours[childFD] = w, ("r", r)
                elif kind == "w":
                    r, w = os.pipe()
                    opened += (r, w)
                    fdmap[childFD], ours[childFD] = r, ("w", w)
                else:
                    fdmap[childFD] = kind
            pid = spawn(exe, argv, env, cwd, uid, gid, fdmap)
        except BaseException:
            for fd in opened:
                os.close(fd)
            raise
        for childFD in ours:
            os.close(fdmap[childFD])
        for childFD, (kind, parentFD) in ours.items():
            if kind == "r":
                reader = PipeReader(reactor, self, childFD, parentFD)
                self.pipes[childFD] = reader
                reader.startReading()
            else:
                self.pipes[childFD] = PipeWriter(reactor, self, childFD, parentFD)
        self._watch(pid)
        if proto is not None:
            try:
                proto.makeConnection(self)
            except Exception as e:
                _log.log_failure(f"Error in connectionMade of {proto!r}:", e)

    # -- from the pipes -------------------------------------------------------

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.proto.childDataReceived(childFD, data)

    def childConnectionLost(self, childFD: int, reason: Failure) -> None:
        self.pipes.pop(childFD, None)
        proto = self.proto
        if proto is not None:
            try:
                proto.childConnectionLost(childFD)
            except Exception as e:
                _log.log_failure(f"Error in childConnectionLost of {proto!r}:", e)
        self.maybeCallProcessEnded()

    def _allClosed(self) -> bool:
        return not self.pipes

    def _drain(self) -> None:
        # The child is gone, so its pipes hold all it wrote (unless it left
        # children sharing them): read them now and close those at EOF, so
        # that the protocol sees the output, then the pipes close, then the
        # exit, whatever order the backend reported the descriptors in.
        closing: list[tuple[PipeReader | PipeWriter, Any]] = []
        for _, pipe in sorted(self.pipes.items()):
            why = pipe.drain() if isinstance(pipe, PipeReader) else pipe.readerGone()
            if why is not None:
                closing.append((pipe, why))
        for pipe, why in closing:
            pipe.connectionLost(why if isinstance(why, Failure) else Failure(why))

    # -- writing --------------------------------------------------------------

    def _writer(self, childFD: int) -> PipeWriter | None:
        pipe = self.pipes.get(childFD)
        return pipe if isinstance(pipe, PipeWriter) else None

    def write(self, data: bytes) -> None:
        """Write to the child's stdin (dropped if stdin is closed or not a pipe)."""
        if data.__class__ is not bytes and not isinstance(data, (bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}: {data!r:.60}")
        w = self._writer(0)
        if w is not None:
            w.write(data)

    def writeSequence(self, seq: Any) -> None:
        """Write each bytes object of ``seq`` to the child's stdin."""
        w = self._writer(0)
        if w is not None:
            w.writeSequence(seq)

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """Write to the child's descriptor ``childFD`` (a ``"w"`` entry of childFDs)."""
        pipe = self.pipes.get(childFD)
        if pipe is None:
            raise KeyError(f"child descriptor {childFD} has no open pipe to write to")
        if not isinstance(pipe, PipeWriter):
            raise ValueError(f"child descriptor {childFD} is a pipe the parent reads from")
        pipe.write(data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register a producer for the child's stdin (stopped at once if there is none)."""
        w = self._writer(0)
        if w is None:
            producer.stopProducing()
        else:
            w.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        w = self._writer(0)
        if w is not None:
            w.unregisterProducer()

    # -- closing --------------------------------------------------------------

    def closeChildFD(self, childFD: int) -> None:
        """Close our end of the pipe for ``childFD`` (writers flush first)."""
        pipe = self.pipes.get(childFD)
        if pipe is not None:
            pipe.loseConnection()

    def closeStdin(self) -> None:
        self.closeChildFD(0)

    def closeStdout(self) -> None:
        self.closeChildFD(1)

    def closeStderr(self) -> None:
        self.closeChildFD(2)

    def loseConnection(self) -> None:
        """Close stdin (after what is queued), stderr and stdout."""
        self.closeStdin()
        self.closeStderr()
        self.closeStdout()

    # -- the process as a producer of its output ------------------------------

    def pauseProducing(self) -> None:
        for pipe in self.pipes.values():
            if isinstance(pipe, PipeReader):
                pipe.stopReading()

    def resumeProducing(self) -> None:
        for pipe in self.pipes.values():
            if isinstance(pipe, PipeReader):
                pipe.startReading()

    def stopProducing(self) -> None:
        self.loseConnection()


def _checkChildFDs(childFDs: Any) -> dict[int, Any]:
    if not isinstance(childFDs, dict):
        raise TypeError(f"childFDs must be a dict or None, not {type(childFDs).__name__}")
    for childFD, kind in childFDs.items():
        if isinstance(childFD, bool) or not isinstance(childFD, int) or childFD < 0:
            raise ValueError(f"childFDs keys must be descriptor numbers >= 0, not {childFD!r}")
        if kind in ("r", "w"):
            continue
        if isinstance(kind, bool) or not isinstance(kind, int):
            raise ValueError(
                f"childFDs[{childFD}] must be 'r', 'w' or a parent descriptor number, not {kind!r}"
            )
        try:
            os.fstat(kind)
        except OSError as e:
            raise OSError(
                e.errno, f"childFDs[{childFD}]: parent descriptor {kind} is not open"
            ) from None
    return childFDs


class _PTYConnection(PipeWriter):
    """The pty master: the writer's queue, and reads reported as child fd 1."""

    __slots__ = ()

    def doRead(self) -> BaseException | Failure | None:
        why = readInto(self._fd, self.owner, self.name)
        return None if why is EMPTY else why


class PTYProcess(_BaseProcess):
    """A child process whose 0, 1 and 2 are a new pseudo-terminal."""

    def __init__(
        self,
        reactor: Any,
        executable: Any,
        args: Any,
        environment: Any,
        path: Any,
        proto: Any,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: Any = True,
    ) -> None:
        super().__init__(reactor, proto)
        exe, argv, env, cwd = checkSpawnArgs(executable, args, environment, path, uid, gid)
        if isinstance(usePTY, (tuple, list)):
            master, slave, _ = usePTY
            ownPty = False
        else:
            master, slave = os.openpty()
            ownPty = True
        try:
            pid = spawn(exe, argv, env, cwd, uid, gid, {}, tty=os.fsencode(os.ttyname(slave)))
        except BaseException:
            if ownPty:
                os.close(master)
                os.close(slave)
            raise
        os.close(slave)
        self._pty = _PTYConnection(reactor, self, 1, master, readHack=False)
        self._pty.startReading()
        self.fd = master
        self._watch(pid)
        try:
            proto.makeConnection(self)
        except Exception as e:
            _log.log_failure(f"Error in connectionMade of {proto!r}:", e)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.proto.childDataReceived(1, data)

    def childConnectionLost(self, childFD: int, reason: Failure) -> None:
        # Twisted's PTYProcess does not report the pty's close per descriptor.
        self.lostProcess += 1
        self.maybeCallProcessEnded()

    def _allClosed(self) -> bool:
        return bool(self._pty.disconnected)

    def fileno(self) -> int:
        return self._pty.fileno()

    def write(self, data: bytes) -> None:
        self._pty.write(data)

    def writeSequence(self, seq: Any) -> None:
        self._pty.writeSequence(seq)

    def writeToChild(self, childFD: int, data: bytes) -> None:
        raise NotImplementedError("a pty process has a single terminal: use write()")

    def closeChildFD(self, childFD: int) -> None:
        raise NotImplementedError("a pty process has a single terminal: use loseConnection()")

    def closeStdin(self) -> None:
        """A terminal has no separate stdin to close (as in Twisted): no-op."""

    closeStdout = closeStdin
    closeStderr = closeStdin

    def loseConnection(self) -> None:
        """Close the pty master once what is queued has been written."""
        self._pty.loseConnection()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._pty.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self._pty.unregisterProducer()

    def pauseProducing(self) -> None:
        self._pty.stopReading()

    def resumeProducing(self) -> None:
        if not self._pty.disconnected:
            self._pty.startReading()

    def stopProducing(self) -> None:
        self.loseConnection()


def spawnProcess(
    reactor: Any,
    processProtocol: Any,
    executable: Any,
    args: Any,
    env: Any,
    path: Any,
    uid: int | None,
    gid: int | None,
    usePTY: Any,
    childFDs: dict[int, Any] | None,
) -> Process | PTYProcess:
    """Start ``executable`` with ``args`` (argv, program name first); see the module docs.

    ``env`` is the child's whole environment (``{}``: empty, ``None``: this
    process's).  Bad arguments and a missing executable raise here.
    """
    if usePTY:
        if childFDs is not None:
            raise ValueError("childFDs cannot be used with usePTY: the pty is the child's 0, 1, 2")
        if processProtocol is None:
            raise ValueError("a pty process needs a protocol")
        return PTYProcess(reactor, executable, args, env, path, processProtocol, uid, gid, usePTY)
    return Process(reactor, executable, args, env, path, processProtocol, uid, gid, childFDs)
