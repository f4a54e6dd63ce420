"""Warnings emitted by a test: collected, flushable, re-emitted if left.

While a test runs, every warning is collected (the "always" filter, and each
module's ``__warningregistry__`` reset so a warning seen before shows again)
instead of shown.  ``flushWarnings`` takes some or all of them; what is left
when the test ends is emitted again, so the warning filters in force
(``-W error``, pytest's ``filterwarnings``) decide its fate then.
"""

from __future__ import annotations

import inspect
import os
import sys
import types
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["CollectedWarning", "collectWarnings", "flushWarnings", "runWithWarningsSuppressed"]

_T = TypeVar("_T")


@dataclass
class CollectedWarning:
    message: str
    category: type[Warning]
    filename: str
    lineno: int

    def asDict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "category": self.category,
            "filename": self.filename,
            "lineno": self.lineno,
        }


def _forgetWarnedOnce() -> None:
    """Clear every module's record of the warnings it already showed once."""
    for module in list(sys.modules.values()):
        # Through __dict__: some module objects warn when asked for attributes.
        registry = getattr(module, "__dict__", {}).get("__warningregistry__")
        if isinstance(registry, dict):
            registry.clear()


def _filtersChanged() -> None:
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()


def collectWarnings(
    observe: Callable[[CollectedWarning], object], f: Callable[..., _T], *args: Any, **kwargs: Any
) -> _T:
    """Call ``f``, passing each warning it emits to ``observe`` instead of showing it."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        observe(CollectedWarning(str(message), category, filename, lineno))

    _forgetWarnedOnce()
    savedFilters = warnings.filters[:]
    savedShow = warnings.showwarning
    warnings.simplefilter("always")
    warnings.showwarning = show
    try:
        return f(*args, **kwargs)
    finally:
        warnings.filters[:] = savedFilters  # type: ignore[index]
        _filtersChanged()
        warnings.showwarning = savedShow


def _pointsInto(warning: CollectedWarning, function: Any) -> bool:
    """Does ``warning``'s source line lie inside ``function``'s code?"""
    if not isinstance(function, (types.FunctionType, types.MethodType)):
        raise ValueError(f"{function!r} is not a function or method")
    module = sys.modules[function.__module__]
    if inspect.getabsfile(module) != os.path.normcase(warning.filename):
        return False
    lines = [n for _, _, n in function.__code__.co_lines() if n is not None]
    return bool(lines) and min(lines) <= warning.lineno <= max(lines)


def flushWarnings(
    collected: list[CollectedWarning], offendingFunctions: Iterable[Any] | None = None
) -> list[dict[str, Any]]:
    """Remove from ``collected`` the warnings pointing into ``offendingFunctions``
    (all of them when None) and return them as trial's dicts."""
    if offendingFunctions is None:
        taken = collected[:]
    else:
        functions = list(offendingFunctions)
        taken = [w for w in collected if any(_pointsInto(w, f) for f in functions)]
    for w in taken:
        collected.remove(w)
    return [w.asDict() for w in taken]


def runWithWarningsSuppressed(
    suppressions: Iterable[tuple[tuple[Any, ...], dict[str, Any]]],
    f: Callable[..., _T],
    *args: Any,
    **kwargs: Any,
) -> _T:
    """Call ``f`` with the warning filters of ``suppressions`` added."""
    with warnings.catch_warnings():
        for filterArgs, filterKwargs in suppressions:
            warnings.filterwarnings(*filterArgs, **filterKwargs)
        return f(*args, **kwargs)
