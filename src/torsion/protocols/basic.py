"""Framing protocols: lines, netstrings and length-prefixed strings.

The names, defaults and callbacks are those of Twisted's ``protocols.basic``.

Theory of operation
-------------------
Every receiver here is sans-IO: bytes come in through ``dataReceived``, frames
go out through a callback (``lineReceived``, ``stringReceived``, ...), and the
only thing touched on the way is ``self.transport`` (``write``,
``loseConnection``, ``disconnecting``, the producer methods).

Input that cannot be parsed yet is kept as a list of chunks (``_parts``), never
by concatenating each new chunk onto a growing ``bytes``.  A chunk is joined
with what came before only once something can be parsed out of the result: for
lines, once the delimiter is seen (looking only at the new chunk plus the last
``len(delimiter) - 1`` bytes before it); for length-prefixed frames, once the
frame is known to be complete.  The joined buffer is then split once
(``bytes.split`` for lines) or walked with an offset (``unpack_from(buf, pos)``,
``find(b":", pos)``), so a chunk of many frames costs time linear in its size
and the unparsed remainder is copied once per chunk, not once per frame.  (A
mode switch hands the rest of the chunk over as one slice.)

Length limits are enforced as soon as they can be: a line with no delimiter
is rejected once it is longer than ``MAX_LENGTH`` plus a partial delimiter, a
prefixed frame as soon as its header announces too much, so a peer can never
make a receiver hold more than about ``MAX_LENGTH`` plus one chunk.  After a
framing error the buffer is dropped and the default handlers close the
connection (logging the reason on the ``torsion.protocols.basic`` logger).

Callbacks may re-enter: ``dataReceived`` called from inside a callback (by
``setLineMode(extra)``, ``resumeProducing()`` or user code) only queues the
data, and the outer loop picks it up after the callback returns.  While a
callback runs, and between calls, the unparsed input is ``_buffer[_pos:]``
followed by ``_parts``; after a callback returns the loop reloads if either
changed (``clearLineBuffer``, a re-entrant call, an assignment to ``recvd``).
A receiver paused mid-buffer keeps its place there, so resuming costs only
the frames it delivers, never a copy of the rest.

Where torsion differs from Twisted
----------------------------------
- Once the transport is disconnecting, line receivers drop line-mode input
  instead of buffering it; after a framing error the string receivers ignore
  all further input instead of re-parsing the bad bytes as more arrive.
- LineOnlyReceiver rejects an unterminated line only once it cannot be valid
  (``MAX_LENGTH + len(delimiter)`` bytes), like LineReceiver; Twisted's rejects
  a line of exactly ``MAX_LENGTH`` whose delimiter is split across reads.
- A re-entrant ``dataReceived`` on an IntNStringReceiver is queued in order.
- NetstringReceiver works without ``makeConnection``, can be paused, and
  keeps the reason it gave up in ``parseError``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from torsion import _log
from torsion.protocol import Protocol

if TYPE_CHECKING:
    from torsion.defer import Deferred

__all__ = [
    "FileSender",
    "Int8StringReceiver",
    "Int16StringReceiver",
    "Int32StringReceiver",
    "IntNStringReceiver",
    "LineOnlyReceiver",
    "LineReceiver",
    "NetstringParseError",
    "NetstringReceiver",
    "StatefulStringProtocol",
    "StringTooLongError",
]

_logger = _log.logger.getChild("protocols.basic")


def _logClose(protocol: object, why: str) -> None:
    _logger.info("%s: closing the connection: %s", protocol.__class__.__name__, why)


class NetstringParseError(ValueError):
    """The peer sent something that is not a netstring."""


class IncompleteNetstring(Exception):
    """Not enough data has arrived to finish a netstring (kept for Twisted compatibility)."""


class StringTooLongError(AssertionError):
    """A string is too long for the length prefix of the protocol that was asked to send it."""


def _tailBytes(parts: list[bytes], count: int) -> bytes:
    """The last ``count`` bytes of the concatenation of ``parts`` (fewer if there are fewer)."""
    last = parts[-1]
    if len(last) >= count:
        return last[-count:]
    pieces: list[bytes] = []
    have = 0
    for piece in reversed(parts):
        pieces.append(piece)
        have += len(piece)
        if have >= count:
            break
    pieces.reverse()
    return b"".join(pieces)[-count:]


def _delimiterIn(parts: list[bytes], data: bytes, delimiter: bytes) -> bool:
    """Whether ``delimiter`` occurs in ``data`` or straddles the end of ``parts`` and ``data``.

    ``parts`` is known not to contain the delimiter itself.
    """
    if delimiter in data:
        return True
    overlap = len(delimiter) - 1
    if overlap <= 0:
        return False
    return delimiter in _tailBytes(parts, overlap) + data[:overlap]


class _BufferedReceiver(Protocol):
    """The input bookkeeping the receivers share; see the module comment."""

    _buffer: bytes = b""
    _pos: int = 0
    _parts: list[bytes] | None = None
    _partsLen: int = 0
    _busyReceiving: bool = False
    #: True while frames are held back (``pauseProducing``); input is buffered meanwhile.
    paused: bool = False

    def _stash(self, data: bytes) -> None:
        """Queue ``data`` after the unparsed input."""
        parts = self._parts
        if parts is None:
            self._parts = [data]
        else:
            parts.append(data)
        self._partsLen += len(data)

    def _takeUnconsumed(self) -> bytes:
        """Remove and return all the unparsed input as one ``bytes``."""
        pos = self._pos
        head = self._buffer[pos:] if pos else self._buffer
        parts = self._parts
        if parts:
            if head:
                parts.insert(0, head)
            head = parts[0] if len(parts) == 1 else b"".join(parts)
        self._buffer = b""
        self._pos = 0
        self._parts = None
        self._partsLen = 0
        return head

    def _peekUnconsumed(self) -> bytes:
        """All the unparsed input, left in place."""
        data = self._takeUnconsumed()
        if data:
            self._stash(data)
        return data

    def _unparsedLength(self) -> int:
        return len(self._buffer) - self._pos + self._partsLen

    def _nextInput(self, data: bytes) -> tuple[bytes, int]:
        """The buffer and offset to parse from: the unparsed input, then ``data``.

        Nothing is copied unless there is both old input and new ``data``.
        """
        if self._parts or (data and self._pos < len(self._buffer)):
            if data:
                self._stash(data)
            return self._reload(), 0
        if self._pos < len(self._buffer):
            return self._buffer, self._pos
        return data, 0

    def _discardInput(self) -> None:
        """Drop all the unparsed input (after a framing error)."""
        self._buffer = b""
        self._pos = 0
        self._parts = None
        self._partsLen = 0

    def _rest(self, buf: bytes, pos: int) -> None:
        """End a parsing pass at ``buf[pos:]``, letting go of ``buf`` if it is all parsed."""
        if pos < len(buf):
            self._pos = pos
        else:
            self._buffer = b""
            self._pos = 0

    def _reload(self) -> bytes:
        """Gather the unparsed input into one buffer again after a callback changed it."""
        buf = self._takeUnconsumed()
        self._buffer = buf
        return buf


class _PausableReceiver(_BufferedReceiver):
    """A receiver that is also a push producer: pausing it holds frames back."""

    def pauseProducing(self) -> None:
        """Stop delivering frames (input is kept) and pause the transport."""
        self.paused = True
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Resume the transport and deliver the frames that arrived meanwhile."""
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")

    def stopProducing(self) -> None:
        """Stop delivering frames for good and stop the transport."""
        self.paused = True
        self.transport.stopProducing()


class _StringReceiver(_PausableReceiver):
    """Input handling shared by the netstring and int-prefixed receivers.

    ``_parse`` sets ``_need`` to how many bytes of unparsed input the next
    frame needs, so chunks of a large frame are only stashed until it is whole.
    """

    #: How many bytes of unparsed input the next frame needs (0: unknown).
    _need: int = 0
    #: Set after a framing error: all further input is ignored.
    _broken: bool = False

    def dataReceived(self, data: bytes) -> None:
        if self._broken:
            return
        if self._busyReceiving or self.paused:
            self._stash(data)
            return
        if self._need and self._unparsedLength() + len(data) < self._need:
            self._stash(data)  # part of a frame that is not complete yet
            return
        buf, pos = self._nextInput(data)
        self._busyReceiving = True
        try:
            self._parse(buf, pos)
        finally:
            self._busyReceiving = False

    def _parse(self, buf: bytes, pos: int) -> None:
        raise NotImplementedError


def _disconnecting(transport: Any) -> bool:
    return transport is not None and bool(transport.disconnecting)


class LineReceiver(_PausableReceiver):
    """Receives lines, or raw data after ``setRawMode()``.

    In line mode every line (without its ``delimiter``) goes to ``lineReceived``;
    in raw mode every chunk goes to ``rawDataReceived``.  Either callback may
    switch modes, and the rest of the input then goes to the new mode.  A line
    longer than ``MAX_LENGTH`` goes to ``lineLengthExceeded`` (which closes the
    connection) along with the rest of the buffered input.  Once the transport
    is disconnecting no more lines are delivered.

    A ``lineReceived`` or ``rawDataReceived`` that returns a true value stops
    the parsing of the current chunk; ``dataReceived`` returns that value.
    """

    line_mode: int = 1
    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384
    #: The delimiter the unparsed input is known not to contain, if any.
    _cleanFor: bytes | None = None

    def clearLineBuffer(self) -> bytes:
        """Drop and return the input received but not yet delivered."""
        return self._takeUnconsumed()

    def dataReceived(self, data: bytes) -> Any:
        if self._busyReceiving:
            self._stash(data)
            return None
        if self.line_mode and _disconnecting(self.transport):
            return None
        if self.paused:
            self._cleanFor = None
            self._stash(data)
            return None
        parts = self._parts
        if parts:
            delimiter = self.delimiter
            if (
                self.line_mode
                and self._cleanFor is delimiter
                and not _delimiterIn(parts, data, delimiter)
            ):
                # Still inside one long line: keep the chunk, do not join.
                self._stash(data)
                if self._partsLen >= self.MAX_LENGTH + len(delimiter):
                    return self.lineLengthExceeded(self._takeUnconsumed())
                return None
        buf, pos = self._nextInput(data)
        self._busyReceiving = True
        try:
            return self._parse(buf, pos)
        finally:
            self._busyReceiving = False

    def _parse(self, buf: bytes, pos: int) -> Any:
        self._buffer = buf
        self._pos = pos
        self._cleanFor = None
        tail: bytes | None
        while not self.paused and pos < len(buf):
            if self.line_mode:
                # A fresh buffer is split once, and the loop stops early if a
                # callback changes the mode, the delimiter, the pause state or
                # the input.  Inside a buffer (resuming after a pause, say)
                # lines are found one at a time, so a resume costs one line.
                delimiter = self.delimiter
                step = len(delimiter)
                if pos:
                    end = buf.find(delimiter, pos)
                    lines = [buf[pos:end]] if end >= 0 else []
                    tail = None if end >= 0 else buf[pos:]
                else:
                    lines = buf.split(delimiter)
                    tail = lines.pop()
                for line in lines:
                    if len(line) > self.MAX_LENGTH:
                        self._discardInput()
                        return self.lineLengthExceeded(buf[pos:])
                    pos += len(line) + step
                    self._pos = pos
                    why = self.lineReceived(line)
                    if why:
                        return why
                    transport = self.transport
                    if transport is not None and transport.disconnecting:
                        return None
                    if (
                        self.paused
                        or not self.line_mode
                        or self.delimiter is not delimiter
                        or self._buffer is not buf
                        or self._parts
                    ):
                        break
                else:
                    if tail is None:
                        continue
                    self._discardInput()
                    if len(tail) >= self.MAX_LENGTH + step:
                        return self.lineLengthExceeded(tail)
                    if tail:
                        self._stash(tail)
                    self._cleanFor = delimiter
                    return None
            else:
                data = buf[pos:] if pos else buf
                pos = self._pos = len(buf)
                why = self.rawDataReceived(data)
                if why:
                    return why
            if self._buffer is not buf or self._parts:
                buf = self._reload()
                pos = 0
        self._rest(buf, pos)
        return None

    def setLineMode(self, extra: bytes = b"") -> Any:
        """Deliver lines from now on; ``extra`` (from raw mode) is parsed as input first."""
        self.line_mode = 1
        if extra:
            return self.dataReceived(extra)
        return None

    def setRawMode(self) -> None:
        """Deliver raw chunks to ``rawDataReceived`` from now on."""
        self.line_mode = 0

    def rawDataReceived(self, data: bytes) -> Any:
        """Called with each chunk in raw mode; override it."""
        raise NotImplementedError

    def lineReceived(self, line: bytes) -> Any:
        """Called with each line, delimiter removed; override it."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> Any:
        """Write ``line`` followed by the delimiter."""
        return self.transport.write(line + self.delimiter)

    def lineLengthExceeded(self, line: bytes) -> Any:
        """Called with the over-long line (and what followed it); closes the connection.

        ``line`` starts with at least part of the line that is too long and may
        hold the rest of the buffered input.  Override to do something else.
        """
        _logClose(
            self, f"a line of {len(line)} bytes or more exceeds MAX_LENGTH {self.MAX_LENGTH}"
        )
        return self.transport.loseConnection()


class LineOnlyReceiver(_BufferedReceiver):
    """Receives lines only: a faster LineReceiver without raw mode or pausing.

    A line longer than ``MAX_LENGTH`` goes to ``lineLengthExceeded`` (which
    closes the connection); lines after a ``loseConnection()`` are not delivered.
    """

    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384

    def dataReceived(self, data: bytes) -> None:
        transport = self.transport
        if _disconnecting(transport):
            return
        delimiter = self.delimiter
        parts = self._parts
        if parts:
            if not _delimiterIn(parts, data, delimiter):
                self._stash(data)
                if self._partsLen >= self.MAX_LENGTH + len(delimiter):
                    self.lineLengthExceeded(self._takeUnconsumed())
                return
            self._stash(data)
            data = self._takeUnconsumed()
        lines = data.split(delimiter)
        tail = lines.pop()
        if tail:
            self._stash(tail)
        limit = self.MAX_LENGTH
        for line in lines:
            if transport is not None and transport.disconnecting:
                return
            if len(line) > limit:
                self._discardInput()
                self.lineLengthExceeded(line)
                return
            self.lineReceived(line)
        if self._partsLen >= limit + len(delimiter):
            self.lineLengthExceeded(self._takeUnconsumed())

    def lineReceived(self, line: bytes) -> None:
        """Called with each line, delimiter removed; override it."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write ``line`` followed by the delimiter."""
        self.transport.writeSequence((line, self.delimiter))

    def lineLengthExceeded(self, line: bytes) -> None:
        """Called with a line longer than ``MAX_LENGTH``; closes the connection."""
        _logClose(
            self, f"a line of {len(line)} bytes or more exceeds MAX_LENGTH {self.MAX_LENGTH}"
        )
        self.transport.loseConnection()


class NetstringReceiver(_StringReceiver):
    """Sends and receives netstrings (``b"5:hello,"``; see cr.yp.to/proto/netstrings.txt).

    Each payload goes to ``stringReceived``.  A malformed netstring, or one
    whose announced length is over ``MAX_LENGTH``, closes the connection: the
    reason is kept in ``parseError`` (a NetstringParseError), ``brokenPeer`` is
    set and any further input is ignored.
    """

    MAX_LENGTH: int = 99999
    brokenPeer: int = 0
    parseError: NetstringParseError | None = None
    #: Payload size announced by the header being consumed, or -1 while reading a header.
    _size: int = -1

    _MISSING_LENGTH = "the netstring does not start with a length (digits, no leading zero)"
    _TOO_LONG = "the netstring announces {0} bytes, more than MAX_LENGTH ({1})"
    _MISSING_COMMA = "the netstring of {0} bytes is not followed by a comma"

    def sendString(self, string: bytes) -> None:
        """Write ``string`` as a netstring."""
        self.transport.write(b"%d:%b," % (len(string), string))

    def stringReceived(self, string: bytes) -> None:
        """Called with each netstring's payload; override it."""
        raise NotImplementedError

    def _lengthOf(self, digits: bytes) -> int:
        """The length a (possibly partial) header announces; raises NetstringParseError."""
        if not digits.isdigit() or (digits[0] == 0x30 and len(digits) > 1):
            raise NetstringParseError(self._MISSING_LENGTH)
        if len(digits) > len(str(self.MAX_LENGTH)):
            raise NetstringParseError(self._TOO_LONG.format(digits.decode(), self.MAX_LENGTH))
        length = int(digits)
        if length > self.MAX_LENGTH:
            raise NetstringParseError(self._TOO_LONG.format(length, self.MAX_LENGTH))
        return length

    def _parse(self, buf: bytes, pos: int) -> None:
        try:
            self._parseNetstrings(buf, pos)
        except NetstringParseError as e:
            self._discardInput()
            self._handleParseError(e)

    def _parseNetstrings(self, buf: bytes, pos: int) -> None:
        self._buffer = buf
        self._pos = pos
        self._need = 0
        size = self._size
        limit = self.MAX_LENGTH
        width = len(str(limit))
        while not self.paused and pos < len(buf):
            if size < 0:
                if limit != self.MAX_LENGTH:
                    limit = self.MAX_LENGTH
                    width = len(str(limit))
                colon = buf.find(b":", pos, pos + width + 1)
                if colon < 0:
                    # A partial header: fail now if it can never become valid.
                    self._lengthOf(buf[pos : pos + width + 1])
                    break
                digits = buf[pos:colon]
                valid = digits.isdigit() and (digits[0] != 0x30 or colon == pos + 1)
                size = int(digits) if valid else -1
                if not 0 <= size <= limit:
                    self._lengthOf(digits)  # raises NetstringParseError, saying why
                self._size = size
                pos = self._pos = colon + 1
            end = pos + size
            if end >= len(buf):
                self._need = size + 1
                break
            if buf[end] != 0x2C:
                raise NetstringParseError(self._MISSING_COMMA.format(size))
            string = buf[pos:end]
            pos = self._pos = end + 1
            size = self._size = -1
            self.stringReceived(string)
            if self._buffer is not buf or self._parts:
                buf = self._reload()
                pos = 0
        self._rest(buf, pos)

    def _handleParseError(self, reason: NetstringParseError) -> None:
        """Give up on a peer that sent a malformed netstring: close the connection."""
        self.parseError = reason
        self.brokenPeer = 1
        self._broken = True
        _logClose(self, str(reason))
        self.transport.loseConnection()


_structs: dict[str, struct.Struct] = {}


def _structFor(fmt: str) -> struct.Struct:
    compiled = _structs.get(fmt)
    if compiled is None:
        compiled = _structs[fmt] = struct.Struct(fmt)
    return compiled


class IntNStringReceiver(_StringReceiver):
    """Sends and receives strings prefixed by their length as an N-byte integer.

    Subclasses set ``structFormat`` (a ``struct`` format for one unsigned
    integer) and ``prefixLength``.  Each payload goes to ``stringReceived``;
    a prefix announcing more than ``MAX_LENGTH`` bytes goes to
    ``lengthLimitExceeded`` (which closes the connection) and all further
    input is ignored.  ``recvd`` is the input not yet parsed (reading and
    assigning it from ``stringReceived`` works as in Twisted).
    """

    MAX_LENGTH: int = 99999
    structFormat: str
    prefixLength: int

    @property
    def recvd(self) -> bytes:
        """The input received but not yet parsed into strings."""
        return self._peekUnconsumed()

    @recvd.setter
    def recvd(self, value: bytes) -> None:
        self._discardInput()
        self._need = 0
        if value:
            self._stash(value)

    def stringReceived(self, string: bytes) -> None:
        """Called with each string, prefix removed; override it."""
        raise NotImplementedError

    def lengthLimitExceeded(self, length: int) -> None:
        """Called with a prefix that announces more than ``MAX_LENGTH``; closes the connection."""
        _logClose(self, f"a string of {length} bytes exceeds MAX_LENGTH {self.MAX_LENGTH}")
        self.transport.loseConnection()

    def _parse(self, buf: bytes, pos: int) -> None:
        self._buffer = buf
        self._pos = pos
        self._need = 0
        unpack = _structFor(self.structFormat).unpack_from
        prefix = self.prefixLength
        while not self.paused and len(buf) - pos >= prefix:
            (length,) = unpack(buf, pos)
            if length > self.MAX_LENGTH:
                # As in Twisted, ``recvd`` still holds the offending frame (and
                # what follows it) while lengthLimitExceeded runs.
                self._broken = True
                self._pos = pos
                try:
                    self.lengthLimitExceeded(length)
                finally:
                    self._discardInput()
                return
            end = pos + prefix + length
            if end > len(buf):
                self._need = end - pos
                break
            string = buf[pos + prefix : end]
            pos = self._pos = end
            self.stringReceived(string)
            if self._buffer is not buf or self._parts:
                buf = self._reload()
                pos = 0
        self._rest(buf, pos)

    def sendString(self, string: bytes) -> None:
        """Write ``string`` with its length prefix; StringTooLongError if it cannot fit."""
        limit = 1 << (8 * self.prefixLength)
        if len(string) >= limit:
            raise StringTooLongError(
                f"{self.__class__.__name__} cannot send a string of {len(string)} bytes: "
                f"its {self.prefixLength}-byte prefix allows at most {limit - 1}"
            )
        self.transport.write(_structFor(self.structFormat).pack(len(string)) + string)


class Int32StringReceiver(IntNStringReceiver):
    """Strings prefixed by a 4-byte big-endian length."""

    structFormat = "!I"
    prefixLength = 4


class Int16StringReceiver(IntNStringReceiver):
    """Strings prefixed by a 2-byte big-endian length."""

    structFormat = "!H"
    prefixLength = 2


class Int8StringReceiver(IntNStringReceiver):
    """Strings prefixed by a 1-byte length."""

    structFormat = "!B"
    prefixLength = 1


class StatefulStringProtocol:
    """Mixin for string receivers: dispatch each string to ``proto_<state>``.

    ``state`` starts as ``"init"``; each ``proto_*`` method returns the next
    state, and the state ``"done"`` closes the connection.
    """

    state: str = "init"
    transport: Any

    def stringReceived(self, string: bytes) -> None:
        handler = getattr(self, "proto_" + self.state, None)
        if handler is None:
            _logger.warning(
                "%s: no handler proto_%s for the current state; string dropped",
                self.__class__.__name__,
                self.state,
            )
            return
        self.state = handler(string)
        if self.state == "done":
            self.transport.loseConnection()


class FileSender:
    """A non-streaming producer that writes a file's contents to a consumer."""

    CHUNK_SIZE: int = 2**14

    lastSent: bytes = b""
    deferred: Deferred[bytes] | None = None
    file: BinaryIO | None = None
    consumer: Any = None
    transform: Callable[[bytes], bytes] | None = None

    def beginFileTransfer(
        self,
        file: BinaryIO,
        consumer: Any,
        transform: Callable[[bytes], bytes] | None = None,
    ) -> Deferred[bytes]:
        """Start sending ``file`` to ``consumer``, each chunk passed through ``transform``.

        Returns a Deferred that fires with the last byte sent once the whole
        file is written, or fails if the consumer stops the transfer.
        """
        from torsion.defer import Deferred

        self.file = file
        self.consumer = consumer
        self.transform = transform
        deferred: Deferred[bytes] = Deferred()
        self.deferred = deferred
        consumer.registerProducer(self, False)
        return deferred

    def resumeProducing(self) -> None:
        """Write the next chunk, or finish the transfer at the end of the file."""
        chunk = self.file.read(self.CHUNK_SIZE) if self.file is not None else b""
        if not chunk:
            self.file = None
            self.consumer.unregisterProducer()
            deferred, self.deferred = self.deferred, None
            if deferred is not None:
                deferred.callback(self.lastSent)
            return
        if self.transform is not None:
            chunk = self.transform(chunk)
        self.consumer.write(chunk)
        self.lastSent = chunk[-1:]

    def pauseProducing(self) -> None:
        """Nothing to do: a non-streaming producer only writes when asked."""

    def stopProducing(self) -> None:
        """Abandon the transfer; the Deferred fails."""
        deferred, self.deferred = self.deferred, None
        if deferred is not None:
            deferred.errback(Exception("Consumer asked us to stop producing"))
