"""The epoll backend (Linux).  Level-triggered, so it needs no re-arming."""

from __future__ import annotations

import select

from torsion._core.backends import ERROR, READ, WRITE

# EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP share the poll bit values on Linux; the
# reactor's masks can be handed to epoll as they are.
assert select.EPOLLIN == READ and select.EPOLLOUT == WRITE
assert select.EPOLLERR | select.EPOLLHUP == ERROR & ~0x020


class Backend:
    name = "epoll"

    __slots__ = ("_ep",)

    def __init__(self) -> None:
        self._ep = select.epoll()

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        # epoll takes seconds as a float (rounded up to milliseconds) and -1
        # for "forever", and already returns [(fd, mask), ...].
        return self._ep.poll(-1 if timeout is None else timeout)

    def register(self, fd: int, mask: int) -> None:
        self._ep.register(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        self._ep.modify(fd, mask)

    def unregister(self, fd: int) -> None:
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            # Already closed by its owner: the kernel dropped it from the set.
            pass

    def close(self) -> None:
        self._ep.close()

    def fileno(self) -> int:
        return self._ep.fileno()
