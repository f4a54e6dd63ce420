"""Logging for torsion: every error that user code raises ends up here.

All reporting goes through the stdlib logger ``torsion`` (children per area).
``log_failure`` is used wherever an exception must not stop the loop: it logs
the traceback and returns.  A record logged for a Failure carries it as the
record's ``failure`` attribute (an exception is in ``exc_info`` as usual), so
a handler can tell what failed: ``torsion.trial`` fails the running test
with it.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("torsion")


def log_failure(why: str, failure: Any = None, *, log: logging.Logger = logger) -> None:
    """Log ``failure`` (a Failure, an exception, or the current one) with its traceback."""
    if failure is None:
        log.error(why, exc_info=True)
        return
    if isinstance(failure, BaseException):
        log.error(why, exc_info=(type(failure), failure, failure.__traceback__))
        return
    # A torsion.failure.Failure: it knows how to render its own traceback,
    # including frames captured from a generator or coroutine.
    try:
        text = failure.getTraceback()
    except Exception:  # pragma: no cover - defensive
        text = repr(failure)
    log.error("%s\n%s", why, text.rstrip("\n"), extra={"failure": failure})
