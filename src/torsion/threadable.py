"""Which thread is the I/O thread (Twisted's ``python.threadable``).

A reactor registers the thread that runs it when it starts (as Twisted's
reactors do), so that code called from several threads can ask
``isInIOThread()``.  With several reactors, the last one started wins, as
in Twisted.
"""

from __future__ import annotations

import threading

__all__ = ["getThreadID", "isInIOThread", "registerAsIOThread"]

#: The id (``threading.get_ident()``) of the registered I/O thread, or None.
ioThread: int | None = None


def getThreadID() -> int:
    """The calling thread's id."""
    return threading.get_ident()


def registerAsIOThread() -> None:
    """Mark the calling thread as the I/O thread."""
    global ioThread
    ioThread = threading.get_ident()


def isInIOThread() -> bool:
    """Whether the calling thread is the registered I/O thread."""
    return ioThread == threading.get_ident()
