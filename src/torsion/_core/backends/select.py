"""The select(2) backend: portable, limited to descriptors below FD_SETSIZE."""

from __future__ import annotations

import errno
import os
import select as _select

from torsion._core.backends import ERROR, READ, WRITE


class Backend:
    name = "select"

    __slots__ = ("_masks", "_readers", "_writers")

    def __init__(self) -> None:
        self._masks: dict[int, int] = {}
        self._readers: set[int] = set()
        self._writers: set[int] = set()

    def register(self, fd: int, mask: int) -> None:
        if fd in self._masks:
            raise FileExistsError(errno.EEXIST, f"fd {fd} is already registered")
        self.modify(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        self._masks[fd] = mask
        if mask & READ:
            self._readers.add(fd)
        else:
            self._readers.discard(fd)
        if mask & WRITE:
            self._writers.add(fd)
        else:
            self._writers.discard(fd)

    def unregister(self, fd: int) -> None:
        self._masks.pop(fd, None)
        self._readers.discard(fd)
        self._writers.discard(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        readers, writers = self._readers, self._writers
        try:
            r, w, _ = _select.select(readers, writers, [], timeout)
        except (OSError, ValueError):
            # A descriptor was closed behind our back (EBADF), or one is past
            # FD_SETSIZE.  Report each bad one as an error so its owner is told.
            return self._findBad()
        if not w:
            return [(fd, READ) for fd in r]
        events: dict[int, int] = dict.fromkeys(r, READ)
        for fd in w:
            events[fd] = events.get(fd, 0) | WRITE
        return list(events.items())

    def _findBad(self) -> list[tuple[int, int]]:
        bad = []
        for fd in list(self._masks):
            try:
                os.fstat(fd)
                _select.select([fd], [], [], 0)
            except (OSError, ValueError):
                bad.append((fd, ERROR))
        return bad

    def close(self) -> None:
        self._masks.clear()
        self._readers.clear()
        self._writers.clear()
