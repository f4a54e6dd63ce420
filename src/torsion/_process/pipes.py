"""Pipe ends as reactor selectables, shared by child processes and StandardIO.

``PipeReader`` reads one descriptor and hands what it reads to its owner
(``owner.childDataReceived(name, data)``); ``PipeWriter`` is the stream
transport's write queue (``StreamConnection``: direct writes, queued flushes,
producers, close after flush) on a pipe instead of a socket.  Either tells its
owner once, when it is closed for whatever reason, with
``owner.childConnectionLost(name, reason)``.

A writer can also notice that the reader at the other end went away: on
Linux, a pipe's write end polls as an error once the last reader has closed it,
and every backend reports that as readability, so a writer that "reads" is
told of the close (``readHack``) even if nothing is ever written.

epoll cannot watch regular files and some devices (``/dev/null``): adding them
fails with EPERM.  Such a descriptor is always ready, so it is driven by a
``callLater(0)`` tick instead (``_Ticker``), the way select and poll would
report it.  Only StandardIO meets these (stdin or stdout redirected to a file).
"""

from __future__ import annotations

import errno
import os
import select
from functools import partial
from typing import Any

from torsion import _log, error
from torsion._net.stream import StreamConnection
from torsion.failure import Failure

__all__ = ["EMPTY", "PipeReader", "PipeWriter", "readInto"]

_READ_SIZE = 65536


def _READER_GONE() -> BaseException:
    return error.ConnectionLost("the reading end of the pipe was closed")


class _FDHandle:
    """What StreamConnection calls on its socket, done on a plain descriptor."""

    __slots__ = ("fd", "owned")

    def __init__(self, fd: int, owned: bool) -> None:
        self.fd = fd
        self.owned = owned

    def fileno(self) -> int:
        return self.fd

    def recv(self, size: int) -> bytes:
        return os.read(self.fd, size)

    def send(self, data: Any) -> int:
        return os.write(self.fd, data)

    def sendmsg(self, buffers: Any) -> int:
        return os.writev(self.fd, buffers)

    def shutdown(self, how: int) -> None:
        """Pipes have no half-close: the write end is closed with the transport."""

    def setsockopt(self, *args: Any) -> None:
        """Nothing to set on a pipe."""

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd < 0:
            return
        if self.owned:
            os.close(fd)
        else:
            # Borrowed (StandardIO's 0 and 1): give it back as we found it, so
            # the shell sharing a terminal does not inherit non-blocking mode.
            try:
                os.set_blocking(fd, True)
            except OSError:
                pass


class _Ticker:
    """Readiness for a descriptor epoll refuses: it is always ready, so poll it each turn."""

    __slots__ = ("_call", "reactor", "reading", "selectable", "writing")

    def __init__(self, reactor: Any, selectable: Any) -> None:
        self.reactor = reactor
        self.selectable = selectable
        self.reading = False
        self.writing = False
        self._call: Any = None

    def update(self) -> None:
        if self.reading or self.writing:
            if self._call is None:
                self._call = self.reactor.callLater(0, self._tick)
        elif self._call is not None:
            self._call.cancel()
            self._call = None

    def _tick(self) -> None:
        self._call = None
        s = self.selectable
        for wanted, method in ((self.reading, "doRead"), (self.writing, "doWrite")):
            if not wanted:
                continue
            try:
                why = getattr(s, method)()
            except Exception as e:
                _log.log_failure(f"Unhandled error in {method} of {s!r}:", e)
                why = e
            if why is not None:
                self.reading = self.writing = False
                reason = why if isinstance(why, Failure) else Failure(why)
                try:
                    s.connectionLost(reason)
                except Exception as e:
                    _log.log_failure(f"Error in connectionLost of {s!r}:", e)
                return
        self.update()


def _watch(reactor: Any, selectable: Any, reading: bool) -> _Ticker | None:
    """Add ``selectable`` as a reader or writer; a _Ticker if epoll refuses it."""
    add = reactor.addReader if reading else reactor.addWriter
    try:
        add(selectable)
    except PermissionError:
        # The reactor recorded it before the backend refused: undo that.
        (reactor.removeReader if reading else reactor.removeWriter)(selectable)
        return _Ticker(reactor, selectable)
    return None


#: What ``readInto`` returns when there was nothing to read.
EMPTY = object()


def readInto(fd: int, owner: Any, name: Any) -> Any:
    """One read from ``fd`` for ``owner``: None after data, EMPTY, or a reason to close."""
    try:
        data = os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return EMPTY
    except OSError as e:
        if e.errno == errno.EIO:
            # A pty master once every slave descriptor is closed: EOF.
            return error.ConnectionDone()
        return error.ConnectionLost(str(e))
    if not data:
        return error.ConnectionDone()
    owner.childDataReceived(name, data)
    return None


class PipeReader:
    """The parent's reading end of a pipe: data and EOF go to the owner."""

    __slots__ = (
        "_closing",
        "_fd",
        "_handle",
        "_reading",
        "_ticker",
        "disconnected",
        "name",
        "owner",
        "reactor",
    )

    def __init__(self, reactor: Any, owner: Any, name: Any, fd: int, owned: bool = True) -> None:
        os.set_blocking(fd, False)
        self.reactor = reactor
        self.owner = owner
        self.name = name
        self._fd = fd
        self._handle = _FDHandle(fd, owned)
        self._reading = False
        self._ticker: _Ticker | None = None
        self._closing: Any = None
        self.disconnected = False

    def __repr__(self) -> str:
        return f"<PipeReader fd={self._fd} name={self.name!r}>"

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return f"PipeReader({self.name!r})"

    def startReading(self) -> None:
        if self._reading or self.disconnected:
            return
        self._reading = True
        if self._ticker is None:
            self._ticker = _watch(self.reactor, self, True)
            if self._ticker is None:
                return
        self._ticker.reading = True
        self._ticker.update()

    def stopReading(self) -> None:
        if not self._reading:
            return
        self._reading = False
        if self._ticker is not None:
            self._ticker.reading = False
            self._ticker.update()
        else:
            self.reactor.removeReader(self)

    pauseProducing = stopReading
    resumeProducing = startReading

    def doRead(self) -> BaseException | Failure | None:
        why = readInto(self._fd, self.owner, self.name)
        return None if why is EMPTY else why

    def drain(self, limit: int = 16) -> Any:
        """Read what is ready now (the writer has exited); a reason to close, or None."""
        if not self._reading:
            return None
        for _ in range(limit):
            try:
                why = readInto(self._fd, self.owner, self.name)
            except Exception as e:
                _log.log_failure(f"Unhandled error in doRead of {self!r}:", e)
                return e
            if why is EMPTY:
                return None
            if why is not None:
                return why
        return None

    def doWrite(self) -> None:  # pragma: no cover - never a writer
        pass

    def loseConnection(self) -> None:
        """Stop reading and close on the next turn of the loop."""
        if self.disconnected or self._closing is not None:
            return
        self.stopReading()
        self._closing = self.reactor.callLater(
            0, self.connectionLost, Failure(error.ConnectionDone())
        )

    def connectionLost(self, reason: Any) -> None:
        if self.disconnected:
            return
        if reason is None:
            reason = Failure(error.ConnectionLost())
        if self._closing is not None:
            if self._closing.active():
                self._closing.cancel()
            self._closing = None
        self.stopReading()
        self.disconnected = True
        self._fd = -1
        try:
            self._handle.close()
        except OSError:
            pass
        self.owner.childConnectionLost(self.name, reason)


class PipeWriter(StreamConnection):
    """The parent's writing end of a pipe, with the stream transport's write queue.

    ``readHack``: also watch for readability, which on a write-only pipe means
    the reader has gone away (see the module docs).
    """

    __slots__ = ("_readHack", "_ticker", "name", "owner")

    def __init__(
        self,
        reactor: Any,
        owner: Any,
        name: Any,
        fd: int,
        owned: bool = True,
        readHack: bool = True,
    ) -> None:
        os.set_blocking(fd, False)
        super().__init__(_FDHandle(fd, owned), owner, reactor)  # type: ignore[arg-type]
        self._send = partial(os.write, fd)
        self._recv = partial(os.read, fd)
        self.owner = owner
        self.name = name
        self._readHack = readHack
        self._ticker: _Ticker | None = None
        self.connected = 1
        self._direct = True
        if readHack:
            self.startReading()

    def __repr__(self) -> str:
        return f"<PipeWriter fd={self._fd} name={self.name!r}>"

    def logPrefix(self) -> str:
        return f"PipeWriter({self.name!r})"

    def _watchOrTick(self, reading: bool, on: bool) -> bool:
        """Route a readiness change to the ticker if there is one; True if it took it."""
        ticker = self._ticker
        if ticker is None:
            if not on:
                return False
            ticker = self._ticker = _watch(self.reactor, self, reading)
            if ticker is None:
                return True
        if reading:
            ticker.reading = on
        else:
            ticker.writing = on
        ticker.update()
        return True

    def startReading(self) -> None:
        if not self._reading and not self.disconnected:
            self._reading = True
            self._watchOrTick(True, True)

    def stopReading(self) -> None:
        if self._reading:
            self._reading = False
            if not self._watchOrTick(True, False):
                self.reactor.removeReader(self)

    def startWriting(self) -> None:
        if not self._writing and not self.disconnected:
            self._writing = True
            self._watchOrTick(False, True)

    def stopWriting(self) -> None:
        if self._writing:
            self._writing = False
            if not self._watchOrTick(False, False):
                self.reactor.removeWriter(self)

    def doRead(self) -> BaseException | Failure | None:
        if self._readHack:
            return _READER_GONE()
        self.stopReading()
        return None

    def readerGone(self) -> Any:
        """A reason to close if the reading end has been closed, else None (does not block)."""
        if self.disconnected or self._fd < 0:
            return None
        p = select.poll()
        p.register(self._fd, 0)
        return _READER_GONE() if p.poll(0) else None

    # The transport as a producer of the data it reads: a writer reads nothing.
    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def _notifyLost(self, reason: Failure) -> None:
        self.owner.childConnectionLost(self.name, reason)
