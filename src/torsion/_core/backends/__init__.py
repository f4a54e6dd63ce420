"""Readiness backends: one module per system call (select, poll, epoll).

A backend knows file descriptors and event masks, nothing else.  Its interface:

``register(fd, mask)``, ``modify(fd, mask)``, ``unregister(fd)``,
``poll(timeout) -> list[(fd, mask)]`` (timeout in seconds, None = forever) and
``close()``.  Masks use the poll/epoll bit values, which are the same on Linux:
READ (POLLIN), WRITE (POLLOUT), and ERROR (POLLERR | POLLHUP | POLLNVAL) which a
backend may report whatever was asked for.  The reactor picks one by name in
``torsion.reactors``; nothing else imports these modules.
"""

from __future__ import annotations

from typing import Protocol

READ = 0x001
WRITE = 0x004
ERROR = 0x008 | 0x010 | 0x020  # POLLERR | POLLHUP | POLLNVAL

__all__ = ["ERROR", "READ", "WRITE", "Backend"]


class Backend(Protocol):
    name: str

    def register(self, fd: int, mask: int) -> None: ...
    def modify(self, fd: int, mask: int) -> None: ...
    def unregister(self, fd: int) -> None: ...
    def poll(self, timeout: float | None) -> list[tuple[int, int]]: ...
    def close(self) -> None: ...
