"""Choosing, creating and installing reactors.

The backend is chosen in this one place: by name (``"select"``, ``"poll"``,
``"epoll"``, ``"asyncio"``), else by the ``TORSION_REACTOR`` environment
variable, else the best one the platform has (epoll on Linux).  On a native
backend the reactor is a ``torsion.aio.EventLoop``, an asyncio loop itself;
``"asyncio"`` runs the reactor on an existing asyncio loop instead (the
running one, one passed as ``loop=``, or a new one from asyncio's policy,
which is uvloop's after ``uvloop.install()``).  ``install()`` makes a reactor the
global one that ``from torsion import reactor`` returns; importing
``torsion.reactor`` installs the default on first use.
"""

from __future__ import annotations

import importlib
import os
import select
import sys
from typing import TYPE_CHECKING, Any

from torsion import error

if TYPE_CHECKING:
    from torsion._reactor import Reactor

__all__ = ["available", "create", "getGlobal", "install", "installed", "native"]

_ORDER = ("epoll", "poll", "select", "asyncio")


def available() -> list[str]:
    """The backends this platform supports, best first."""
    return [name for name in _ORDER if name == "asyncio" or hasattr(select, name)]


def native() -> list[str]:
    """The backends with a loop of their own (not ``"asyncio"``), best first."""
    return [name for name in available() if name != "asyncio"]


def _resolveName(name: str | None) -> str:
    if name is None:
        name = os.environ.get("TORSION_REACTOR") or None
    if name is None:
        return available()[0]
    name = name.strip().lower()
    if name not in _ORDER:
        raise ValueError(
            f"unknown reactor backend {name!r}: choose one of {', '.join(available())}"
        )
    if name not in available():
        raise ValueError(f"reactor backend {name!r} is not available on this platform")
    return name


def create(name: str | None = None, loop: Any = None) -> Reactor:
    """Create a new, independent reactor on backend ``name`` (see module docs).

    On a native backend it is a ``torsion.aio.EventLoop``: an asyncio event
    loop as well.  On ``"asyncio"`` it runs on ``loop``, else on the running
    asyncio loop, else on a new loop of its own.
    """
    backend_name = "asyncio" if loop is not None and name is None else _resolveName(name)
    if backend_name == "asyncio":
        import asyncio

        from torsion._aio.foreign import AsyncioReactor

        ownsLoop = False
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
                ownsLoop = True
        return AsyncioReactor(loop, ownsLoop)
    if loop is not None:
        raise ValueError(f"loop= is for the asyncio backend, not {backend_name!r}")
    from torsion._aio.loop import EventLoop

    module = importlib.import_module(f"torsion._core.backends.{backend_name}")
    return EventLoop(module.Backend())


def installed() -> Reactor | None:
    """The global reactor, if one is installed."""
    r = sys.modules.get("torsion.reactor")
    from torsion._reactor import Reactor

    return r if isinstance(r, Reactor) else None


def install(reactor: Reactor | str | None = None, loop: Any = None) -> Reactor:
    """Make ``reactor`` (or a new one on the named backend) the global reactor.

    ``install("asyncio", loop=loop)`` runs torsion on an existing asyncio loop.
    """
    if installed() is not None:
        raise error.ReactorAlreadyInstalledError("a reactor is already installed")
    if reactor is None or isinstance(reactor, str):
        reactor = create(reactor, loop=loop)
    import torsion

    sys.modules["torsion.reactor"] = reactor  # type: ignore[assignment]
    vars(torsion)["reactor"] = reactor  # what `from torsion import reactor` finds
    return reactor


def getGlobal() -> Reactor:
    """The global reactor, installing the default one if needed (typed access)."""
    r = installed()
    return install() if r is None else r
