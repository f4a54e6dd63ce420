"""torsion's reactor as an asyncio event loop: one loop for Twisted-style and asyncio code.

    import asyncio, torsion.aio

    torsion.aio.run(main())                      # like asyncio.run, on torsion's loop
    asyncio.run(main(), loop_factory=torsion.aio.new_event_loop)   # Python 3.12+
    with asyncio.Runner(loop_factory=torsion.aio.new_event_loop) as runner: ...
    torsion.aio.install()                        # asyncio.run() etc. now use torsion's loop

An ``EventLoop`` is an ``asyncio.AbstractEventLoop`` *and* a torsion reactor:
``listenTCP``, ``callLater``, Deferreds, ``inlineCallbacks`` and asyncio's
streams, tasks and ``create_server`` all run on the same object, in one
thread, on one set of descriptors.  Every reactor that ``torsion.reactors``
creates on a native backend (epoll, poll, select) is one, the global reactor
included: while ``reactor.run()`` runs, ``asyncio.get_running_loop()`` is
the reactor.

Design decisions
----------------
* *One class.*  ``EventLoop`` subclasses the assembled reactor
  (``torsion._reactor.Reactor``) and mixes in asyncio's ``BaseEventLoop`` for
  what is loop-generic (tasks, futures, the exception handler, happy
  eyeballs, ``create_server``, ``getaddrinfo`` ...).  Everything that touches
  descriptors, timers, threads or sockets is torsion's.  ``torsion.reactors``
  creates EventLoops, so the global reactor serves asyncio code too; the cost
  is importing asyncio with the reactor.
* *The ready queue in the reactor's turn.*  A turn polls (without blocking if
  anything is ready), dispatches I/O straight to the ready descriptors, runs
  thread calls and due timers, then the ``call_soon`` handles ready at that
  point.  asyncio's timers live in the reactor's timer queue (one heap of
  floats on ``reactor.seconds()``, Twisted's wall clock; ``loop.time()`` is
  asyncio's monotonic clock, and a timer is converted when scheduled).  The
  Twisted-idiom hot path pays one ``if ready`` per turn.
* *Transports by composition.*  An asyncio stream transport is the protocol
  of a torsion ``StreamConnection`` (which keeps the socket, write queue,
  half-close and close logic) and the transport of the asyncio protocol;
  ``data_received`` is called straight from the stream's read.  TLS is
  asyncio's own ``SSLProtocol`` over that transport, so TLS behaves exactly as
  asyncio documents; datagram and pipe transports are asyncio's loop-generic
  ones on torsion's readers and writers; subprocesses are reaped by torsion's
  reaper (pidfds).
* *Running.*  ``run()`` is Twisted's and ``run_forever()`` asyncio's.  The
  first ``run_forever()`` fires the reactor's startup event and ``close()``
  its shutdown event, so Twisted code works under ``asyncio.run``.
  ``stop()`` is Twisted's under ``run()`` and asyncio's under
  ``run_forever()``.

To run torsion on somebody else's asyncio loop (uvloop, or the loop of an
ASGI server) instead, use the ``asyncio`` reactor backend:
``TORSION_REACTOR=asyncio`` or ``torsion.reactors.install("asyncio", loop=...)``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

from torsion import reactors
from torsion._aio.loop import EventLoop
from torsion._util import publish

__all__ = ["EventLoop", "EventLoopPolicy", "install", "new_event_loop", "run"]

_T = TypeVar("_T")


def new_event_loop() -> EventLoop:
    """A new torsion EventLoop on the best native backend (or ``TORSION_REACTOR``'s)."""
    name = (os.environ.get("TORSION_REACTOR") or "").strip().lower()
    if name not in reactors.native():
        # Unset, or "asyncio": that backend is not a loop of its own (and under
        # this module's policy it would ask this function for its loop again).
        name = reactors.native()[0]
    loop = reactors.create(name)
    assert isinstance(loop, EventLoop)
    loop._asyncioMade = True
    return loop


class EventLoopPolicy(asyncio.events.BaseDefaultEventLoopPolicy):
    """An asyncio event loop policy whose new loops are torsion EventLoops."""

    def _loop_factory(self) -> EventLoop:
        return new_event_loop()

    # torsion's loops reap their subprocesses themselves (pidfds): a child
    # watcher is kept, for code that sets one, but not used.
    _watcher: Any = None

    def get_child_watcher(self) -> Any:
        return self._watcher

    def set_child_watcher(self, watcher: Any) -> None:
        self._watcher = watcher


def install() -> None:
    """Make asyncio create torsion EventLoops (``asyncio.run`` ...), as ``uvloop.install()``."""
    asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """Run coroutine ``main`` on a new torsion EventLoop and close it (as ``asyncio.run``)."""
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)


publish(globals(), __all__)
