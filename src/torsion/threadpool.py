"""A pool of worker threads (Twisted's ``python.threadpool.ThreadPool``).

Work items go through one ``SimpleQueue``.  Workers are started on demand, when
an item is queued and no worker is idle, up to ``max``; they stay until
``stop()``, which queues one stop marker per worker and joins them all, so a
stopped pool leaves no thread behind.  Work queued before ``start()`` waits.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

from torsion import _log

__all__ = ["ThreadPool"]

_STOP = object()


class ThreadPool:
    min = 5
    max = 20

    def __init__(self, minthreads: int = 5, maxthreads: int = 20, name: str | None = None) -> None:
        if minthreads < 0:
            raise ValueError(f"minimum is negative: {minthreads}")
        if maxthreads < minthreads:
            raise ValueError(f"maximum ({maxthreads}) is less than minimum ({minthreads})")
        self.min = minthreads
        self.max = maxthreads
        self.name = name
        self.started = False
        self.joined = False
        self.threads: list[threading.Thread] = []
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._pending = 0

    @staticmethod
    def currentThread() -> threading.Thread:
        """``threading.current_thread()``; deprecated, with Twisted's warning (since 22.1)."""
        warnings.warn(
            f"{__name__}.ThreadPool.currentThread was deprecated in Twisted 22.1.0; "
            "please use threading.current_thread instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return threading.current_thread()

    def start(self) -> None:
        """Start running queued work (and start ``min`` workers)."""
        with self._lock:
            self.joined = False
            self.started = True
            self._growLocked(max(self.min, min(self._pending, self.max)))

    def _growLocked(self, target: int) -> None:
        while len(self.threads) < min(target, self.max):
            n = len(self.threads) + 1
            t = threading.Thread(
                target=self._worker, name=f"{self.name or 'PoolThread'}-{n}", daemon=True
            )
            self.threads.append(t)
            t.start()

    def callInThread(self, func: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Run ``func(*args, **kw)`` in a worker thread; exceptions are logged."""
        self.callInThreadWithCallback(None, func, *args, **kw)

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, Any], object] | None,
        func: Callable[..., Any],
        *args: Any,
        **kw: Any,
    ) -> None:
        """Run ``func`` in a thread, then ``onResult(True, result)`` or ``(False, Failure)``."""
        if self.joined:
            return
        with self._lock:
            self._pending += 1
            if self.started and self._idle < self._pending:
                self._growLocked(len(self.threads) + 1)
        self._queue.put((onResult, func, args, kw))

    def _worker(self) -> None:
        get = self._queue.get
        while True:
            with self._lock:
                self._idle += 1
            item = get()
            with self._lock:
                self._idle -= 1
                if item is not _STOP:
                    self._pending -= 1
            if item is _STOP:
                return
            onResult, func, args, kw = item
            try:
                result = func(*args, **kw)
                ok = True
            except BaseException:
                from torsion.failure import Failure

                result = Failure()
                ok = False
                if onResult is None:
                    _log.log_failure(f"Unhandled error in thread pool call {func!r}:", result)
            if onResult is not None:
                try:
                    onResult(ok, result)
                except Exception as e:
                    _log.log_failure("Unhandled error in thread pool result callback:", e)
            del item, result, onResult, func, args, kw

    def adjustPoolsize(self, minthreads: int | None = None, maxthreads: int | None = None) -> None:
        """Change the bounds; grows at once if the new minimum asks for more workers."""
        minthreads = self.min if minthreads is None else minthreads
        maxthreads = self.max if maxthreads is None else maxthreads
        if minthreads < 0 or maxthreads < minthreads:
            raise ValueError(f"bad pool size: min={minthreads} max={maxthreads}")
        self.min, self.max = minthreads, maxthreads
        if self.started:
            with self._lock:
                self._growLocked(self.min)

    def stop(self) -> None:
        """Finish queued work, stop every worker and wait for them."""
        self.joined = True
        self.started = False
        with self._lock:
            threads = list(self.threads)
            self.threads = []
        for _ in threads:
            self._queue.put(_STOP)
        current = threading.current_thread()
        for t in threads:
            if t is not current:
                t.join()

    @property
    def workers(self) -> int:
        return len(self.threads)

    def __repr__(self) -> str:
        return f"<ThreadPool {self.name!r} min={self.min} max={self.max} workers={self.workers}>"
