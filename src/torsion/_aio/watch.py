"""asyncio's ``add_reader``/``add_writer`` as torsion selectables.

One ``FdWatcher`` per descriptor holds the reader and the writer Handle that
asyncio code registered for it; the reactor calls its ``doRead``/``doWrite``
on readiness like any transport's, and it runs the Handle on the spot (a
Handle's ``_run`` reports an exception to the loop's exception handler).  A
cancelled Handle unregisters itself on its next event, as in asyncio.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FdWatcher", "fileobjToFd"]


def fileobjToFd(fileobj: Any) -> int:
    """The descriptor of ``fileobj`` (an int or anything with ``fileno()``)."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class FdWatcher:
    __slots__ = ("fd", "fileobj", "reader", "writer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.reader: Any = None
        self.writer: Any = None
        # What add_reader/add_writer was last given for fd (a socket ...):
        # remove_reader finds it by identity once it is closed.
        self.fileobj: Any = fd

    def __repr__(self) -> str:
        return f"<FdWatcher fd={self.fd} reader={self.reader!r} writer={self.writer!r}>"

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return "asyncio"

    def doRead(self) -> None:
        h = self.reader
        if h is None:
            return
        if h._cancelled:
            h._loop._remove_reader(self.fd)
        else:
            h._run()

    def doWrite(self) -> None:
        h = self.writer
        if h is None:
            return
        if h._cancelled:
            h._loop._remove_writer(self.fd)
        else:
            h._run()

    def connectionLost(self, reason: Any) -> None:
        """Dropped by the reactor (at shutdown): forget the callbacks."""
        self.reader = self.writer = None
