"""Helpers that ``twisted.trial.util`` users import: ``suppress``, the default timeout,
the janitor's error, and attribute lookup along a test's parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT_DURATION",
    "DirtyReactorAggregateError",
    "acquireAttribute",
    "suppress",
]

#: Seconds a ``TestCase`` test (with its fixtures) may wait on the reactor.
DEFAULT_TIMEOUT_DURATION = 120.0

_MISSING = object()

Suppression = tuple[tuple[str, ...], dict[str, Any]]


def suppress(action: str = "ignore", **kwarg: Any) -> Suppression:
    """A warning filter for a ``suppress`` attribute (a list of them).

    The keyword arguments are those of ``warnings.filterwarnings``; a test
    method, its class or its module may carry ``suppress = [suppress(...)]``,
    the nearest one applying, as for ``skip``, ``todo`` and ``timeout``.
    """
    return ((action,), kwarg)


def acquireAttribute(objects: Iterable[object], attr: str, default: Any = _MISSING) -> Any:
    """``attr`` of the first of ``objects`` that has it, else ``default``.

    Raises ``AttributeError`` when none has it and no default was given.
    """
    objects = list(objects)
    for obj in objects:
        if hasattr(obj, attr):
            return getattr(obj, attr)
    if default is not _MISSING:
        return default
    raise AttributeError(f"none of {objects!r} has an attribute {attr!r}")


class DirtyReactorAggregateError(Exception):
    """A test left timers, descriptors or threads behind (reported after it ran).

    ``delayedCalls`` and ``selectables`` describe what the janitor found (and
    cleaned up); ``threads`` names threads that were still running.
    """

    def __init__(
        self,
        delayedCalls: Sequence[str],
        selectables: Sequence[str] | None = None,
        threads: Sequence[str] | None = None,
    ) -> None:
        super().__init__(delayedCalls, selectables, threads)
        self.delayedCalls = list(delayedCalls)
        self.selectables = list(selectables or ())
        self.threads = list(threads or ())

    def __str__(self) -> str:
        parts = ["Reactor was unclean."]
        for title, items in (
            ("DelayedCalls (cancelled):", self.delayedCalls),
            ("Selectables (removed from the reactor and closed):", self.selectables),
            ("Threads (still running):", self.threads),
        ):
            if items:
                parts.append(title)
                parts.extend(str(item) for item in items)
        return "\n".join(parts)
