"""Installed into the ported copy of Twisted's tests: no Twisted internet code, torsion's reactor.

Copied next to the ported packages as ``twsuite_shim`` and imported first
by each of their ``__init__`` modules, it does two things.

**Poison.**  Every ``twisted.internet.*`` module (Twisted's reactor, its
transports, its Deferred...) is replaced, before anything can import it, by
a stand-in whose every name is a *poisoned class*: a module that imports
one still imports (so one test using ``twisted.internet.base`` does not
take its whole module down), a class may subclass one, and ``@implementer``
accepts one (torsion's records it; zope's iterates it), but calling it or
reading an attribute it does not define raises ``PoisonedTwistedCode``.
Each such touch is appended, with the id of the test that was running, to
the file named by ``$TWSUITE_POISON_LOG``; the differential suite counts a
test that touched poison as not passed, whatever its outcome.  At exit, the
names of any *real* ``twisted.internet`` modules found in ``sys.modules``
are appended too (there should be none).  Imports the porting table maps
were rewritten to torsion before this runs, so only what torsion does not
claim to replace is poisoned.

**ReactorBuilder.**  Twisted's ``ReactorBuilder`` (``reactormixins``) makes
one test class per Twisted reactor and installs each by swapping the
global reactor's state, then cleans up with private reactor methods.
``pointBuilderAtTorsion`` gives the ported mixin one reactor,
``TorsionReactor`` (a fresh ``torsion.reactors.create()`` on the backend
``$TWSUITE_BACKEND`` names, else the default), swaps the global torsion
reactor the same way, checks ``requiredInterfaces`` with their
``providedBy`` (torsion's, structural), and undoes it all with public
calls (``disconnectAll``, cancelling the delayed calls, ``close``).
"""

from __future__ import annotations

import atexit
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
import unittest
from typing import Any

POISONED = "twisted.internet"
_LOG = os.environ.get("TWSUITE_POISON_LOG")


class PoisonedTwistedCode(Exception):
    """A test reached Twisted's own twisted.internet code."""


def _runningTest() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, unittest.TestCase):
            return candidate.id()
        frame = frame.f_back  # type: ignore[assignment]
    return "<import>"


def _record(testId: str, what: str) -> None:
    if _LOG:
        with open(_LOG, "a") as f:
            f.write(f"{testId}\t{what}\n")


def _touch(cls: type, what: str) -> Any:
    name = f"{cls.__module__}.{cls.__qualname__}"
    _record(_runningTest(), f"{name}{what}")
    raise PoisonedTwistedCode(
        f"{name}{what}: Twisted's own {POISONED} code may not run in the differential suite"
    )


class _Poisoned(type):
    def __call__(cls, *args: Any, **kw: Any) -> Any:
        return _touch(cls, "()")

    def __getattr__(cls, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _touch(cls, "." + attr)

    def __iter__(cls) -> Any:
        return iter(())  # zope's implementer(...) iterates what it does not recognise

    def __getitem__(cls, item: Any) -> Any:
        return cls  # Deferred[int] and the like, at import time


class _PoisonedModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        poisoned = _Poisoned(name, (), {"__module__": self.__name__, "__qualname__": name})
        setattr(self, name, poisoned)
        return poisoned


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if not name.startswith(POISONED + "."):
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        module = _PoisonedModule(spec.name)
        module.__path__ = []
        module.__all__ = []  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _realTwistedInternet() -> list[str]:
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if name.startswith(POISONED + ".") and not isinstance(module, _PoisonedModule)
    )


def _reportRealModules() -> None:
    for name in _realTwistedInternet():
        _record("<sys.modules>", name)


def install() -> None:
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    from torsion.trial import util

    # A test that hangs waits this long, not trial's 120 s (Twisted runs these in seconds).
    util.DEFAULT_TIMEOUT_DURATION = float(os.environ.get("TWSUITE_TIMEOUT") or 5)
    for name in _realTwistedInternet():  # imported before us: reported at exit
        _record("<before the shim>", name)
    sys.meta_path.insert(0, _Finder())
    atexit.register(_reportRealModules)


# -- ReactorBuilder on torsion ------------------------------------------------------


def TorsionReactor(testCase: object = None) -> Any:
    """A new torsion reactor (the builder calls its factory as a method)."""
    from torsion import reactors

    return reactors.create(os.environ.get("TWSUITE_BACKEND") or None)


def _buildReactor(self: Any) -> Any:
    from torsion import reactor as globalReactor

    reactor = self.reactorFactory()
    reactor._originalReactorDict = globalReactor.__dict__
    reactor._originalReactorClass = globalReactor.__class__
    globalReactor.__dict__ = reactor.__dict__
    globalReactor.__class__ = reactor.__class__
    self.addCleanup(_unbuildReactor, reactor)
    missing = [i for i in self.requiredInterfaces or () if not i.providedBy(reactor)]
    if missing:
        raise unittest.SkipTest(f"torsion's reactor does not provide {missing}")
    return reactor


def _unbuildReactor(reactor: Any) -> None:
    from torsion import reactor as globalReactor

    try:
        reactor.disconnectAll()
        for call in reactor.getDelayedCalls():
            call.cancel()
    finally:
        globalReactor.__dict__ = reactor._originalReactorDict
        globalReactor.__class__ = reactor._originalReactorClass
        if not reactor.running:
            reactor.close()


def pointBuilderAtTorsion(reactormixins: Any) -> None:
    builder = reactormixins.ReactorBuilder
    builder._reactors = [f"{__name__}.TorsionReactor"]
    builder.buildReactor = _buildReactor
    reactormixins.process = None  # Twisted's process reaper: torsion reaps its own children
