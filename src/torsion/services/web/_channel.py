"""HTTP/1.1 connections of the web service, parsed by h11.

Theory of operation
-------------------
An ``HTTPChannel`` is the protocol of one connection *and* the streaming
producer registered on its own transport for the connection's whole life, so
the transport's flow control reaches it in every state.  One loop,
``_answer``, does all the work, iteratively (never by recursion, however many
requests are pipelined): it sends what is left of the response in progress,
then takes the next event from h11 and answers it, until something must wait:

- **paused**: the transport's queue passed its high-water mark and it called
  ``pauseProducing``; the loop goes on once it has sent the queue and calls
  ``resumeProducing``;
- **streaming** a large file (``_body`` is set): ``_pump`` writes chunks from
  disk until the transport pauses the channel or the body is done;
- h11 needs more data, or the connection is closing;
- this turn's shares are spent: after ``_BURST`` pipelined responses or
  chunks of a file, the loop goes on in a later turn of the reactor (``_later``),
  so one client cannot hold the loop for long, whatever it pipelines, and a
  connection the transport has found broken is closed before much more work
  is done for it.

A response from memory (a small file, a listing, an error) is written with
one ``writeSequence``; the head of a whole small file is serialized once per
second and reused.

Reading ahead: while a response waits on the peer (paused or streaming) or on
its turn, the channel goes on reading, so an EOF or a reset is seen at once.
What arrives waits in h11's buffer and is counted: once ``maxPipelined``
requests (counted by the blank lines that end their heads: an upper bound)
or more than ``maxHeaderBytes`` bytes wait, the channel stops reading, and
starts again only when it has answered everything it holds.  One read (64
KiB; 256 KiB over TLS) may bring more requests than the limit: they are
answered in turn, and nothing more is read meanwhile.  A peer that shuts
down its sending side (``readConnectionLost``) gets all the answers it asked
for, then the connection closes.

h11 parses requests; responses are serialized here (they always carry a
Content-Length, so framing is simple).  After a response the channel closes
if the request asked to (``Connection: close``, HTTP/1.0), came with
``CONNECT`` (what follows would not be HTTP) or the server is stopping.
That close lingers, as RFC 9112 section 9.6 advises: the channel half-closes,
discards what the peer still sends, and closes at the peer's EOF or ``linger``
seconds after its last byte went out -- closing at once, with unread
requests in the socket, would make the kernel send a reset that can destroy
the response before the peer has read it.
Otherwise, if h11 holds no further data, the next request gets a fresh parser
(cheaper than walking the old one through the response events); if pipelined
requests wait in its buffer, the old parser is told a response went out and
starts its next cycle.

Limits: a request head over ``maxHeaderBytes`` gets 431, as does one with
more than ``maxHeaderCount`` header fields; a request line over
``maxRequestLine`` bytes gets 414, and a body over ``maxBodyBytes`` 413.
Those and malformed requests get a final error response and the connection
closes.  Methods other than GET and HEAD get 405 (with ``Allow``) when HTTP
defines them, else 501.  ``_progress`` is when a request last completed or
the peer last took more of a body; the idle timer closes a connection with
no progress for ``timeout`` seconds (408 if a request was half-received), so
a client trickling header bytes holds nothing for long.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any, BinaryIO

import h11

import torsion
from torsion.protocol import Factory, Protocol
from torsion.services.web._site import (
    FileEntry,
    Listing,
    Redirect,
    StaticSite,
    evaluate,
    formatHTTPDate,
)

__all__ = ["HTTPChannel", "WebFactory"]

_access = logging.getLogger("torsion.web.access")
_log = logging.getLogger("torsion.web")

SERVER = f"torsion/{torsion.__version__}".encode("ascii")
CHUNK = 128 * 1024
#: How many responses, or chunks of a file, one turn of the reactor gives a connection.
_BURST = 64

_Request = h11.Request
_Data = h11.Data
_EndOfMessage = h11.EndOfMessage
_NEED_DATA = h11.NEED_DATA
_IDLE = h11.IDLE
#: What h11 is told was sent, when it must move on to a pipelined request.
_SENT = (h11.Response(status_code=200, headers=[(b"content-length", b"0")]), h11.EndOfMessage())

#: The request headers that make a file response conditional or partial.
_CONDITIONS = frozenset((b"if-none-match", b"if-modified-since", b"range", b"if-range"))
_METHODS = (b"GET", b"HEAD")
#: The other methods HTTP defines (405); any other method gets 501.
_KNOWN_METHODS = frozenset(
    (b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH")
)
_ALLOW = [(b"allow", b"GET, HEAD")]
_HTML = b"text/html; charset=utf-8"


class _Dates:
    """The ``Date`` header value, formatted once per second."""

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self.second:
            self.second = second
            self.value = formatHTTPDate(second)
        return self.value


_dates = _Dates()
_errorPages: dict[int, bytes] = {}


def _errorPage(status: int) -> bytes:
    page = _errorPages.get(status)
    if page is None:
        phrase = HTTPStatus(status).phrase
        page = (
            f"<!DOCTYPE html>\n<html><head><title>{status} {phrase}</title></head>"
            f"<body><h1>{status} {phrase}</h1></body></html>\n"
        ).encode("ascii")
        _errorPages[status] = page
    return page


_statusLines = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode("ascii") for s in HTTPStatus}


def _head(status: int, headers: list[tuple[bytes, bytes]], close: bool) -> bytes:
    """A response head: status line, ``server`` and ``date``, ``headers``, blank line."""
    lines = [_statusLines[status], b"server: ", SERVER, b"\r\ndate: ", _dates.now(), b"\r\n"]
    for name, value in headers:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"connection: close\r\n\r\n" if close else b"\r\n")
    return b"".join(lines)


class _FileBody:
    """The part of a file still to be sent."""

    __slots__ = ("file", "remaining")

    def __init__(self, file: BinaryIO, remaining: int) -> None:
        self.file = file
        self.remaining = remaining


class HTTPChannel(Protocol):
    """One HTTP connection (see the module notes)."""

    factory: WebFactory

    def __init__(self) -> None:
        self._body: _FileBody | None = None
        self._paused = False
        self._closing = False
        self._stopping = False
        self._eof = False
        self._reading = True
        self._waiting = 0
        self._ahead = 0
        self._request: Any = None
        self._conditions: dict[bytes, bytes] = {}
        self._closeAfter = False
        self._bodyBytes = 0
        self._timer: Any = None
        self._later: Any = None
        self._shares = _BURST
        self._progress = 0.0

    def _newParser(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self.factory.maxHeaderBytes)

    def connectionMade(self) -> None:
        factory = self.factory
        self.conn = self._newParser()
        self.transport.registerProducer(self, True)
        self._clock = factory.reactor.seconds
        #: A head no larger than this is within the size and request-line limits.
        self._quickLimit = min(factory.maxHeaderBytes, factory.maxRequestLine - 10)
        self._progress = self._clock()
        self._timer = factory.reactor.callLater(factory.timeout, self._checkIdle)

    # ------------------------------------------------------------ input

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return  # lingering: discarded
        self.conn.receive_data(data)
        if not (self._paused or self._body is not None or self._later is not None):
            self._answer()
        else:
            self._readAhead(data)

    def _readAhead(self, data: bytes) -> None:
        """Count what came while a response waits; stop reading once enough waits."""
        self._ahead += len(data)
        self._waiting += data.count(b"\n\r\n") + data.count(b"\n\n")
        factory = self.factory
        if self._reading and (
            self._waiting >= factory.maxPipelined or self._ahead > factory.maxHeaderBytes
        ):
            self._reading = False
            self.transport.pauseProducing()

    def readConnectionLost(self) -> None:
        """The peer sends no more: answer what it asked for, then close."""
        self._eof = True
        self._reading = False
        if self._closing:
            self.transport.loseConnection()  # the end of a lingering close
            return
        self.conn.receive_data(b"")
        if not (self._paused or self._body is not None or self._later is not None):
            self._answer()

    def writeConnectionLost(self) -> None:
        """Our last response went out (lingering close): wait ``linger`` for the peer's EOF."""
        self._cancelTimer()
        self._timer = self.factory.reactor.callLater(
            self.factory.linger, self.transport.loseConnection
        )

    def _answer(self) -> None:
        """Answer what h11 holds, in order, until something must wait."""
        self._shares = _BURST
        body = self._body
        if body is not None and not self._sendBody(body):  # going on with a file
            return
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as e:
                status = e.error_status_hint
                if status == 431 and b"\n" not in self.conn.trailing_data[0]:
                    status = 414  # the request line alone is too long
                self._fail(status)
                return
            kind = type(event)
            if kind is _Request:
                if not self._startRequest(event):
                    return
            elif kind is _Data:
                self._bodyBytes += len(event.data)  # type: ignore[union-attr]
                if self._bodyBytes > self.factory.maxBodyBytes:
                    self._fail(413)
                    return
            elif kind is _EndOfMessage:
                self._respond()
                body = self._body
                if body is not None:  # a large file: sent as the peer takes it
                    if not self._sendBody(body):
                        return
                elif not self._nextCycle():
                    return
                if self._paused or self._closing:
                    return
            elif event is _NEED_DATA:
                if self._ahead:  # all that was read ahead is answered
                    self._waiting = self._ahead = 0
                    if not self._reading:
                        self._reading = True
                        self.transport.resumeProducing()
                return
            else:  # ConnectionClosed: the peer is done (PAUSED cannot happen here)
                self._close()
                return

    def _startRequest(self, request: Any) -> bool:
        self._request = request
        self._bodyBytes = 0
        conditions = {}
        version = request.http_version
        close = version != b"1.1"
        length = 0
        size = len(request.method) + len(request.target)
        for name, value in request.headers:
            size += len(name) + len(value) + 4
            if name in _CONDITIONS:
                conditions[name] = value
            elif name == b"connection":
                close = close or b"close" in [t.strip() for t in value.lower().split(b",")]
            elif name == b"content-length":
                length = int(value)
        self._conditions = conditions
        self._closeAfter = close
        if close or length or size > self._quickLimit:
            return self._withinLimits(request, size, length)
        return len(request.headers) <= self.factory.maxHeaderCount or self._withinLimits(
            request, size, length
        )

    def _withinLimits(self, request: Any, size: int, length: int) -> bool:
        """Check a request against each limit: True if it may be answered, else fail it."""
        factory = self.factory
        if not request.http_version.startswith(b"1."):
            self._fail(400)  # HTTP/2.0 and the like, as Twisted answers them
        elif len(request.method) + len(request.target) + 10 > factory.maxRequestLine:
            self._fail(414)
        elif size > factory.maxHeaderBytes or len(request.headers) > factory.maxHeaderCount:
            # (h11 enforces the size limit on a head still arriving; this, on one that came whole.)
            self._fail(431)
        elif length > factory.maxBodyBytes:
            self._fail(413)
        else:
            return True
        return False

    # ----------------------------------------------------------- output

    def _respond(self) -> None:
        request = self._request
        method = request.method
        if method not in _METHODS:
            if method == b"CONNECT":
                self._closeAfter = True  # what the peer sends next would be a tunnel's
            if method in _KNOWN_METHODS:
                self._sendPage(405, _ALLOW, head=False)
            else:
                self._sendPage(501, [], head=False)
            return
        head = method == b"HEAD"
        result = self.factory.site.lookup(request.target)
        if isinstance(result, FileEntry):
            self._sendFile(result, head)
        elif isinstance(result, Listing):
            self._send(200, [(b"content-type", _HTML)], result.body, head)
        elif isinstance(result, Redirect):
            self._sendPage(301, [(b"location", result.location)], head)
        else:
            self._sendPage(result.status, [], head)

    def _sendFile(self, entry: FileEntry, head: bool) -> None:
        if self._conditions:
            status, first, last = evaluate(entry, self._conditions)
        else:
            status, first, last = 200, 0, entry.size - 1
        if status == 200 and entry.body is not None and not self._closeAfter:
            # The common case: a whole small file, its head made at most a second ago.
            date = _dates.now()
            cached = entry.response
            if cached is None or cached[0] is not date:
                cached = entry.response = (date, _head(200, _fileHeaders(entry), False))
            if head:
                self._complete([cached[1]], 200, 0)
            else:
                self._complete([cached[1], entry.body], 200, entry.size)
            return
        common = [
            (b"last-modified", entry.lastModified),
            (b"etag", entry.etag),
            (b"accept-ranges", b"bytes"),
        ]
        if status == 304:
            self._send(304, common, b"", head=True)
            return
        if status == 416:
            common.append((b"content-range", f"bytes */{entry.size}".encode("ascii")))
            self._sendPage(416, common, head)
            return
        if status == 206:
            span = f"bytes {first}-{last}/{entry.size}".encode("ascii")
            common.append((b"content-range", span))
        common.append((b"content-type", entry.contentType))
        if entry.body is not None:
            self._send(status, common, entry.body[first : last + 1], head)
        else:
            self._stream(status, common, entry, first, last, head)

    def _sendPage(self, status: int, headers: list[tuple[bytes, bytes]], head: bool) -> None:
        self._send(status, [*headers, (b"content-type", _HTML)], _errorPage(status), head)

    def _send(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        head: bool,
        length: int | None = None,
    ) -> None:
        """Send a whole response from memory (``length``: the body's, if not ``body``'s)."""
        if status != 304:
            size = len(body) if length is None else length
            headers = [*headers, (b"content-length", str(size).encode("ascii"))]
        out = [_head(status, headers, self._closeAfter)]
        if body and not head:
            out.append(body)
        self._complete(out, status, 0 if head else len(body))

    def _stream(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        entry: FileEntry,
        first: int,
        last: int,
        head: bool,
    ) -> None:
        """Start sending a large file (or part of it) from disk, as the peer takes it."""
        length = last - first + 1
        if head or not length:
            self._send(status, headers, b"", head=True, length=length)
            return
        try:
            f = open(entry.path, "rb")  # noqa: SIM115 - closed when the body ends or is dropped
        except OSError:
            self._sendPage(404, [], head)
            return
        f.seek(first)
        self._body = _FileBody(f, length)  # first: a failing write drops it
        headers = [*headers, (b"content-length", str(length).encode("ascii"))]
        self.transport.write(_head(status, headers, self._closeAfter))
        self._logAccess(status, length)

    def _sendBody(self, body: _FileBody) -> bool:
        """Send ``body`` with this turn's shares; True once it is all sent and the
        next request may be answered, False if the loop must stop here."""
        if self._paused or self._closing:
            return False
        shares = self._shares
        if shares > 0:
            shares = self._shares = shares - self._pump(body, shares)
            if self._body is None and not self._closing:  # all sent
                return self._nextCycle()
        if shares <= 0 and self._body is not None and not (self._paused or self._closing):
            self._yieldTurn()  # the rest of the file next turn
        return False

    def _pump(self, body: _FileBody, budget: int) -> int:
        """Write chunks of ``body`` until it is all sent (then dropped), the transport
        pauses us, or ``budget`` chunks are written.  Returns the chunks written."""
        write = self.transport.write
        read = body.file.read
        written = 0
        while written < budget:
            size = min(CHUNK, body.remaining)
            chunk = read(size)
            if len(chunk) != size:
                _log.warning("%s changed size while being sent; closing", body.file.name)
                self._abort()
                break
            body.remaining -= size
            write(chunk)
            written += 1
            if self._body is not body:  # dropped meanwhile: the connection failed
                break
            if not body.remaining:
                self._dropBody()
                break
            if self._paused:
                break
        return written

    def _yieldTurn(self) -> None:
        """Go on answering in the next turn of the reactor."""
        self._later = self.factory.reactor.callLater(0, self._goOn)

    def _goOn(self) -> None:
        self._later = None
        if not (self._paused or self._closing):
            self._answer()

    def _dropBody(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.file.close()

    def _complete(self, out: list[bytes], status: int, length: int) -> None:
        self.transport.writeSequence(out)
        self._logAccess(status, length)

    def _nextCycle(self) -> bool:
        """After a response: get ready for the next request, or close.

        True if the loop may go on: False if the connection closes, or if this
        turn's shares are spent (the next request is answered next turn).
        """
        self._progress = self._clock()
        if self._closeAfter or self._stopping:
            self._close()
            return False
        conn = self.conn
        event = conn.next_event()
        if event is _NEED_DATA:
            self.conn = self._newParser()
            return True
        if event is h11.PAUSED:  # pipelined requests wait in this parser's buffer
            try:
                for sent in _SENT:
                    conn.send(sent)
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                self._close()  # (cannot happen: a CONNECT closes the connection)
                return False
            self._shares -= 1
            if self._shares <= 0:  # they wait for the next turn
                if not self._paused:
                    self._yieldTurn()
                return False
            return True
        self._close()  # ConnectionClosed: the peer sent EOF and nothing waits
        return False

    def _logAccess(self, status: int, length: int) -> None:
        if not self.factory.accessLog:
            return
        request = self._request
        peer = self.transport.getPeer()
        _access.info(
            "%s %s %s %d %d",
            getattr(peer, "host", peer),
            request.method.decode("ascii", "replace"),
            request.target.decode("ascii", "replace"),
            status,
            length,
        )

    # ------------------------------------------------- ending, limits

    def _fail(self, status: int) -> None:
        """Answer a request we will not serve with a final error, and close."""
        if status < 400:
            status = 400
        body = _errorPage(status)
        headers = [(b"content-type", _HTML), (b"content-length", str(len(body)).encode("ascii"))]
        self.transport.writeSequence([_head(status, headers, True), body])
        self._close()

    def _close(self, linger: bool = True) -> None:
        """Close once what is written is sent: lingering, unless ``linger`` is false."""
        if self._closing:
            return
        self._closing = True
        self._dropBody()
        transport = self.transport
        transport.unregisterProducer()
        if linger and not self._eof:
            transport.loseWriteConnection()
        else:
            transport.loseConnection()

    def _abort(self) -> None:
        """Close now, dropping what is queued (the peer sees a reset)."""
        self._closing = True
        self._dropBody()
        self.transport.abortConnection()

    def stopGracefully(self) -> None:
        """Finish the response in progress (if any), then close."""
        self._stopping = True
        if self._body is None and not self._paused and self._idle():
            self._close(linger=False)

    def _idle(self) -> bool:
        return self.conn.their_state is _IDLE and not self.conn.trailing_data[0]

    def _checkIdle(self) -> None:
        timeout = self.factory.timeout
        quiet = self._clock() - self._progress
        if quiet < timeout:
            self._timer = self.factory.reactor.callLater(timeout - quiet, self._checkIdle)
            return
        self._timer = None
        if self._body is not None or self._paused or self._closing:
            self._abort()  # the peer stopped reading
        elif self._idle():
            self._close(linger=False)
        else:
            self._fail(408)

    # --------------------------------------------------- as a producer

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._progress = self._clock()
        if not self._closing and self._later is None:
            self._answer()

    def stopProducing(self) -> None:
        self._closing = True
        self._dropBody()

    def connectionLost(self, reason: Any = None) -> None:
        self._closing = True
        self._dropBody()
        self._cancelTimer()
        later, self._later = self._later, None
        if later is not None and later.active():
            later.cancel()

    def _cancelTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()


def _fileHeaders(entry: FileEntry) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", entry.contentType),
        (b"content-length", str(entry.size).encode("ascii")),
        (b"last-modified", entry.lastModified),
        (b"etag", entry.etag),
        (b"accept-ranges", b"bytes"),
    ]


class WebFactory(Factory):
    """Serves ``site`` over HTTP/1.1; the limits are per connection and request."""

    protocol = HTTPChannel
    noisy = False

    def __init__(
        self,
        reactor: Any,
        site: StaticSite,
        *,
        timeout: float = 60.0,
        maxHeaderBytes: int = 16 * 1024,
        maxHeaderCount: int = 100,
        maxRequestLine: int = 8 * 1024,
        maxBodyBytes: int = 1024 * 1024,
        maxPipelined: int = 16,
        linger: float = 2.0,
        accessLog: bool = False,
    ) -> None:
        self.reactor = reactor
        self.site = site
        self.timeout = timeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxRequestLine = maxRequestLine
        self.maxBodyBytes = maxBodyBytes
        self.maxPipelined = maxPipelined
        self.linger = linger
        self.accessLog = accessLog
