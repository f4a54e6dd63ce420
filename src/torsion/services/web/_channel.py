"""HTTP/1.1 connections of the web service, parsed by h11.

Theory of operation
-------------------
An ``HTTPChannel`` is the protocol of one connection *and* the streaming
producer registered on its own transport for the connection's whole life, so
the transport's flow control reaches it in every state:

- **answering**: ``dataReceived`` feeds h11 and answers each complete request
  at once, pipelined ones in order.  A response from memory (a small file, a
  listing, an error) is written with one ``writeSequence``.
- **streaming** a large file (``_body`` is set): reading stops, so pipelined
  requests wait in h11's buffer (one read at most), and ``_pump`` writes
  chunks from disk until the transport's queue passes its high-water mark --
  the transport then calls ``pauseProducing`` -- or the body is done.
- **paused**: the queue is full; nothing is read, answered or streamed until
  the transport has sent it and calls ``resumeProducing``.

After each response h11 says whether the connection may be reused: if so the
next cycle starts, else the channel closes once its queue is sent.

Limits: request heads over ``maxHeaderBytes`` get 431 and bodies over
``maxBodyBytes`` 413; those and malformed requests get a final error response
and the connection closes.  ``_progress`` is when a request last completed or
the peer last took more of a body; the idle timer closes a connection with no
progress for ``timeout`` seconds (408 if a request was half-received), so a
client trickling header bytes holds nothing for long.
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

_Request = h11.Request
_Data = h11.Data
_EndOfMessage = h11.EndOfMessage
_NEED_DATA = h11.NEED_DATA
_EOM = h11.EndOfMessage()
_MUST_CLOSE = h11.MUST_CLOSE
_IDLE = h11.IDLE

#: The request headers a static file server looks at.
_WANTED = frozenset(
    (b"if-none-match", b"if-modified-since", b"range", b"if-range", b"content-length")
)
_METHODS = (b"GET", b"HEAD")
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


def _finalError(status: int) -> bytes:
    """A whole error response that closes the connection, for requests h11 rejected."""
    body = _errorPage(status)
    phrase = HTTPStatus(status).phrase
    return (
        f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii")
        + b"server: "
        + SERVER
        + b"\r\ndate: "
        + _dates.now()
        + b"\r\ncontent-type: "
        + _HTML
        + f"\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n".encode("ascii")
        + body
    )


def _response(status: int, headers: list[tuple[bytes, bytes]]) -> Any:
    return h11.Response(status_code=status, reason=_reasons[status], headers=headers)


_reasons = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}


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
        self._request: Any = None
        self._headers: dict[bytes, bytes] = {}
        self._bodyBytes = 0
        self._timer: Any = None
        self._progress = 0.0

    def connectionMade(self) -> None:
        factory = self.factory
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=factory.maxHeaderBytes)
        self.transport.registerProducer(self, True)
        self._clock = factory.reactor.seconds
        self._progress = self._clock()
        self._timer = factory.reactor.callLater(factory.timeout, self._checkIdle)

    # ------------------------------------------------------------ input

    def dataReceived(self, data: bytes) -> None:
        self.conn.receive_data(data)
        if not (self._paused or self._body is not None or self._closing):
            self._answer()

    def _answer(self) -> None:
        """Answer every complete request h11 has, until something must wait."""
        conn = self.conn
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as e:
                self._fail(e.error_status_hint)
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
                if self._paused or self._body is not None or self._closing:
                    return
            elif event is _NEED_DATA:
                return
            else:  # ConnectionClosed (or PAUSED, which cannot happen here)
                self._close()
                return

    def _startRequest(self, request: Any) -> bool:
        self._request = request
        self._bodyBytes = 0
        headers = {}
        size = len(request.target)
        for name, value in request.headers:
            size += len(name) + len(value) + 4
            if name in _WANTED:
                headers[name] = value
        self._headers = headers
        if size > self.factory.maxHeaderBytes:
            # (h11 enforces the limit on a head still arriving; this, on one that came whole.)
            self._fail(431)
            return False
        length = headers.get(b"content-length")
        if length is not None and int(length) > self.factory.maxBodyBytes:
            self._fail(413)
            return False
        return True

    # ----------------------------------------------------------- output

    def _respond(self) -> None:
        request = self._request
        method = request.method
        if method not in _METHODS:
            self._sendPage(405, [(b"allow", b"GET, HEAD")], head=False)
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
        headers = self._headers
        if not headers or (len(headers) == 1 and b"content-length" in headers):
            status, first, last = 200, 0, entry.size - 1
        else:
            status, first, last = evaluate(entry, headers)
        if status == 200 and entry.body is not None:
            # The common case: a whole small file, from a response made at most a second ago.
            date = _dates.now()
            cached = entry.response
            if cached is None or cached[0] is not date:
                cached = entry.response = (date, self._fileResponse(entry, date), entry.body)
            conn = self.conn
            if head:
                self._complete([conn.send(cached[1]), conn.send(_EOM)], 200, 0)
            else:
                out = [conn.send(cached[1]), conn.send(_Data(data=cached[2])), conn.send(_EOM)]
                self._complete(out, 200, entry.size)
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

    def _fileResponse(self, entry: FileEntry, date: bytes) -> Any:
        return h11.Response(
            status_code=200,
            reason=b"OK",
            headers=[
                (b"server", SERVER),
                (b"date", date),
                (b"content-type", entry.contentType),
                (b"content-length", str(entry.size).encode("ascii")),
                (b"last-modified", entry.lastModified),
                (b"etag", entry.etag),
                (b"accept-ranges", b"bytes"),
            ],
        )

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
        conn = self.conn
        headers = [(b"server", SERVER), (b"date", _dates.now()), *headers]
        if status != 304:
            size = len(body) if length is None else length
            headers.append((b"content-length", str(size).encode("ascii")))
        out = [conn.send(_response(status, headers))]
        if body and not head:
            out.append(conn.send(_Data(data=body)))
        out.append(conn.send(_EOM))
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
        """Send a large file (or part of it) from disk, as the peer takes it."""
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
        headers = [
            (b"server", SERVER),
            (b"date", _dates.now()),
            *headers,
            (b"content-length", str(length).encode("ascii")),
        ]
        self.transport.write(self.conn.send(_response(status, headers)))
        self._logAccess(status, length)
        self._body = _FileBody(f, length)
        self.transport.pauseProducing()  # read no further requests meanwhile
        self._pump()

    def _pump(self) -> None:
        body = self._body
        assert body is not None
        write = self.transport.write
        send = self.conn.send_with_data_passthrough
        read = body.file.read
        while not self._paused:
            size = min(CHUNK, body.remaining)
            chunk = read(size)
            if len(chunk) != size:
                _log.warning("%s changed size while being sent; closing", body.file.name)
                self._dropBody()
                self.transport.abortConnection()
                return
            body.remaining -= size
            for piece in send(_Data(data=chunk)):  # type: ignore[union-attr]
                write(piece)
            if not body.remaining:
                self._dropBody()
                tail = self.conn.send(_EOM)
                if tail:
                    write(tail)
                if self._nextCycle():
                    self.transport.resumeProducing()
                    if not self._paused:
                        self._answer()
                return

    def _dropBody(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.file.close()

    def _complete(self, out: list[Any], status: int, length: int) -> None:
        self.transport.writeSequence(out)
        self._logAccess(status, length)
        self._nextCycle()

    def _nextCycle(self) -> bool:
        """After a response: start on the next request, or close.  True if open."""
        self._progress = self._clock()
        if self.conn.our_state is _MUST_CLOSE or self._stopping:
            self._close()
            return False
        self.conn.start_next_cycle()
        return True

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
        self.transport.write(_finalError(status))
        self._close()

    def _close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._dropBody()
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def stopGracefully(self) -> None:
        """Finish the response in progress (if any), then close."""
        self._stopping = True
        if self._body is None and not self._paused and self._idle():
            self._close()

    def _idle(self) -> bool:
        return self.conn.their_state is _IDLE and not self.conn.trailing_data[0]

    def _checkIdle(self) -> None:
        timeout = self.factory.timeout
        quiet = self._clock() - self._progress
        if quiet < timeout:
            self._timer = self.factory.reactor.callLater(timeout - quiet, self._checkIdle)
            return
        self._timer = None
        if self._body is not None or self._paused:
            self._dropBody()
            self.transport.abortConnection()  # the peer stopped reading
        elif self._idle():
            self._close()
        else:
            self._fail(408)

    # --------------------------------------------------- as a producer

    def pauseProducing(self) -> None:
        self._paused = True
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._paused = False
        self._progress = self._clock()
        if self._closing:
            return
        if self._body is not None:
            self._pump()
        else:
            self.transport.resumeProducing()
            self._answer()

    def stopProducing(self) -> None:
        self._dropBody()

    def connectionLost(self, reason: Any = None) -> None:
        self._closing = True
        self._dropBody()
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None


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
        maxBodyBytes: int = 1024 * 1024,
        accessLog: bool = False,
    ) -> None:
        self.reactor = reactor
        self.site = site
        self.timeout = timeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.accessLog = accessLog
