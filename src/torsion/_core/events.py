"""System event triggers: ``before``/``during``/``after`` phases of startup and shutdown.

Theory of operation
-------------------
Each event type (``"startup"``, ``"shutdown"``, or any user string) has three
lists of triggers.  Firing runs every ``before`` trigger; those that return a
Deferred hold the event until all of them fire.  Then ``during`` and ``after``
triggers run, in the order they were added.  Triggers are consumed as they run,
and triggers added while an event fires run in the same firing when their phase
has not finished yet (Twisted's semantics).  An exception, or a failed Deferred
from a ``before`` trigger, is logged and the firing goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torsion import _log

PHASES = ("before", "during", "after")

_Trigger = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class ThreePhaseEvent:
    __slots__ = ("after", "before", "during", "firing", "hurry", "waiting")

    def __init__(self) -> None:
        self.before: list[_Trigger] = []
        self.during: list[_Trigger] = []
        self.after: list[_Trigger] = []
        self.firing = False
        #: True while the firing waits for Deferreds of ``before`` triggers.
        self.waiting = False
        #: stopWaiting() came before the firing did: the next firing does not wait.
        self.hurry = False

    def addTrigger(
        self, phase: str, f: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]
    ) -> _Trigger:
        if phase not in PHASES:
            raise KeyError(f"invalid phase {phase!r}: use 'before', 'during' or 'after'")
        if not callable(f):
            raise TypeError(f"system event trigger must be callable, got {f!r}")
        handle = (f, args, kw)
        getattr(self, phase).append(handle)
        return handle

    def removeTrigger(self, phase: str, handle: _Trigger) -> None:
        if phase not in PHASES:
            raise KeyError(f"invalid phase {phase!r}")
        triggers: list[_Trigger] = getattr(self, phase)
        f, args, kw = handle
        for i, h in enumerate(triggers):
            if h[0] is f and h[1] is args and h[2] is kw:
                del triggers[i]
                return
        raise ValueError("removeSystemEventTrigger: that trigger is not registered")

    def fire(self) -> None:
        self.firing = True
        waiting = []
        while self.before:
            f, args, kw = self.before.pop(0)
            try:
                result = f(*args, **kw)
            except Exception as e:
                _log.log_failure(f"Error in 'before' system event trigger {f!r}:", e)
                continue
            if _isDeferred(result):
                result.addErrback(_logTriggerFailure, f)
                waiting.append(result)
        if not waiting or self.hurry:
            self._continue(None)
            return
        from torsion._defer.tools import DeferredList

        self.waiting = True
        DeferredList(waiting).addCallback(self._continue)

    def stopWaiting(self) -> None:
        """Go on with ``during`` and ``after`` now, without waiting for ``before``'s Deferreds.

        Asked before the event fires (signals that arrive in one burst), the
        next firing runs its ``before`` triggers and goes on without waiting.
        """
        if self.waiting:
            self._continue(None)
        elif not self.firing:
            self.hurry = True

    def _continue(self, ignored: object) -> None:
        if not self.firing:
            return  # stopWaiting() went on already
        self.waiting = self.hurry = False
        for phase in (self.during, self.after):
            while phase:
                f, args, kw = phase.pop(0)
                try:
                    f(*args, **kw)
                except Exception as e:
                    _log.log_failure(f"Error in system event trigger {f!r}:", e)
        self.firing = False


def _isDeferred(obj: object) -> bool:
    from torsion._defer.core import Deferred

    return isinstance(obj, Deferred)


def _logTriggerFailure(failure: Any, f: Any) -> None:
    _log.log_failure(f"Deferred from 'before' system event trigger {f!r} failed:", failure)
