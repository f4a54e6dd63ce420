"""Errors logged while a test runs, kept so that they fail it.

torsion reports every error it catches (an exception in a callback or a
protocol, an unhandled failure in a Deferred) through the stdlib logger
``torsion`` or one of its children.  While at least one test runs, one
handler on that logger keeps each record that carries an exception (its
``exc_info``, or the ``failure`` attribute torsion sets) as a Failure.  The
list is shared, as trial's log observer is: a test run inside another test
(trial's own tests do that) takes the errors logged during it, and the outer
test does not see them again.

Errors a program logs itself (``log.err()``, ``Logger().failure()``) are
events on the global log publisher, not records of ``torsion``: an observer
there keeps their failures too, except for the events made from torsion's
own records (namespace ``torsion...``), which the handler already has.
"""

from __future__ import annotations

import logging
from typing import Any

from torsion.failure import Failure
from torsion.logger import globalLogPublisher

__all__ = ["observer"]


class _ErrorObserver(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[Failure] = []
        self._users = 0
        self._logger = logging.getLogger("torsion")

    def emit(self, record: logging.LogRecord) -> None:
        failure: Any = getattr(record, "torsion_failure", None)
        if not isinstance(failure, Failure):
            info = record.exc_info
            if not info or info[1] is None:
                return  # an error message without an exception: logged, not fatal
            failure = Failure(info[1], info[0], info[2])
        self.errors.append(failure)

    def _observe(self, event: dict[str, Any]) -> None:
        namespace = str(event.get("log_namespace") or "")
        if namespace == "torsion" or namespace.startswith("torsion."):
            return  # one of torsion's records: emit() has it
        failure = event.get("log_failure")
        if failure is None and event.get("isError"):
            failure = event.get("failure")
        if isinstance(failure, Failure):
            self.errors.append(failure)

    def add(self) -> None:
        if self._users == 0:
            self._logger.addHandler(self)
            globalLogPublisher.addObserver(self._observe)
        self._users += 1

    def remove(self) -> None:
        self._users -= 1
        if self._users == 0:
            self._logger.removeHandler(self)
            globalLogPublisher.removeObserver(self._observe)

    def flushErrors(self, *errorTypes: type[BaseException]) -> list[Failure]:
        """Take the errors of ``errorTypes`` (all of them if none is given)."""
        if not errorTypes:
            taken, self.errors = self.errors, []
            return taken
        taken = [f for f in self.errors if f.check(*errorTypes)]
        self.errors = [f for f in self.errors if not f.check(*errorTypes)]
        return taken


observer = _ErrorObserver()
