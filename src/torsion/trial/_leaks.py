"""What a test leaves behind in the process: descriptors, threads, child processes.

``Snapshot.take()`` records the open file descriptors, the live threads and
the child processes; ``Snapshot.leaksSince(before)`` names what is new.  Things
being torn down may take a moment to go (a thread finishing, a child being
reaped, a socket closed when a cycle is collected), so when it finds
something ``leaksSince`` collects garbage and looks again, until ``grace``
seconds have passed: a clean test pays for one look, a leaky one for the
grace period.

Descriptors and children are read from ``/proc`` (or ``/dev/fd``); where
neither exists those checks find nothing rather than guess.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from dataclasses import dataclass

__all__ = ["Snapshot"]


def _fdDirectory() -> str | None:
    for path in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(path):
            return path
    return None


_FD_DIR = _fdDirectory()


def openDescriptors() -> set[int]:
    """The file descriptors open in this process."""
    if _FD_DIR is None:
        return set()
    fds = set()
    for name in os.listdir(_FD_DIR):
        fd = int(name)
        try:
            os.fstat(fd)
        except OSError:
            continue  # the listing's own descriptor, closed by now
        fds.add(fd)
    return fds


def describeDescriptor(fd: int) -> str:
    """``fd`` and what it is open on, when the system says."""
    if _FD_DIR is not None:
        try:
            return f"{fd} -> {os.readlink(f'{_FD_DIR}/{fd}')}"
        except OSError:
            pass
    return str(fd)


def childProcesses() -> set[int]:
    """The process ids whose parent is this process (Linux ``/proc`` only)."""
    if not os.path.isdir("/proc/self"):
        return set()
    me = str(os.getpid())
    kids = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me:
            kids.add(int(name))
    return kids


def liveThreads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@dataclass(frozen=True)
class Snapshot:
    """The descriptors, threads and children of the process at one moment."""

    fds: frozenset[int]
    threads: frozenset[threading.Thread]
    children: frozenset[int]

    @classmethod
    def take(cls, *, fds: bool = True, children: bool = True) -> Snapshot:
        return cls(
            frozenset(openDescriptors() if fds else ()),
            frozenset(liveThreads()),
            frozenset(childProcesses() if children else ()),
        )

    def newThreads(self) -> list[threading.Thread]:
        """Threads alive now that were not in this snapshot, by name."""
        return sorted(liveThreads() - self.threads, key=lambda t: t.name)

    def leaksSince(
        self, grace: float = 2.0, *, fds: bool = True, children: bool = True
    ) -> list[str]:
        """Describe what is open now and was not at this snapshot (empty: nothing).

        Looks again until ``grace`` seconds have passed, in case things are on
        their way out.
        """
        deadline = time.monotonic() + grace
        collect = False  # a clean test pays for no garbage collection
        while True:
            if collect:
                gc.collect()
            now = Snapshot.take(fds=fds, children=children)
            newFds = now.fds - self.fds
            newThreads = now.threads - self.threads
            newKids = now.children - self.children
            if not (newFds or newThreads or newKids) or time.monotonic() > deadline:
                break
            if collect:
                time.sleep(0.01)
            collect = True
        problems = []
        if newFds:
            problems.append(
                "file descriptors: " + ", ".join(describeDescriptor(f) for f in sorted(newFds))
            )
        if newThreads:
            problems.append("threads: " + ", ".join(sorted(t.name for t in newThreads)))
        if newKids:
            problems.append(f"child processes: {sorted(newKids)}")
        return problems
