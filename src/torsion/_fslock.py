"""File system locks: Twisted's ``lockfile.FilesystemLock``.

The lock is a symbolic link whose target is the owner's PID.  Creating a link
is atomic and fails if the name exists, so whoever creates it holds the lock;
removing it releases the lock.  A link naming a process that no longer exists
is a stale lock: ``lock()`` removes it and takes the lock, and records that the
previous owner did not release it (``clean`` is False).

``torsion._defer.fslock.DeferredFilesystemLock`` waits for one with a Deferred.
"""

from __future__ import annotations

import os

__all__ = ["FilesystemLock", "isLocked"]


def _pidAlive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True  # including EPERM: it exists, it is just not ours


class FilesystemLock:
    """A lock held by this process through the symbolic link ``name``.

    ``locked`` says whether this object holds it; ``clean``, after a
    successful ``lock()``, whether the previous owner had released it.
    """

    clean: bool | None = None
    locked = False

    def __init__(self, name: str) -> None:
        self.name = name

    def lock(self) -> bool:
        """Take the lock if nobody alive holds it; returns whether it was taken.

        Errors from the file system other than "it exists" propagate.
        """
        clean = True
        while True:
            try:
                os.symlink(str(os.getpid()), self.name)
            except FileExistsError:
                pass
            else:
                self.locked = True
                self.clean = clean
                return True
            try:
                owner = int(os.readlink(self.name))
            except FileNotFoundError:
                continue  # released in the meantime: try again
            try:
                alive = _pidAlive(owner)
            except OverflowError:
                alive = False
            if alive:
                return False
            try:
                os.remove(self.name)
            except FileNotFoundError:
                continue
            clean = False

    def unlock(self) -> None:
        """Release the lock; ValueError if this process does not hold it."""
        if int(os.readlink(self.name)) != os.getpid():
            raise ValueError(f"Lock {self.name!r} not owned by this process")
        os.remove(self.name)
        self.locked = False


def isLocked(name: str) -> bool:
    """Whether some live process holds the lock ``name``."""
    probe = FilesystemLock(name)
    if probe.lock():
        probe.unlock()
        return False
    return True
