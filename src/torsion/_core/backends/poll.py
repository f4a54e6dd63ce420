"""The poll(2) backend."""

from __future__ import annotations

import math
import select

from torsion._core.backends import READ, WRITE

assert select.POLLIN == READ and select.POLLOUT == WRITE


class Backend:
    name = "poll"

    __slots__ = ("_p",)

    def __init__(self) -> None:
        self._p = select.poll()

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        # poll() takes milliseconds; round up so a timer due in 0.4 ms is not
        # polled for with 0 and spun on.
        ms = None if timeout is None else math.ceil(timeout * 1000)
        return self._p.poll(ms)

    def register(self, fd: int, mask: int) -> None:
        self._p.register(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        self._p.modify(fd, mask)

    def unregister(self, fd: int) -> None:
        try:
            self._p.unregister(fd)
        except KeyError:
            pass

    def close(self) -> None:
        pass
