"""TLS as a protocol wrapper over ``ssl.MemoryBIO`` (sans-IO), for any stream transport.

Theory of operation
-------------------
``TLSMemoryBIOProtocol`` sits between a stream transport and the
application's protocol, and is each one's counterpart::

    lower transport (TCP, UNIX, ...)      ciphertext
        .protocol  = the wrapper
    TLSMemoryBIOProtocol                  ssl.SSLObject over two MemoryBIOs
        .transport = the wrapper
    application protocol                  cleartext

Bytes in: ``dataReceived`` (ciphertext) goes into the incoming BIO.  While
handshaking it drives ``do_handshake``; once open, ``SSLObject.read`` is
called until the BIO is empty and everything decrypted from one chunk is
handed to the application as a single ``dataReceived``.  The outgoing BIO is
drained once afterwards, so handshake replies and whatever the application
wrote while handling the data leave in one lower ``write``.

Bytes out: before the handshake completes, ``write`` only queues (the
SSLObject never sees application data, so none can reach a peer that has not
been verified).  Afterwards each write is encrypted at once and the outgoing
BIO drained into the lower transport (batched as above inside a delivery).

States and close:

* handshaking: started by ``makeConnection`` (a client sends its hello), with
  a timer (``handshakeTimeout``).  Success cancels the timer, flushes the
  queued writes, hands a registered producer to the lower transport and calls
  the application's ``handshakeCompleted()`` if it has one.  Failure records
  the reason (``VerificationError`` and subclasses, ``TLSError``,
  ``HandshakeTimeoutError``), flushes the alert and closes the lower transport.
  As in Twisted, ``connectionMade`` runs before the handshake.
* open.
* closing: ``loseConnection`` waits for queued writes and for a producer to
  unregister, sends close_notify, half-closes the lower transport and closes
  it when the peer answers (close_notify or EOF) or ``shutdownTimeout``
  passes: the application sees ConnectionDone.  ``loseWriteConnection`` sends
  close_notify but keeps reading.
* a close_notify from the peer: a half-closeable application (one with
  ``readConnectionLost``) is told and may keep writing; any other gets our
  close_notify back and ConnectionDone.  An EOF without close_notify (a
  possible truncation) is ConnectionLost.  ``abortConnection`` drops
  everything: ConnectionAborted.

``connectionLost`` from the lower transport runs once and passes the recorded
TLS error, if any, to the application instead of the lower reason.
"""

from __future__ import annotations

import ssl
from typing import Any

from torsion import _log, error
from torsion._tls.certs import Certificate
from torsion._tls.errors import errorFromSSL
from torsion._util import SEQUENCE_NOT_BYTES, logPrefixOf, toBytes
from torsion.error import HandshakeTimeoutError
from torsion.failure import Failure

_TLS_READ_SIZE = 262144

__all__ = ["TLSMemoryBIOFactory", "TLSMemoryBIOProtocol", "startTLS"]


def _hostnameOf(transport: Any) -> str | None:
    """The host name a client transport connected to, if it knows one."""
    host = getattr(getattr(transport, "connector", None), "host", None)
    return host if isinstance(host, str) and host else None


# ---------------------------------------------------------------- protocol

_NOT_FORWARDED = frozenset(
    {"transport", "wrappedProtocol", "factory", "sendFileDescriptor", "fileDescriptorReceived"}
)


class TLSMemoryBIOProtocol:
    """The TLS layer of one connection: the lower transport's protocol and the
    application's transport (see the module docstring)."""

    __slots__ = (
        "__weakref__",
        "_aborted",
        "_bufferSize",
        "_closeReceived",
        "_closeSent",
        "_connectWrapped",
        "_delivering",
        "_handshakeDone",
        "_incoming",
        "_lost",
        "_outgoing",
        "_pausedHere",
        "_pending",
        "_pendingSize",
        "_producer",
        "_producerOnLower",
        "_reason",
        "_streaming",
        "_timer",
        "_tls",
        "_writeHalfClosed",
        "connected",
        "disconnected",
        "disconnecting",
        "factory",
        "hostname",
        "transport",
        "wrappedProtocol",
    )

    TLS = True
    #: Seconds the handshake may take (None: no limit); a context factory's
    #: ``handshakeTimeout`` attribute overrides it.
    handshakeTimeout: float | None = 30.0
    #: Seconds to wait for the peer's answer to our close_notify.
    shutdownTimeout: float = 30.0

    def __init__(
        self, factory: TLSMemoryBIOFactory, wrappedProtocol: Any, _connectWrapped: bool = True
    ) -> None:
        self.factory = factory
        self.wrappedProtocol = wrappedProtocol
        self._connectWrapped = _connectWrapped
        self.transport: Any = None
        #: The host name a client verifies (the connect host unless the
        #: context factory names one).
        self.hostname: str | None = None
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._handshakeDone = False
        self._pending: list[bytes] = []
        self._pendingSize = 0
        self._delivering = False
        self._closeSent = False
        self._closeReceived = False
        self._writeHalfClosed = False
        self._lost = False
        self._aborted = False
        self._reason: Failure | None = None
        self._timer: Any = None
        self._producer: Any = None
        self._streaming = False
        self._producerOnLower = False
        self._pausedHere = False
        self.connected = 0
        self.disconnecting = False
        self.disconnected = False
        self._bufferSize = 65536

    @property
    def bufferSize(self) -> int:
        """Queued bytes above which a streaming producer is paused (settable).

        Before the handshake ends it bounds the cleartext queued here; setting
        it also sets the lower transport's, which bounds the ciphertext after.
        """
        return self._bufferSize

    @bufferSize.setter
    def bufferSize(self, size: int) -> None:
        self._bufferSize = size
        transport = self.transport
        if transport is not None and hasattr(transport, "bufferSize"):
            transport.bufferSize = size

    def __repr__(self) -> str:
        state = "open" if self._handshakeDone else "handshaking"
        if self.disconnected:
            state = "closed"
        return f"<TLS {state} {type(self.wrappedProtocol).__name__} over {self.transport!r}>"

    # ------------------------------------------------------ for creators

    def wrapContext(self, context: ssl.SSLContext, serverHostname: str | None = None) -> Any:
        """An ``SSLObject`` for this connection's side on ``context``.

        Connection creators (``clientConnectionForTLS``/``serverConnectionForTLS``)
        call this; ``serverHostname`` is what a client verifies and sends as SNI.
        """
        isClient = self.factory._isClient
        try:
            return context.wrap_bio(
                self._incoming,
                self._outgoing,
                server_side=not isClient,
                server_hostname=serverHostname if isClient else None,
            )
        except ValueError as e:
            if isClient and serverHostname is None and context.check_hostname:
                raise ValueError(
                    "this TLS client verifies host names but none is known here: use "
                    "optionsForClientTLS(hostname) as the context factory"
                ) from None
            raise ValueError(f"cannot start TLS: {e}") from None

    # ------------------------------------------------- the lower side

    def makeConnection(self, transport: Any) -> None:
        """Start TLS over ``transport`` (the handshake begins at once)."""
        self.transport = transport
        if hasattr(transport, "_readSize"):
            # Whole TLS records at a time: see the read notes in _stream.
            transport._readSize = _TLS_READ_SIZE
        if self.hostname is None:
            self.hostname = _hostnameOf(transport)
        self._tls = self.factory._newSSLObject(self)
        self.connected = 1
        timeout = getattr(self.factory._contextFactory, "handshakeTimeout", self.handshakeTimeout)
        clock = self.factory._clock or getattr(transport, "reactor", None)
        if timeout is not None and clock is not None:
            self._timer = clock.callLater(timeout, self._handshakeTimedOut, timeout)
        if self._connectWrapped:
            self.wrappedProtocol.makeConnection(self)
        if not self._lost:
            self._handshake()

    def dataReceived(self, data: bytes) -> None:
        if self._lost:
            return
        self._incoming.write(data)
        if not self._handshakeDone:
            self._handshake()
            if not self._handshakeDone or self._lost:
                return
        self._readAvailable()

    def _handshake(self) -> None:
        tls = self._tls
        assert tls is not None
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except ssl.SSLError as e:
            self._fail(errorFromSSL(e, self.hostname))
            return
        self._handshakeDone = True
        self._cancelTimer()
        if self._pending:
            self._writePending()
        self._flush()
        producer = self._producer
        if producer is not None and not self._producerOnLower:
            self._producerOnLower = True
            self.transport.registerProducer(producer, self._streaming)
            if self._pausedHere:
                self._pausedHere = False
                if not getattr(self.transport, "producerPaused", False):
                    producer.resumeProducing()
        handshakeCompleted = getattr(self.wrappedProtocol, "handshakeCompleted", None)
        if handshakeCompleted is not None:
            handshakeCompleted()
        self._maybeFinishWriting()

    def _readAvailable(self) -> None:
        """Deliver everything the incoming BIO decrypts to, then flush replies."""
        tls = self._tls
        assert tls is not None
        read = tls.read
        incoming = self._incoming
        chunks: list[bytes] = []
        closed = False
        failure: ssl.SSLError | None = None
        while True:
            try:
                chunk = read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                closed = True
                break
            except ssl.SSLError as e:
                failure = e
                break
            if not chunk:
                closed = True  # close_notify (the stdlib reads it as b"")
                break
            chunks.append(chunk)
            if not incoming.pending and not tls.pending():
                break  # all consumed: skip the read that would raise SSLWantReadError
        if chunks:
            self._delivering = True
            try:
                self.wrappedProtocol.dataReceived(
                    chunks[0] if len(chunks) == 1 else b"".join(chunks)
                )
            finally:
                self._delivering = False
            if self._lost:
                return
        if failure is not None:
            self._fail(errorFromSSL(failure, self.hostname))
            return
        self._flush()
        if closed:
            self._closeNotifyReceived()

    def _closeNotifyReceived(self) -> None:
        self._closeReceived = True
        readConnectionLost = getattr(self.wrappedProtocol, "readConnectionLost", None)
        if self._closeSent:
            # Our close_notify is answered (or, after loseWriteConnection,
            # both directions are now closed): done.
            if readConnectionLost is not None and not self.disconnecting:
                readConnectionLost()
            self.transport.loseConnection()
            return
        if readConnectionLost is not None and not self.disconnecting:
            readConnectionLost()
            return
        # Answer with our close_notify and close; nothing more will be written.
        self.disconnecting = True
        self._dropProducer()
        self._pending.clear()
        self._sendCloseNotify()
        self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        """The lower transport saw EOF (it stays open for writing)."""
        if self._closeReceived or self._lost:
            return
        if self.disconnecting and self._closeSent:
            self.transport.loseConnection()  # the peer's answer to our close
            return
        self._fail(self._eofReason())

    def _eofReason(self) -> BaseException:
        if not self._handshakeDone:
            return error.ConnectionLost("the peer closed the connection during the TLS handshake")
        return error.ConnectionLost("the peer closed the connection without a TLS close_notify")

    def writeConnectionLost(self) -> None:
        """The lower transport sent its EOF (after our close_notify)."""
        if self._writeHalfClosed and not self.disconnecting:
            writeConnectionLost = getattr(self.wrappedProtocol, "writeConnectionLost", None)
            if writeConnectionLost is not None:
                writeConnectionLost()

    def connectionLost(self, reason: Any) -> None:
        """The lower transport closed: tell the application, once."""
        if self.disconnected:
            return
        self.disconnected = True
        self._lost = True
        self._cancelTimer()
        if self._reason is not None:
            reason = self._reason
        elif not (self._closeReceived or self._aborted or self.disconnecting) and (
            reason is None or reason.check(error.ConnectionDone)
        ):
            # The peer ended the connection without a TLS close.
            reason = Failure(self._eofReason())
        self._reason = None
        self.connected = 0
        producer = self._producer
        if producer is not None and not self._producerOnLower:
            self._producer = None
            try:
                producer.stopProducing()
            except Exception as e:
                _log.log_failure(f"Error in stopProducing of {producer!r}:", e)
        self.wrappedProtocol.connectionLost(reason)
        # As Twisted's wrappers do: let go of the application's protocol (it
        # keeps this as its transport), so no cycle outlives the connection.
        self.wrappedProtocol = None

    # ------------------------------------------- the application side

    def write(self, data: bytes) -> None:
        """Encrypt and send ``data`` (queued until the handshake completes)."""
        if data.__class__ is not bytes:
            data = toBytes(data)
        if self._closeSent or self._lost or (self.disconnecting and self._producer is None):
            return  # as in Twisted: writes after loseConnection are dropped
        if not data:
            return
        if not self._handshakeDone or self._pending:
            self._pending.append(data)
            self._pendingSize += len(data)
            producer = self._producer
            if (
                self._streaming
                and producer is not None
                and not self._pausedHere
                and self._pendingSize > self._bufferSize
            ):
                self._pausedHere = True
                producer.pauseProducing()
            return
        try:
            self._tls.write(data)  # type: ignore[union-attr]
        except ssl.SSLWantReadError:  # pragma: no cover - a renegotiation in progress
            self._pending.append(data)
            self._pendingSize += len(data)
            return
        except ssl.SSLError as e:
            self._fail(errorFromSSL(e, self.hostname))
            return
        if not self._delivering:
            data = self._outgoing.read()
            if data:
                self.transport.write(data)

    def writeSequence(self, iovec: Any) -> None:
        """Write each bytes object of ``iovec`` in order (encrypted together)."""
        try:
            data = b"".join(iovec)
        except TypeError:
            raise TypeError(SEQUENCE_NOT_BYTES) from None
        self.write(data)

    def _writePending(self) -> None:
        pending = b"".join(self._pending)
        self._pending.clear()
        self._pendingSize = 0
        try:
            self._tls.write(pending)  # type: ignore[union-attr]
        except ssl.SSLError as e:
            self._fail(errorFromSSL(e, self.hostname))

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self.transport.write(data)

    def loseConnection(self) -> None:
        """Send close_notify once everything written has been sent, then close."""
        if not self.connected or self.disconnecting or self._lost:
            return
        self.disconnecting = True
        if not self._handshakeDone and not self._pending and self._producer is None:
            # Nothing to say: close without finishing the handshake.
            self._lost = True
            self.transport.loseConnection()
            return
        if self._closeSent:
            # Half-closed already (loseWriteConnection): close the rest now.
            self.transport.loseConnection()
            return
        self._maybeFinishWriting()

    def loseWriteConnection(self) -> None:
        """Half-close: send close_notify (and EOF) but keep reading."""
        if not self.connected or self.disconnecting or self._lost or self._writeHalfClosed:
            return
        self._writeHalfClosed = True
        self._maybeFinishWriting()

    def _maybeFinishWriting(self) -> None:
        """Send close_notify if a close is wanted and nothing is left to write."""
        if (
            self._closeSent
            or self._lost
            or not self._handshakeDone
            or self._producer is not None
            or self._pending
        ):
            return
        if self.disconnecting:
            self._sendCloseNotify()
            if self._closeReceived:
                self.transport.loseConnection()
                return
            self._halfCloseLower()
            clock = self.factory._clock or getattr(self.transport, "reactor", None)
            if clock is not None and not self.disconnected:
                self._timer = clock.callLater(self.shutdownTimeout, self._shutdownTimedOut)
        elif self._writeHalfClosed:
            self._sendCloseNotify()
            if self._closeReceived:
                self.transport.loseConnection()
            else:
                self._halfCloseLower()

    def _sendCloseNotify(self) -> None:
        self._closeSent = True
        try:
            self._tls.unwrap()  # type: ignore[union-attr]
        except ssl.SSLError:
            pass  # SSLWantReadError: the peer's close_notify has not come yet
        self._flush()

    def _halfCloseLower(self) -> None:
        loseWriteConnection = getattr(self.transport, "loseWriteConnection", None)
        if loseWriteConnection is not None:
            loseWriteConnection()

    def abortConnection(self) -> None:
        """Close at once, dropping anything queued: ConnectionAborted."""
        if self.disconnected or self._aborted:
            return
        self._aborted = True
        self._lost = True
        self.disconnecting = True
        self._cancelTimer()
        self.transport.abortConnection()

    def _fail(self, reason: BaseException) -> None:
        """A fatal TLS error: record it, send the alert, close the lower transport."""
        if self._lost:
            return
        self._lost = True
        if self._reason is None:
            self._reason = Failure(reason)
        self._cancelTimer()
        self._flush()
        if self._producerOnLower:
            self.transport.abortConnection()
        else:
            self.transport.loseConnection()

    def _handshakeTimedOut(self, timeout: float) -> None:
        self._timer = None
        if self._handshakeDone or self._lost:
            return
        self._lost = True
        self._reason = Failure(HandshakeTimeoutError(timeout))
        self.transport.abortConnection()

    def _shutdownTimedOut(self) -> None:
        self._timer = None
        if not self.disconnected:
            self.transport.loseConnection()

    def _cancelTimer(self) -> None:
        timer = self._timer
        if timer is not None:
            self._timer = None
            if timer.active():
                timer.cancel()

    # ------------------------------------------------------- producers

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register a producer of cleartext (held back until the handshake completes)."""
        if self._producer is not None:
            raise RuntimeError(
                f"cannot register producer {producer!r}: {self._producer!r} is still registered"
            )
        if self.disconnected or self._lost:
            producer.stopProducing()
            return
        self._producer = producer
        self._streaming = bool(streaming)
        if self._handshakeDone:
            self._producerOnLower = True
            self.transport.registerProducer(producer, streaming)
        elif streaming and self._pendingSize > self._bufferSize:
            self._pausedHere = True
            producer.pauseProducing()

    def unregisterProducer(self) -> None:
        """Stop using the producer; a pending close may now proceed."""
        if self._producer is None:
            return
        if self._producerOnLower:
            self.transport.unregisterProducer()
        self._producer = None
        self._producerOnLower = False
        self._pausedHere = False
        self._maybeFinishWriting()

    def _dropProducer(self) -> None:
        producer = self._producer
        if producer is None:
            return
        if self._producerOnLower:
            self.transport.unregisterProducer()
        self._producer = None
        self._producerOnLower = False
        try:
            producer.stopProducing()
        except Exception as e:
            _log.log_failure(f"Error in stopProducing of {producer!r}:", e)

    def pauseProducing(self) -> None:
        """Stop reading from the peer."""
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Read from the peer again."""
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self.loseConnection()

    # -------------------------------------------------- what it knows

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def getHandle(self) -> Any:
        """The ``ssl.SSLObject`` of this connection."""
        return self._tls

    def getPeerCertificate(self) -> Certificate | None:
        """The certificate the peer presented (None before the handshake, or if none)."""
        if not self._handshakeDone or self._tls is None:
            return None
        der = self._tls.getpeercert(binary_form=True)
        return Certificate(der) if der else None

    @property
    def negotiatedProtocol(self) -> bytes | None:
        """The ALPN protocol agreed on (None if none, or before the handshake)."""
        if not self._handshakeDone or self._tls is None:
            return None
        selected = self._tls.selected_alpn_protocol()
        return selected.encode("ascii") if selected else None

    @property
    def handshakeDone(self) -> bool:
        return self._handshakeDone

    def logPrefix(self) -> str:
        return f"{logPrefixOf(self.wrappedProtocol)} (TLS)"

    def __getattr__(self, name: str) -> Any:
        # Anything else a transport offers (setTcpNoDelay, socket, ...) is the
        # lower transport's; but descriptors cannot pass through TLS.
        if name.startswith("_") or name in _NOT_FORWARDED:
            raise AttributeError(name)
        transport = self.transport
        if transport is None:
            raise AttributeError(name)
        return getattr(transport, name)


# ----------------------------------------------------------------- factory


class TLSMemoryBIOFactory:
    """Wraps each protocol ``wrappedFactory`` builds in a ``TLSMemoryBIOProtocol``.

    ``contextFactory`` is a connection creator (``clientConnectionForTLS`` /
    ``serverConnectionForTLS``, such as ``torsion.ssl.CertificateOptions`` or
    ``optionsForClientTLS``), anything with ``getContext()`` returning an
    ``ssl.SSLContext``, or an ``ssl.SSLContext``.  Client factory events are
    passed through, so it can stand in for the wrapped factory anywhere.
    """

    protocol = TLSMemoryBIOProtocol
    noisy = False

    def __init__(
        self, contextFactory: Any, isClient: bool, wrappedFactory: Any, clock: Any = None
    ) -> None:
        checkContextFactory(contextFactory, isClient)
        self._contextFactory = contextFactory
        self._isClient = bool(isClient)
        self.wrappedFactory = wrappedFactory
        self._clock = clock

    def __repr__(self) -> str:
        return f"<TLSMemoryBIOFactory wrapping {self.wrappedFactory!r}>"

    def logPrefix(self) -> str:
        return f"{logPrefixOf(self.wrappedFactory)} (TLS)"

    def buildProtocol(self, addr: Any) -> TLSMemoryBIOProtocol | None:
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        return self.protocol(self, wrapped)

    def _newSSLObject(self, tlsProtocol: TLSMemoryBIOProtocol) -> Any:
        creator = self._contextFactory
        if isinstance(creator, ssl.SSLContext):
            return tlsProtocol.wrapContext(creator, tlsProtocol.hostname)
        name = "clientConnectionForTLS" if self._isClient else "serverConnectionForTLS"
        method = getattr(creator, name, None)
        if method is not None:
            return method(tlsProtocol)
        context = creator.getContext()
        if not isinstance(context, ssl.SSLContext):
            raise TypeError(
                f"{creator!r}.getContext() must return an ssl.SSLContext, "
                f"not {type(context).__name__}"
            )
        return tlsProtocol.wrapContext(context, tlsProtocol.hostname)

    def doStart(self) -> None:
        self.wrappedFactory.doStart()

    def doStop(self) -> None:
        self.wrappedFactory.doStop()

    def startedConnecting(self, connector: Any) -> None:
        self.wrappedFactory.startedConnecting(connector)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.wrappedFactory.clientConnectionFailed(connector, reason)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.wrappedFactory.clientConnectionLost(connector, reason)


def checkContextFactory(contextFactory: Any, isClient: bool) -> None:
    """Raise TypeError now, where the mistake was made, if TLS cannot use this."""
    if isinstance(contextFactory, ssl.SSLContext):
        return
    name = "clientConnectionForTLS" if isClient else "serverConnectionForTLS"
    if hasattr(contextFactory, name) or hasattr(contextFactory, "getContext"):
        check = getattr(contextFactory, "_checkUsable", None)
        if check is not None:
            check(isClient)
        return
    side = "client" if isClient else "server"
    raise TypeError(
        f"a TLS {side} needs torsion.ssl options (CertificateOptions, optionsForClientTLS), "
        f"an object with {name}() or getContext(), or an ssl.SSLContext; "
        f"got {type(contextFactory).__name__}"
    )


def startTLS(transport: Any, contextFactory: Any, isClient: bool) -> None:
    """Upgrade a connected stream ``transport`` to TLS (STARTTLS), as the TLS client or server.

    Whatever was written before is sent in the clear first; from now on the
    protocol's ``transport`` is the TLS layer.  Calling it twice raises
    RuntimeError.
    """
    protocol = transport.protocol
    if isinstance(protocol, TLSMemoryBIOProtocol):
        raise RuntimeError("TLS is already started on this connection")
    if not transport.connected or transport.disconnecting:
        raise RuntimeError("cannot start TLS on a connection that is not open")
    tls = TLSMemoryBIOProtocol(
        TLSMemoryBIOFactory(contextFactory, isClient, None), protocol, _connectWrapped=False
    )
    tls.makeConnection(transport)  # raises before anything changes if TLS can't start
    transport.protocol = tls
    protocol.transport = tls
