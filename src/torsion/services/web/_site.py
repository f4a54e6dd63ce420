"""What to send for a request target under a served folder (no sockets, no HTTP parsing).

Theory of operation
-------------------
``StaticSite.lookup(target)`` maps a raw request target to a ``FileEntry``, a
``Redirect``, a ``Listing`` or a ``Refusal``.  The path is percent-decoded to
bytes (file names are bytes on POSIX) and split into segments: a NUL byte is a
400, a ``..`` segment (however encoded) a 403, and the joined path is resolved
with ``realpath`` and must stay inside the root, so a symbolic link that leads
out of it is a 404.  Only regular files and directories are ever served.

Hidden names: unless ``dotfiles`` is true, a file or folder whose name starts
with a dot (``.git/``, ``.env``) is answered 404, as if absent, and left out
of listings.  The rule applies to the segments of the request (decoded, so
``%2e`` is a dot) and again to the resolved path below the root, so a
symbolic link (or an ``index.html`` that is one) cannot lead to a hidden name.

Speed: a target that resolved to a file is remembered for ``ROUTE_TTL``
seconds, so a repeated request costs one dict lookup and one ``stat``.  The
``stat`` (modification time, size and inode) always revalidates the
``FileEntry``, which caches the response headers' values and, for files up to
``maxCachedFile`` bytes, the content (within ``cacheBudget`` bytes in all;
both caches also keep at most a few thousand entries, oldest out first).
Larger files are streamed by the channel from disk.

``evaluate`` applies the conditional and range headers to an entry (304,
206, 416 or 200), and ``parseRange`` reads a ``Range`` header.
"""

from __future__ import annotations

import email.utils
import html
import mimetypes
import os
import stat
import time
import urllib.parse
from typing import Any, Literal

__all__ = [
    "FileEntry",
    "Listing",
    "Redirect",
    "Refusal",
    "StaticSite",
    "evaluate",
    "formatHTTPDate",
    "parseHTTPDate",
    "parseRange",
]

ROUTE_TTL = 1.0
_MAX_ROUTES = 4096
_MAX_FILES = 4096

_ENCODED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "br": "application/x-brotli",
    "compress": "application/x-compress",
}


def formatHTTPDate(seconds: float) -> bytes:
    """``seconds`` since the epoch as an HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return email.utils.formatdate(seconds, usegmt=True).encode("ascii")


def parseHTTPDate(value: bytes) -> float | None:
    """An HTTP date as seconds since the epoch, or None if it is not one."""
    try:
        parsed = email.utils.parsedate_tz(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        return float(email.utils.mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def contentType(path: str) -> bytes:
    """The Content-Type for a file name (application/octet-stream when unknown)."""
    kind, encoding = mimetypes.guess_type(path, strict=False)
    if encoding:
        kind = _ENCODED_TYPES.get(encoding, "application/octet-stream")
    return (kind or "application/octet-stream").encode("ascii")


class FileEntry:
    """A regular file as last seen by ``stat``, with what its responses need."""

    __slots__ = (
        "body",
        "contentType",
        "etag",
        "lastModified",
        "mtime",
        "path",
        "response",
        "signature",
        "size",
    )

    def __init__(self, path: str, st: os.stat_result, body: bytes | None) -> None:
        self.path = path
        self.signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        self.size = st.st_size
        self.mtime = int(st.st_mtime)
        self.lastModified = formatHTTPDate(self.mtime)
        self.etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'.encode("ascii")
        self.contentType = contentType(path)
        self.body = body
        #: The channel's cache of a ready-made response (date, response).
        self.response: Any = None


class Redirect:
    """Moved permanently to ``location`` (a directory asked for without its ``/``)."""

    __slots__ = ("location",)

    def __init__(self, location: bytes) -> None:
        self.location = location


class Listing:
    """An HTML index of a directory."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


class Refusal:
    """An error status to answer with."""

    __slots__ = ("status",)

    def __init__(self, status: int) -> None:
        self.status = status


class _Route:
    __slots__ = ("checked", "entry")

    def __init__(self, entry: FileEntry, checked: float) -> None:
        self.entry = entry
        self.checked = checked


class StaticSite:
    """Serves the files under ``root`` (see the module notes)."""

    def __init__(
        self,
        root: str,
        *,
        listings: bool = True,
        indexNames: tuple[str, ...] = ("index.html", "index.htm"),
        maxCachedFile: int = 256 * 1024,
        cacheBudget: int = 64 * 1024 * 1024,
        dotfiles: bool = False,
        clock: Any = time.monotonic,
    ) -> None:
        self.root = os.path.realpath(root)
        self._rootPrefix = os.path.join(self.root, "")
        self.listings = listings
        self.dotfiles = dotfiles
        self.indexNames = indexNames
        self.maxCachedFile = maxCachedFile
        self.cacheBudget = cacheBudget
        self._clock = clock
        self._routes: dict[bytes, _Route] = {}
        self._files: dict[str, FileEntry] = {}
        self._cachedBytes = 0

    def lookup(self, target: bytes) -> FileEntry | Redirect | Listing | Refusal:
        """What to answer for ``target`` (the raw request target)."""
        route = self._routes.get(target)
        if route is not None:
            if self._clock() - route.checked < ROUTE_TTL:
                entry = route.entry
                try:
                    st = os.stat(entry.path)
                except OSError:
                    pass
                else:
                    if (st.st_mtime_ns, st.st_size, st.st_ino) == entry.signature:
                        return entry
            del self._routes[target]
        return self._resolve(target)

    def _resolve(self, target: bytes) -> FileEntry | Redirect | Listing | Refusal:
        path, _, query = target.partition(b"?")
        path = path.partition(b"#")[0]
        if not path.startswith(b"/"):
            _, sep, rest = path.partition(b"://")
            if not sep or b"/" not in rest:
                return Refusal(400)  # neither origin-form nor absolute-form
            path = rest[rest.index(b"/") :]
        decoded = urllib.parse.unquote_to_bytes(path)
        if b"\x00" in decoded:
            return Refusal(400)
        segments = decoded.split(b"/")
        parts: list[str] = []
        hidden = not self.dotfiles
        for segment in segments:
            if segment == b"..":
                return Refusal(403)
            if segment and segment != b".":
                if hidden and segment[:1] == b".":
                    return Refusal(404)
                parts.append(os.fsdecode(segment))
        wantsDirectory = segments[-1] == b""
        real = os.path.realpath(os.path.join(self.root, *parts))
        if not self._allowed(real):
            return Refusal(404)  # a symbolic link leads out of the root, or to a hidden name
        try:
            st = os.stat(real)
        except PermissionError:
            return Refusal(403)
        except (OSError, ValueError):
            return Refusal(404)
        if stat.S_ISDIR(st.st_mode):
            if not wantsDirectory:
                return Redirect(path + b"/" + (b"?" + query if query else b""))
            return self._directory(real, parts)
        if not stat.S_ISREG(st.st_mode) or wantsDirectory:
            return Refusal(404)
        result = self._entry(real, st)
        if isinstance(result, FileEntry):
            if len(self._routes) >= _MAX_ROUTES:
                del self._routes[next(iter(self._routes))]
            self._routes[target] = _Route(result, self._clock())
        return result

    def _directory(self, real: str, parts: list[str]) -> FileEntry | Listing | Refusal:
        for name in self.indexNames:
            index = os.path.realpath(os.path.join(real, name))
            try:
                st = os.stat(index)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and self._allowed(index):
                return self._entry(index, st)
        if not self.listings:
            return Refusal(403)
        try:
            return Listing(self._listing(real, parts))
        except PermissionError:
            return Refusal(403)
        except OSError:
            return Refusal(404)

    def _entry(self, real: str, st: os.stat_result) -> FileEntry | Refusal:
        entry = self._files.get(real)
        if entry is not None and entry.signature == (st.st_mtime_ns, st.st_size, st.st_ino):
            return entry
        body = None
        if st.st_size <= self.maxCachedFile:
            try:
                with open(real, "rb") as f:
                    body = f.read(st.st_size + 1)
            except PermissionError:
                return Refusal(403)
            except OSError:
                return Refusal(404)
            if len(body) != st.st_size:
                body = None  # it changed as we read it: stream it instead
        elif not os.access(real, os.R_OK):
            return Refusal(403)
        entry = FileEntry(real, st, body)
        self._remember(entry)
        return entry

    def _remember(self, entry: FileEntry) -> None:
        """Keep ``entry``, forgetting the oldest ones beyond the entry and byte budgets."""
        self._forget(self._files.pop(entry.path, None))
        self._files[entry.path] = entry
        if entry.body is not None:
            self._cachedBytes += len(entry.body)
        while len(self._files) > _MAX_FILES or self._cachedBytes > self.cacheBudget:
            self._forget(self._files.pop(next(iter(self._files))))

    def _forget(self, entry: FileEntry | None) -> None:
        if entry is not None and entry.body is not None:
            self._cachedBytes -= len(entry.body)

    def _listing(self, real: str, parts: list[str]) -> bytes:
        """The HTML index of directory ``real``, shown as ``/parts/``."""
        rows = []
        with os.scandir(real) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            if (e.name.startswith(".") and not self.dotfiles) or (
                e.is_symlink() and not self._allowed(os.path.realpath(e.path))
            ):
                continue
            try:
                st = e.stat()
            except OSError:
                continue
            isDir = stat.S_ISDIR(st.st_mode)
            slash = "/" if isDir else ""
            href = urllib.parse.quote(os.fsencode(e.name)) + slash
            size = "-" if isDir else f"{st.st_size:,}"
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(st.st_mtime))
            rows.append(
                f'<tr><td><a href="{html.escape(href)}">{_text(e.name)}{slash}</a></td>'
                f'<td class="n">{size}</td><td>{when}</td></tr>'
            )
        shown = "/" + "".join(p + "/" for p in parts)
        up = '<tr><td><a href="../">../</a></td><td></td><td></td></tr>' if parts else ""
        title = f"Index of {_text(shown)}"
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{title}</title><style>body{{font-family:sans-serif}}"
            "td{padding:0 1em}.n{text-align:right}</style></head>\n"
            f"<body><h1>{title}</h1>\n<table>\n"
            "<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n"
            f"{up}{''.join(rows)}\n</table></body></html>\n"
        )
        return page.encode("utf-8")

    def _allowed(self, real: str) -> bool:
        """Whether resolved path ``real`` may be served: inside the root, and not hidden."""
        if real == self.root:
            return True
        if not real.startswith(self._rootPrefix):
            return False
        if self.dotfiles:
            return True
        below = real[len(self._rootPrefix) :]
        return not below.startswith(".") and "/." not in below


def _text(name: str) -> str:
    """A file name as HTML text (undecodable bytes shown escaped)."""
    shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return html.escape(shown)


#: Byte positions at or past this many are all treated alike: no file is that large.
#: (Python refuses to convert a decimal of over 4,300 digits to int; a Range header
#: may hold one.)
_HUGE = 10**18


def _position(digits: bytes) -> int:
    """A byte position from a string of ASCII digits, capped at ``_HUGE``."""
    significant = digits.lstrip(b"0")
    return int(significant or b"0") if len(significant) <= 18 else _HUGE


def parseRange(value: bytes, size: int) -> tuple[int, int] | Literal[False] | None:
    """Read a ``Range`` header for a body of ``size`` bytes.

    Returns ``(first, last)`` (inclusive) for one satisfiable range, False
    when the range cannot be satisfied (416), and None when the header is to
    be ignored (not ``bytes=``, malformed, or several ranges: the whole body
    is sent instead, as RFC 9110 allows).  Numbers of any length are read as
    RFC 9110 means them: a first position past the end is unsatisfiable, a
    last position or a suffix length past the end reaches the end.
    """
    unit, sep, spec = value.partition(b"=")
    if not sep or unit.strip().lower() != b"bytes" or b"," in spec:
        return None
    first, sep, last = spec.strip().partition(b"-")
    if not sep:
        return None
    if not first:  # the last N bytes
        if not last.isdigit():
            return None
        count = _position(last)
        if count == 0 or size == 0:
            return False
        return (max(size - count, 0), size - 1)
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    start = _position(first)
    end = _position(last) if last else _HUGE
    if end < start:
        return None
    if start >= size:
        return False
    return (start, min(end, size - 1))


def evaluate(entry: FileEntry, headers: dict[bytes, bytes]) -> tuple[int, int, int]:
    """Apply conditional and range request headers to ``entry``.

    ``headers`` holds the request's ``if-none-match``, ``if-modified-since``,
    ``range`` and ``if-range`` values (when present).  Returns ``(status,
    first, last)``: 304, 416, 206 with the inclusive byte range, or 200 with
    the whole body.
    """
    whole = (200, 0, entry.size - 1)
    noneMatch = headers.get(b"if-none-match")
    if noneMatch is not None:
        tags = [t.strip() for t in noneMatch.split(b",")]
        if b"*" in tags or entry.etag in tags or b"W/" + entry.etag in tags:
            return (304, 0, -1)
    else:
        since = headers.get(b"if-modified-since")
        if since is not None:
            when = parseHTTPDate(since)
            if when is not None and entry.mtime <= when:
                return (304, 0, -1)
    wanted = headers.get(b"range")
    if wanted is None:
        return whole
    ifRange = headers.get(b"if-range")
    if ifRange is not None and ifRange.strip() not in (entry.etag, entry.lastModified):
        return whole
    span = parseRange(wanted, entry.size)
    if span is None:
        return whole
    if span is False:
        return (416, 0, -1)
    return (206, span[0], span[1])
