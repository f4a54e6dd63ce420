"""asyncio stream transports over torsion's ``StreamConnection`` (composition).

Theory of operation
-------------------
``StreamTransport`` is an ``asyncio.Transport`` (with asyncio's flow-control
mixin) that owns no socket code: it is the *protocol* of a torsion stream
connection, and the asyncio protocol's transport::

    torsion StreamConnection      socket, recv, write queue, close, half-close
        .protocol = StreamTransport
    StreamTransport               asyncio's names on top of the stream
        ._protocol = the asyncio protocol

Reading costs no Python frame of ours: the stream calls ``dataReceived``, an
instance slot holding a C partial that runs the asyncio protocol's own bound
``data_received`` in the transport's context (a ``BufferedProtocol`` gets a
copy into its ``get_buffer()``).  ``write()``
passes the bytes to the stream's ``write``, which sends at once when nothing
is queued.  EOF from the peer is the stream's half-close
(``readConnectionLost``): ``eof_received()`` decides whether to keep the
connection open.

Flow control: the transport registers itself with the stream as a streaming
producer.  The stream calls ``pauseProducing`` once more than the high-water
mark is queued (its ``bufferSize`` is set from the limits) and
``resumeProducing`` when the queue is empty; these call the asyncio
protocol's ``pause_writing``/``resume_writing`` (low-water mark: resumed once
the queue has drained entirely).

Closing: ``close()`` unregisters the producer and asks the stream to close
once its queue is empty; ``abort()`` drops the queue.  The stream's
``connectionLost`` becomes ``connection_lost(None)`` for a clean or aborted
close, else the error (an ``OSError`` for a reset, as asyncio gives), from a
callback of its own on the next turn, as asyncio calls it.

Context: each transport holds a copy of the context it was made in (a
server's connections: a copy of the context serving started in, in which the
protocol factory runs too).  The protocol's callbacks from the loop
(``data_received``, ``eof_received``, ``resume_writing``, ``connection_lost``)
run in it, ``connection_made`` in a copy of it; so context variables set by
the code that created the connection are seen there and what a callback sets
stays with its connection, as with asyncio's transports.  ``pause_writing``
runs in the context of the ``write()`` that crossed the high-water mark, as in
asyncio.  These calls all come from the loop's turn, never from inside one
another, so the context is never entered twice.
"""

from __future__ import annotations

import socket
from asyncio import BufferedProtocol, constants, futures, transports, trsock
from contextvars import Context, copy_context
from functools import partial
from typing import Any

from torsion import error
from torsion._net.listen import AcceptedConnection, ListeningPort
from torsion._net.stream import StreamConnection
from torsion.failure import Failure

__all__ = ["AcceptedStream", "ServingPort", "StreamTransport", "TransportStream", "noNagle"]

#: How ``abort()`` ends the stream: closed plainly, reported as connection_lost(None).
_ABORTED = Failure(error.ConnectionDone("aborted"))


def _lostError(value: BaseException) -> BaseException:
    """An OSError like asyncio's for torsion's ConnectionLost.

    A failed send or receive is reported as ``ConnectionLost(OSError(errno, text))``:
    re-raised as a plain ``OSError(errno, text)``, it becomes ConnectionResetError,
    BrokenPipeError... as asyncio's own transports report it.
    """
    cause = value.args[0] if value.args else None
    if isinstance(cause, OSError) and cause.errno is not None:
        return OSError(cause.errno, cause.strerror)
    return ConnectionError(str(value))


def noNagle(sock: socket.socket) -> None:
    """Turn Nagle's algorithm off on a TCP socket (asyncio's transports all do)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _checkBytes(data: Any) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")


class TransportStream(StreamConnection):
    """A connected stream under a StreamTransport (its pause threshold is per connection)."""

    __slots__ = ("bufferSize",)


class AcceptedStream(AcceptedConnection):
    """An accepted stream under a StreamTransport."""

    __slots__ = ("bufferSize",)


class StreamTransport(transports._FlowControlMixin):
    """An ``asyncio.Transport`` over a torsion stream (see the module docstring)."""

    # asyncio's _FlowControlMixin state and helpers (untyped there).
    _loop: Any
    _extra: dict[str, Any]
    _high_water: int
    _maybe_pause_protocol: Any
    _maybe_resume_protocol: Any
    _protocol_paused: bool
    _set_write_buffer_limits: Any
    _protocol: Any
    dataReceived: Any

    # ``__dict__``: tests patch a transport's methods (``mock.patch.object(
    # transport, "write")``, as aiohttp's do), and libraries hang their own
    # attributes on it, as on asyncio's transports.  Created on first use.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_aborted",
        "_closeRequested",
        "_closing",
        "_connLost",
        "_context",
        "_emptyWaiter",
        "_eof",
        "_fatal",
        "_protocol",
        "_reading",
        "_server",
        "_stream",
        "_writeBlocked",
        "dataReceived",
    )

    _start_tls_compatible = True
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE

    def __init__(
        self,
        loop: Any,
        protocol: Any,
        extra: dict[str, Any] | None = None,
        server: Any = None,
        context: Context | None = None,
    ) -> None:
        super().__init__(extra, loop)
        # The protocol's callbacks run in this context (see the module docstring).
        self._context = copy_context() if context is None else context
        self._stream: Any = None
        self._closing = False
        self._closeRequested = False  # close() was called (not an EOF's own close)
        self._eof = False
        self._connLost = 0
        self._aborted = False
        self._writeBlocked = False  # write() takes the slow path (see _writeRefused)
        self._emptyWaiter: Any = None
        self._reading = True
        self._fatal: BaseException | None = None
        self._server = server
        self.set_protocol(protocol)
        if server is not None:
            server._attach()

    def __repr__(self) -> str:
        state = "closing" if self._closing else "open"
        stream = self._stream
        fd = stream.fileno() if stream is not None else -1
        return f"<StreamTransport fd={fd} {state}>"

    # -------------------------------------------- the torsion protocol side

    def makeConnection(self, stream: Any) -> None:
        """The stream is connected: set up, then ``connection_made``."""
        self._stream = stream
        sock = stream.socket
        self._loop._transports[stream.fileno()] = self
        extra = self._extra
        extra["socket"] = trsock.TransportSocket(sock)
        try:
            extra["sockname"] = sock.getsockname()
        except OSError:
            extra["sockname"] = None
        if "peername" not in extra:
            try:
                extra["peername"] = sock.getpeername()
            except OSError:
                extra["peername"] = None
        stream.bufferSize = self._high_water
        stream.registerProducer(self, True)
        protocol = self._protocol
        try:
            # In a copy: what connection_made sets is not seen by the later
            # callbacks (asyncio calls it from a handle of its own).
            self._context.copy().run(protocol.connection_made, self)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            # As asyncio's call_soon(connection_made) does: reported, and the
            # connection goes on (the protocol may still close it).
            self._loop.call_exception_handler(
                {
                    "message": f"Exception in callback {type(protocol).__qualname__}"
                    f".connection_made({self!r})",
                    "exception": exc,
                    "transport": self,
                    "protocol": protocol,
                }
            )
        if not self._reading:
            stream.pauseProducing()

    def _start(self, stream: Any, waiter: Any) -> None:
        """Start an outgoing (or adopted) connection's stream on the loop's next turn."""
        stream._startProtocol()
        if waiter is not None:
            futures._set_result_unless_cancelled(waiter, None)  # type: ignore[attr-defined]
        if self._closing and not stream.disconnected:
            stream.unregisterProducer()
            stream.loseConnection()

    def _bufferedReceived(self, data: bytes) -> None:
        protocol = self._protocol
        view = memoryview(data)
        while view:
            buf = protocol.get_buffer(len(view))
            n = min(len(buf), len(view))
            if not n:
                raise RuntimeError("get_buffer() returned an empty buffer")
            buf[:n] = view[:n]
            protocol.buffer_updated(n)
            view = view[n:]

    def readConnectionLost(self) -> None:
        """The peer sent EOF: keep the connection open only if ``eof_received()`` says so."""
        try:
            keepOpen = self._context.run(self._protocol.eof_received)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if not keepOpen:
            self._close()

    def connectionLost(self, reason: Any) -> None:
        self._closing = True
        self._connLost += 1
        self._writeBlocked = True
        waiter = self._emptyWaiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError("Connection is closed by peer"))
        exc = self._fatal
        if exc is None:
            value = reason.value if isinstance(reason, Failure) else reason
            if value is None or isinstance(value, (error.ConnectionDone, error.ConnectionAborted)):
                exc = None
            elif isinstance(value, error.ConnectionLost):
                exc = _lostError(value)
            else:
                exc = value
        server, self._server = self._server, None
        self.dataReceived = None
        if self._closeRequested:
            # close() or abort() was called: the stream closed on a later turn already.
            self._context.run(self._callConnectionLost, exc, server)
        else:
            # As asyncio's transports do, call connection_lost from a callback of
            # its own, never from inside the read that noticed the end: code that
            # stops the loop from connection_lost relies on that ordering.
            self._loop.call_soon(self._callConnectionLost, exc, server, context=self._context)

    def _callConnectionLost(self, exc: BaseException | None, server: Any) -> None:
        # The protocol of this moment (set_protocol may have replaced it since the
        # stream closed, as sendfile's fallback does); dropping it then breaks the
        # cycles through it (as asyncio does), so a closed connection's objects
        # (an SSL context ...) go without the GC.
        protocol, self._protocol = self._protocol, None
        try:
            protocol.connection_lost(exc)
        finally:
            if server is not None:
                server._detach()

    def logPrefix(self) -> str:
        return type(self._protocol).__name__

    # The transport as the stream's producer: flow control of our writes.

    def pauseProducing(self) -> None:
        self._maybe_pause_protocol()
        if not self._protocol_paused:
            # The stream also pauses its producer after one write larger than
            # its bufferSize that went out whole (Twisted's rule); asyncio pauses
            # only for what is queued.  Unpaused, the stream asks again the next
            # time its queue passes the mark (else it would never ask, nor
            # resume us, and the queue would grow unchecked).
            self._stream.producerPaused = False

    def resumeProducing(self) -> None:
        waiter = self._emptyWaiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._context.run(self._maybe_resume_protocol)  # may write more (after close() too)
        if self._closing or self._eof:
            # A close() or write_eof() that found the protocol paused left us
            # registered for this call (a stream's close and half-close wait
            # for a paused producer, as Twisted's do): what resume_writing
            # wrote is queued, and the close or the EOF follows it.
            stream = self._stream
            if stream is not None and stream.producer is self:
                stream.unregisterProducer()

    def stopProducing(self) -> None:
        pass

    # ------------------------------------------------ asyncio's Transport

    def get_protocol(self) -> Any:
        return self._protocol

    def set_protocol(self, protocol: Any) -> None:
        self._protocol = protocol
        # Called by the stream for each read: a C partial, so that running the
        # protocol in its context costs no Python frame of ours.
        run: Any = self._context.run
        if isinstance(protocol, BufferedProtocol):
            self.dataReceived = partial(run, self._bufferedReceived)
        else:
            self.dataReceived = partial(run, protocol.data_received)

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return self._reading and not self._closing

    def pause_reading(self) -> None:
        if self._closing or not self._reading:
            return
        self._reading = False
        if self._stream is not None:
            self._stream.pauseProducing()

    def resume_reading(self) -> None:
        if self._closing or self._reading:
            return
        self._reading = True
        if self._stream is not None:
            self._stream.resumeProducing()

    def get_write_buffer_size(self) -> int:
        stream = self._stream
        return stream._buffered if stream is not None else 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._set_write_buffer_limits(high=high, low=low)
        stream = self._stream
        if stream is not None:
            stream.bufferSize = self._high_water
            if stream.producer is self and stream._buffered > stream.bufferSize:
                # Through the stream, so that it resumes the protocol once its
                # queue is empty (after close() we are no longer its producer).
                stream._pauseProducer()

    def write(self, data: Any) -> None:
        """Send ``data`` (bytes-like), after anything already queued."""
        if self._writeBlocked:
            self._writeRefused(data)
            return
        stream = self._stream
        try:
            stream.write(data)
        except TypeError:
            _checkBytes(data)  # asyncio's message for a wrong type
            raise
        if stream._writeError is not None:
            # Gone (a reset, a broken pipe): closing now, connection_lost
            # follows, as with asyncio's transports.
            self._closing = self._writeBlocked = True
            if self._fatal is None:
                self._fatal = _lostError(stream._writeError)

    def _writeRefused(self, data: Any) -> None:
        _checkBytes(data)
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._emptyWaiter is not None:
            raise RuntimeError("unable to write; sendfile is in progress")
        if self._stream is None:
            raise RuntimeError("the transport is not connected yet")
        if data:
            self._connLost += 1

    def _make_empty_waiter(self) -> Any:
        """A Future that is done once the stream's write queue is empty (for sendfile)."""
        if self._emptyWaiter is not None:
            raise RuntimeError("Empty waiter is already set")
        waiter = self._emptyWaiter = self._loop.create_future()
        self._writeBlocked = True
        stream = self._stream
        if stream is None or not stream._buffered:
            waiter.set_result(None)
        else:
            stream.producerPaused = True  # the stream resumes us once its queue is empty
        return waiter

    def _reset_empty_waiter(self) -> None:
        self._emptyWaiter = None
        self._writeBlocked = bool(self._connLost or self._eof)

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self._closing or self._eof:
            return
        self._eof = self._writeBlocked = True
        self._stream.loseWriteConnection()

    def close(self) -> None:
        """Close once everything written has been sent; then ``connection_lost(None)``."""
        if self._closing:
            return
        self._closeRequested = True
        self._close()

    def _close(self) -> None:
        if self._closing:
            return
        self._closing = True
        stream = self._stream
        if stream is not None and not stream.disconnected:
            if not stream.producerPaused:
                stream.unregisterProducer()
            # Else the protocol is paused: as with asyncio's transports, it still
            # gets resume_writing() once the queue has drained, and may write
            # then (SSLProtocol's close_notify): resumeProducing unregisters us.
            stream.loseConnection()

    def abort(self) -> None:
        """Close at once, dropping anything queued (``connection_lost(None)`` next turn).

        Unlike torsion's ``abortConnection``, the socket is closed plainly (the
        peer sees an EOF, not a reset), as asyncio's transports do.
        """
        stream = self._stream
        if stream is None or stream.disconnected or self._aborted:
            self._closing = True
            return
        self._closing = self._writeBlocked = self._aborted = self._closeRequested = True
        stream.stopReading()
        stream.stopWriting()
        self._loop.call_soon(stream.connectionLost, _ABORTED)

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        if not isinstance(exc, OSError):
            self._loop.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                }
            )
        if self._fatal is None:
            self._fatal = exc
        self.abort()

    def _force_close(self, exc: BaseException | None) -> None:
        if exc is not None and self._fatal is None:
            self._fatal = exc
        self.abort()


class _ServingFactory:
    """Builds a StreamTransport (and its asyncio protocol) per accepted connection."""

    def __init__(self, loop: Any, protocolFactory: Any, sslcontext: Any, server: Any, **ssl: Any):
        self.loop = loop
        self.protocolFactory = protocolFactory
        self.sslcontext = sslcontext
        self.server = server
        self.ssl = ssl
        # Each connection's protocol is made, and called, in a copy of the
        # context serving started in (as asyncio's accept task runs in one).
        self.context = copy_context()

    def buildProtocol(self, addr: Any) -> StreamTransport | None:
        context = self.context.copy()
        try:
            protocol = context.run(self._makeProtocol)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.loop.call_exception_handler(
                {
                    "message": "Error on transport creation for incoming connection",
                    "exception": exc,
                }
            )
            return None
        return StreamTransport(self.loop, protocol, {"peername": addr}, self.server, context)

    def _makeProtocol(self) -> Any:
        protocol = self.protocolFactory()
        if self.sslcontext is None:
            return protocol
        from asyncio import sslproto

        return sslproto.SSLProtocol(
            self.loop,
            protocol,
            self.sslcontext,
            None,  # type: ignore[arg-type]
            server_side=True,
            **self.ssl,
        )

    def doStart(self) -> None:
        pass

    def doStop(self) -> None:
        pass


class ServingPort(ListeningPort):
    """torsion's accept loop on a socket that asyncio's ``Server`` made and owns."""

    transport: Any = AcceptedStream
    _type = "asyncio"

    def __init__(self, sock: socket.socket, factory: _ServingFactory, loop: Any) -> None:
        super().__init__(factory, 0, loop)
        self._sock = sock

    @classmethod
    def serve(
        cls,
        loop: Any,
        protocolFactory: Any,
        sock: socket.socket,
        sslcontext: Any,
        server: Any,
        **ssl: Any,
    ) -> ServingPort:
        noNagle(sock)  # accepted sockets inherit it (on Linux)
        port = cls(sock, _ServingFactory(loop, protocolFactory, sslcontext, server, **ssl), loop)
        port.startListening()
        return port

    def _where(self) -> Any:
        try:
            return self._sock.getsockname()
        except OSError:
            return None

    def _bindSocket(self) -> socket.socket:
        self._sock.setblocking(False)
        return self._sock

    def _peerAddress(self, peer: Any) -> Any:
        return peer

    def getHost(self) -> Any:
        return self._where()
