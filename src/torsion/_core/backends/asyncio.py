"""The asyncio backend: readiness from somebody else's asyncio loop (stock, uvloop ...).

This backend does not block in a system call of its own: the foreign loop
owns the thread.  ``register``/``modify``/``unregister`` become that loop's
``add_reader``/``add_writer`` and their removal; when the loop reports a
descriptor ready, the event is queued and ``onReady`` (set by the reactor,
``torsion._aio.foreign``) is called, which runs a reactor turn whose
``poll`` returns the queued events at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torsion._core.backends import READ, WRITE

__all__ = ["Backend"]


class Backend:
    name = "asyncio"

    __slots__ = ("_events", "_masks", "loop", "onReady")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self._masks: dict[int, int] = {}
        self._events: list[tuple[int, int]] = []
        self.onReady: Callable[[], None] = lambda: None

    def _ready(self, fd: int, mask: int) -> None:
        self._events.append((fd, mask))
        self.onReady()

    def register(self, fd: int, mask: int) -> None:
        if fd in self._masks:
            raise FileExistsError(f"fd {fd} is already registered")
        self._masks[fd] = 0
        self.modify(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        old = self._masks.get(fd, 0)
        self._masks[fd] = mask
        loop = self.loop
        if mask & READ and not old & READ:
            loop.add_reader(fd, self._ready, fd, READ)
        elif old & READ and not mask & READ:
            loop.remove_reader(fd)
        if mask & WRITE and not old & WRITE:
            loop.add_writer(fd, self._ready, fd, WRITE)
        elif old & WRITE and not mask & WRITE:
            loop.remove_writer(fd)

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
