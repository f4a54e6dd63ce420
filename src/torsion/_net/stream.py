"""The connected stream transport shared by TCP and UNIX sockets.

Theory of operation
-------------------
Reading: the transport is a reactor reader while it is not paused; each
readiness event does one ``recv(_readSize)`` and hands the bytes to the
protocol.  64 KiB by default: for plain streams a larger read measured no
better.  A TLS layer raises it to 256 KiB, which saves a decrypt-and-deliver
round per large message (TLS echo of 64 KiB: 85 -> 75 us of server CPU per
round trip).  ``b""``
is the peer's EOF: a half-closeable protocol (one with ``readConnectionLost``)
is told and may keep writing; any other protocol's connection is closed with
ConnectionDone.

Writing: ``write()`` sends at once when nothing is queued.  What the kernel
does not take is queued (without copying: a memoryview of the rest) and the
transport becomes a reactor writer; ``doWrite`` flushes the queue with one
``send`` (one chunk) or ``sendmsg`` (scatter-gather, no join).  The invariant:
``_buffered`` is the number of queued bytes, and the transport is a writer
whenever it is non-zero, or a close, a half-close, a pull producer or a write
error is pending.

A send error (EPIPE, ECONNRESET...) is never swallowed.  In ``doWrite`` it is
returned as the reason to close; in ``write()``'s direct send it is kept (as a
ConnectionLost that carries the errno, never the OSError and its traceback,
which would tie the connection into a reference cycle), the queue is dropped,
writes are refused from then on, reading stops (so the EOF that follows a
reset cannot be reported as a clean close), a streaming producer is paused,
and the next writability event, which a failed socket or pipe reports at
once, closes the connection with it: the producer then gets ``stopProducing``.
``_writesClosed`` is the one flag ``write()`` checks: set once writes can no
longer reach the peer (after a send error, ``abortConnection``, a completed
half-close, or the close).

Flow control: a streaming (push) producer is paused when more than
``bufferSize`` bytes are queued, or handed to one ``write`` (even if all
were sent at once: Twisted queues every write, so its producers see the
pause), and resumed once the queue is empty and the socket writable; a pull
producer is asked for more each time the queue empties.  ``pauseProducing``
and friends, called on the transport, stop and resume reading from the peer.

Closing: ``loseConnection`` stops reading and closes once the queue is empty
(and a pull producer has unregistered): peer and self see ConnectionDone.
``abortConnection`` drops the queue and closes with a reset on the next turn:
self sees ConnectionAborted, the peer ConnectionLost; what is written after
it is dropped, and a ``loseConnection`` after it changes nothing.  Either way
``connectionLost`` runs once, closes the socket, tells the protocol and then
lets go of it (the protocol keeps its ``transport``), so that no reference
cycle outlives the connection.
"""

from __future__ import annotations

import socket
from typing import Any

from torsion import _global, _log, error
from torsion._util import CONNECTION_DONE as _DONE
from torsion._util import SEQUENCE_NOT_BYTES, logPrefixOf, toBytes
from torsion.failure import Failure

__all__ = ["StreamConnection"]

_IOV_MAX = 1024
_RECV_SIZE = 65536
_LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # struct linger {l_onoff=1, l_linger=0}


def _lostReason(e: OSError) -> BaseException:
    """ConnectionLost for a failed send or receive, carrying a fresh ``OSError(errno, strerror)``.

    A fresh one, not ``e``: ``e.__traceback__`` holds the frame that caught it,
    hence the transport, and would keep it alive through a reference cycle.
    """
    return error.ConnectionLost(OSError(e.errno, e.strerror or str(e)))


class StreamConnection:
    """A connected socket, its protocol and its write queue."""

    __slots__ = (
        "__weakref__",
        "_aborting",
        "_buffer",
        "_buffered",
        "_direct",
        "_fd",
        "_readDisconnected",
        "_readSize",
        "_reading",
        "_recv",
        "_send",
        "_writeDisconnected",
        "_writeDisconnecting",
        "_writeError",
        "_writesClosed",
        "_writing",
        "bufferSize",
        "connected",
        "disconnected",
        "disconnecting",
        "producer",
        "producerPaused",
        "protocol",
        "reactor",
        "socket",
        "streamingProducer",
    )

    #: Whether this side connected out (rather than accepted): the TLS client.
    _connectedOut = False

    def __init__(self, sock: socket.socket, protocol: Any, reactor: Any = None) -> None:
        if reactor is None:  # Twisted's default: the global reactor
            reactor = _global.globalReactor()
        self.socket = sock
        self._fd = sock.fileno()
        self._recv = sock.recv
        self._readSize = _RECV_SIZE
        self._send = sock.send
        self.protocol = protocol
        self.reactor = reactor
        self._buffer: list[Any] = []
        self._buffered = 0
        # True when write() may send at once: connected, not half-closing, and
        # no pull producer (whose writes must go through the queue so that
        # doWrite asks it for more once they are sent).
        self._direct = False
        self._reading = False
        self._writing = False
        self._writeError: BaseException | None = None
        self._writesClosed = False
        #: Queued bytes above which a streaming producer is paused (settable).
        self.bufferSize = 65536
        self._aborting = False
        self._readDisconnected = False
        self._writeDisconnecting = False
        self._writeDisconnected = False
        self.connected = 0
        self.disconnected = 0
        self.disconnecting = 0
        self.producer: Any = None
        self.streamingProducer = False
        self.producerPaused = False

    def fileno(self) -> int:
        return self._fd

    def getHandle(self) -> socket.socket:
        """The socket itself (as Twisted's; use with care)."""
        return self.socket

    def getHost(self) -> Any:
        """The local address (provided per address family)."""
        raise NotImplementedError

    def getPeer(self) -> Any:
        """The remote address (provided per address family)."""
        raise NotImplementedError

    def logPrefix(self) -> str:
        return logPrefixOf(self.protocol)

    def _protocolName(self) -> str:
        """The protocol's class name, or ``closed`` once it has been let go."""
        protocol = self.protocol
        return "closed" if protocol is None else type(protocol).__name__

    def __repr__(self) -> str:
        name = self._protocolName()
        shown = name if self.protocol is None else f"protocol={name}"
        return f"<{type(self).__name__} fd={self._fd} {shown}>"

    # ------------------------------------------------------ registration

    def startReading(self) -> None:
        if not self._reading and not self.disconnected:
            self._reading = True
            self.reactor.addReader(self)

    def stopReading(self) -> None:
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)

    def startWriting(self) -> None:
        if not self._writing and not self.disconnected:
            self._writing = True
            self.reactor.addWriter(self)

    def stopWriting(self) -> None:
        if self._writing:
            self._writing = False
            self.reactor.removeWriter(self)

    # ------------------------------------------------------------ reading

    def doRead(self) -> BaseException | Failure | None:
        try:
            data = self._recv(self._readSize)
        except BlockingIOError:
            return None
        except OSError as e:
            return _lostReason(e)
        if data:
            self.protocol.dataReceived(data)
            return None
        return self._readEOF()

    def _readEOF(self) -> BaseException | Failure | None:
        readConnectionLost = getattr(self.protocol, "readConnectionLost", None)
        if readConnectionLost is None or self._writeDisconnected:
            return _DONE
        self._readDisconnected = True
        self.stopReading()
        readConnectionLost()
        return None

    # ------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        """Send ``data`` (bytes) to the peer, in order, after what is already queued."""
        if data.__class__ is not bytes:
            data = toBytes(data)
        if self._buffered or not self._direct:
            self._queue(data)
            return
        if not data:
            return
        try:
            sent = self._send(data)
        except BlockingIOError:
            sent = 0
        except OSError as e:
            self._sendFailed(e)
            return
        if sent != len(data):
            self._buffer.append(memoryview(data)[sent:] if sent else data)
            self._buffered = len(data) - sent
            self.startWriting()
            if self.producer is not None and self._buffered > self.bufferSize:
                self._pauseProducer()
        elif self.producer is not None and sent > self.bufferSize:
            # All sent, but more than bufferSize at once: pause a streaming
            # producer until the socket is next writable, as Twisted (which
            # queues every write until then) does.
            self._pauseProducer()
            if self.producerPaused:
                self.startWriting()

    def _queue(self, data: bytes) -> None:
        if self._writesClosed:
            return  # as in Twisted: writes after close (or abort) are ignored
        if not data:
            return
        self._buffer.append(data)
        self._buffered += len(data)
        self.startWriting()
        if self.producer is not None and self._buffered > self.bufferSize:
            self._pauseProducer()

    def _sendFailed(self, e: OSError) -> None:
        """A direct send failed: fail the connection on the next turn (see the module doc)."""
        self._writeError = _lostReason(e)
        self._closeForWrites()
        self._buffer.clear()
        self._buffered = 0
        self.stopReading()
        if self.producer is not None:
            self._pauseProducer()
        self.startWriting()

    def _closeForWrites(self) -> None:
        """From now on ``write()`` drops what it is given."""
        self._writesClosed = True
        self._direct = False

    def _updateDirect(self) -> None:
        """Allow direct sends again unless something must still go through the queue."""
        self._direct = bool(self.connected) and not (
            self._writesClosed
            or self._writeDisconnecting
            or (self.producer is not None and not self.streamingProducer)
        )

    def writeSequence(self, iovec: Any) -> None:
        """Write each bytes object of ``iovec`` in order."""
        chunks = list(iovec)
        for chunk in chunks:
            if chunk.__class__ is not bytes and not isinstance(chunk, (bytearray, memoryview)):
                raise TypeError(SEQUENCE_NOT_BYTES)
        if chunks:
            self.write(b"".join(chunks))

    def doWrite(self) -> BaseException | Failure | None:
        if self._writeError is not None:
            return self._writeError
        buf = self._buffer
        if buf:
            try:
                if len(buf) == 1:
                    sent = self._send(buf[0])
                else:
                    sent = self.socket.sendmsg(buf[:_IOV_MAX])
            except BlockingIOError:
                return None
            except OSError as e:
                return _lostReason(e)
            self._buffered -= sent
            while sent:
                first = buf[0]
                if sent >= len(first):
                    sent -= len(first)
                    del buf[0]
                else:
                    buf[0] = memoryview(first)[sent:]
                    break
            if buf:
                return None
        # The queue is empty.
        self.stopWriting()
        producer = self.producer
        if producer is not None and (not self.streamingProducer or self.producerPaused):
            self.producerPaused = False
            producer.resumeProducing()
        elif self.disconnecting:
            return self._postLoseConnection()
        elif self._writeDisconnecting:
            self._closeWriteConnection()
            if self._readDisconnected:
                return _DONE
        return None

    def _postLoseConnection(self) -> BaseException | Failure | None:
        return _DONE

    def _closeWriteConnection(self) -> None:
        self._writeDisconnecting = False
        self._writeDisconnected = True
        self._closeForWrites()
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        writeConnectionLost = getattr(self.protocol, "writeConnectionLost", None)
        if writeConnectionLost is not None:
            writeConnectionLost()

    def _pauseProducer(self) -> None:
        if self.streamingProducer and not self.producerPaused:
            self.producerPaused = True
            self.producer.pauseProducing()

    # ------------------------------------------------------- producers

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register a producer: streaming (push) if ``streaming`` is true, else pull."""
        if self.producer is not None:
            raise RuntimeError(
                f"cannot register producer {producer!r}: {self.producer!r} is still registered"
            )
        if self.disconnected:
            producer.stopProducing()
            return
        self.producer = producer
        self.streamingProducer = bool(streaming)
        self.producerPaused = False
        if not streaming:
            self._direct = False
            producer.resumeProducing()
            self.startWriting()
        elif self._buffered > self.bufferSize:
            self._pauseProducer()

    def stopConsuming(self) -> None:
        """Unregister the producer and close (as Twisted's transports do)."""
        self.unregisterProducer()
        self.loseConnection()

    def unregisterProducer(self) -> None:
        """Stop using the registered producer; a pending close may now proceed."""
        self.producer = None
        self.producerPaused = False
        self._updateDirect()
        if self.connected and (self.disconnecting or self._writeDisconnecting):
            self.startWriting()

    # The transport as a producer (of the bytes it reads from the peer).

    def pauseProducing(self) -> None:
        """Stop reading from the peer until ``resumeProducing``."""
        self.stopReading()

    def resumeProducing(self) -> None:
        """Read from the peer again."""
        if self.connected and not (
            self.disconnecting
            or self._readDisconnected
            or self._aborting
            or self._writeError is not None
        ):
            self.startReading()

    def stopProducing(self) -> None:
        """Close the connection (as ``loseConnection``)."""
        self.loseConnection()

    # ------------------------------------------------------------- TLS

    def startTLS(self, contextFactory: Any, normal: bool = True) -> None:
        """Upgrade this connection to TLS (STARTTLS): see ``torsion._tls.protocol.startTLS``.

        The side that connected out is the TLS client, unless ``normal`` is
        false.  Afterwards the protocol's ``transport`` is the TLS layer.
        """
        from torsion._tls.protocol import startTLS

        startTLS(self, contextFactory, self._connectedOut == bool(normal))

    # --------------------------------------------------------- closing

    def loseConnection(self, _connDone: Any = None) -> None:
        """Close once everything written so far has been sent."""
        if not self.connected or self.disconnecting or self.disconnected or self._aborting:
            return
        self.disconnecting = 1
        self.stopReading()
        if self._buffered or self.producer is not None or self._writeError is not None:
            self.startWriting()  # doWrite closes once the queue is empty
        else:
            # Nothing to flush: close on the next turn (as Twisted does) without
            # asking the poller for a writability event first.
            self.reactor.callLater(0, self._closeIfFlushed)

    def _closeIfFlushed(self) -> None:
        if self._buffered or self.producer is not None or self._writeError is not None:
            self.startWriting()  # written to since loseConnection: flush first
        else:
            self._closeNow(_DONE)

    def loseWriteConnection(self) -> None:
        """Half-close: send EOF once the queue is empty, keep reading."""
        if not self.connected or self.disconnected or self._writeDisconnected:
            return
        self._writeDisconnecting = True
        self._direct = False
        self.startWriting()

    def abortConnection(self) -> None:
        """Close now, dropping anything queued; the peer sees a reset."""
        if self.disconnected or self._aborting:
            return
        self._aborting = True
        self._closeForWrites()
        self.stopReading()
        self.stopWriting()
        self._buffer.clear()
        self._buffered = 0
        self.reactor.callLater(0, self._closeNow, Failure(error.ConnectionAborted()))

    def _closeNow(self, reason: Failure) -> None:
        if self.disconnected:
            return
        try:
            self.connectionLost(reason)
        except Exception as e:
            _log.log_failure(f"Error closing {self!r}:", e)

    def connectionLost(self, reason: Any) -> None:
        """Close the socket and tell the protocol (once)."""
        if self.disconnected:
            return
        if reason is None:
            reason = Failure(error.ConnectionLost())
        self.stopReading()
        self.stopWriting()
        self.disconnected = 1
        self.connected = 0
        self.disconnecting = 0
        self._closeForWrites()
        self._buffer.clear()
        self._buffered = 0
        self._closeSocket(orderly=not reason.check(error.ConnectionAborted))
        producer = self.producer
        if producer is not None:
            self.producer = None
            try:
                producer.stopProducing()
            except Exception as e:
                _log.log_failure(f"Error in stopProducing of {producer!r}:", e)
        self._notifyLost(reason)
        # Let go of the protocol once it is told, as Twisted does: it keeps its
        # ``transport``, but nothing points back, so a closed connection is
        # freed by reference counting alone.  (Not if connectionLost raised:
        # the error is logged with this transport's repr, which names it.)
        self.protocol = None

    def _notifyLost(self, reason: Failure) -> None:
        """Tell the protocol (and, for clients, the connector)."""
        protocol = self.protocol
        protocol.connectionLost(reason)

    def _closeSocket(self, orderly: bool) -> None:
        sock = self.socket
        self._fd = -1
        if not orderly:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            except OSError:
                pass
        try:
            sock.close()
        except OSError:
            pass

    # --------------------------------------------------- connection setup

    def _startProtocol(self) -> None:
        """Mark connected, start reading and give the protocol its transport.

        An exception in ``connectionMade`` is logged and drops this connection.
        """
        self.connected = 1
        self._direct = self.producer is None
        self.startReading()
        try:
            self.protocol.makeConnection(self)
        except Exception:
            failure = Failure()
            _log.log_failure(f"Unhandled error in connectionMade of {self.protocol!r}:", failure)
            self.stopReading()
            self.stopWriting()
            self._aborting = True
            self.reactor.callLater(0, self._closeNow, failure)
