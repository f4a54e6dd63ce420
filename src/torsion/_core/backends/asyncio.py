"""The asyncio backend: readiness from somebody else's asyncio loop (stock, uvloop ...).

This backend does not block in a system call of its own: the foreign loop
owns the thread.  ``register``/``modify``/``unregister`` become that loop's
``add_reader``/``add_writer`` and their removal; when the loop reports a
descriptor ready, the event is queued and ``onReady`` (set by the reactor,
``torsion._aio.foreign``) is called, which runs a reactor turn whose
``poll`` returns the queued events at once.

uvloop (libuv's ``uv_poll``) stops watching a descriptor for good when the
kernel reports an error on it (``EPOLLERR``: a reset that arrives behind
unread data, an ICMP error on a UDP socket), after one last callback, and
says nothing: the reactor would never see that connection end.  On such a
loop each watch carries a token (an argument of its callback) that only the
loop holds: when the loop lets go of a watch the reactor still wants, the
token's weak reference calls back, and the watch is made anew on the next
round (``_renew``), where the pending error is reported.  This costs nothing
per event, only a token per ``add_reader``/``add_writer``.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

from torsion._core.backends import READ, WRITE

__all__ = ["Backend"]


class _Token:
    """Held by the loop, in a watch's callback arguments, as long as it keeps the watch."""

    __slots__ = ("__weakref__",)


class Backend:
    name = "asyncio"

    __slots__ = ("_events", "_fragile", "_masks", "_renewing", "_watches", "loop", "onReady")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self._masks: dict[int, int] = {}
        self._events: list[tuple[int, int]] = []
        self.onReady: Callable[[], None] = lambda: None
        # Whether the loop may drop a watch by itself (see the module doc); if
        # so, the weak reference to each watch's token, by (fd, READ or WRITE).
        self._fragile = type(loop).__module__.partition(".")[0] == "uvloop"
        self._watches: dict[tuple[int, int], weakref.ref[_Token]] = {}
        self._renewing: set[int] = set()

    def _ready(self, fd: int, mask: int, token: object = None) -> None:
        self._events.append((fd, mask))
        self.onReady()

    def _add(self, fd: int, which: int) -> None:
        add = self.loop.add_reader if which == READ else self.loop.add_writer
        if not self._fragile:
            add(fd, self._ready, fd, which)
            return
        token = _Token()
        self._watches[fd, which] = weakref.ref(token, functools.partial(self._letGo, fd, which))
        add(fd, self._ready, fd, which, token)

    def _letGo(self, fd: int, which: int, ref: weakref.ref[_Token]) -> None:
        """The loop no longer holds this watch's token: renew it if it is still wanted."""
        if self._watches.get((fd, which)) is not ref:
            return  # replaced since
        del self._watches[fd, which]
        wanted = self._masks.get(fd, 0) & which
        if wanted and fd not in self._renewing and not self.loop.is_closed():
            self._renewing.add(fd)
            self.loop.call_soon(self._renewLater, fd)

    def _renewLater(self, fd: int) -> None:
        self._renewing.discard(fd)
        mask = self._masks.get(fd)
        if mask:
            self._renew(fd, mask)

    def _renew(self, fd: int, mask: int) -> None:
        """Drop what is left of the watch of ``fd`` and watch it anew for ``mask``."""
        loop = self.loop
        self._watches.pop((fd, READ), None)  # their tokens' callbacks are expected now
        self._watches.pop((fd, WRITE), None)
        loop.remove_reader(fd)
        loop.remove_writer(fd)
        if mask & READ:
            self._add(fd, READ)
        if mask & WRITE:
            self._add(fd, WRITE)

    def register(self, fd: int, mask: int) -> None:
        if fd in self._masks:
            raise FileExistsError(f"fd {fd} is already registered")
        self._masks[fd] = 0
        self.modify(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        old = self._masks.get(fd, 0)
        self._masks[fd] = mask
        loop = self.loop
        try:
            if mask & READ and not old & READ:
                self._add(fd, READ)
            elif old & READ and not mask & READ:
                loop.remove_reader(fd)
            if mask & WRITE and not old & WRITE:
                self._add(fd, WRITE)
            elif old & WRITE and not mask & WRITE:
                loop.remove_writer(fd)
        except RuntimeError:
            if not self._fragile or loop.is_closed():
                raise
            self._renew(fd, mask)  # the loop had dropped the watch

    def unregister(self, fd: int) -> None:
        if fd not in self._masks:
            return
        try:
            self.modify(fd, 0)
        except (OSError, ValueError):
            pass  # already closed by its owner
        del self._masks[fd]
        self._events = [e for e in self._events if e[0] != fd]

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """The events the loop reported since the last call (never blocks)."""
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        for fd in list(self._masks):
            self.unregister(fd)
