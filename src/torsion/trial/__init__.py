"""Unit tests for torsion code, as ``twisted.trial.unittest`` writes them.

``from twisted.trial.unittest import TestCase`` becomes
``from torsion.trial import TestCase`` (or ``from torsion.trial import
unittest`` for ``unittest.TestCase``).  ``TestCase`` and
``SynchronousTestCase`` are ``unittest.TestCase`` subclasses, so pytest,
``python -m unittest`` and ``python -m torsion.trial`` all run them.
``TestCase`` waits on the global torsion reactor for Deferreds and
coroutines its methods return, with a per-test timeout, and fails a test
that leaves timers, descriptors or threads behind.  See docs/testing.md.
"""

from __future__ import annotations

from unittest import TestSuite

from torsion.trial._assertions import FailTest
from torsion.trial._asynctest import TestCase
from torsion.trial._decorate import TestDecorator, decorate
from torsion.trial._result import PyUnitResultAdapter, Todo, makeTodo
from torsion.trial._synctest import SkipTest, SynchronousTestCase
from torsion.trial.util import DirtyReactorAggregateError

# The public home of these names (as in tracebacks and reprs).
for _public in (FailTest, SynchronousTestCase, TestCase, Todo):
    _public.__module__ = __name__
del _public

__all__ = [
    "DirtyReactorAggregateError",
    "FailTest",
    "PyUnitResultAdapter",
    "SkipTest",
    "SynchronousTestCase",
    "TestCase",
    "TestDecorator",
    "TestSuite",
    "Todo",
    "decorate",
    "makeTodo",
]
