"""Services the ``torsion`` command can run, and how third parties add more.

A service is any object with these attributes (see ``Service``):

- ``summary``: one line for ``torsion list``;
- ``defaultListen``: the endpoint used when no ``--listen`` is given;
- ``addOptions(parser)``: add the service's own options to an argparse parser;
- ``makeFactory(reactor, options)``: the protocol factory to listen with,
  built from the parsed options.  Raise ``ServiceError`` for a problem the
  user must fix (it is shown as one line, without a traceback).

A package adds a service by naming such an object (or a class whose instance
is one) in the ``torsion.services`` entry-point group; the entry point's name
is what users type after ``torsion run``::

    [project.entry-points."torsion.services"]
    hello = "mypackage.hello:HelloService"
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol

__all__ = [
    "ENTRY_POINT_GROUP",
    "Service",
    "ServiceError",
    "ServiceInfo",
    "find",
    "known",
    "seconds",
]

ENTRY_POINT_GROUP = "torsion.services"

_BUILTIN = {
    "echo": "torsion.services.simple:echo",
    "discard": "torsion.services.simple:discard",
    "chargen": "torsion.services.simple:chargen",
    "daytime": "torsion.services.simple:daytime",
    "portforward": "torsion.services.portforward:service",
    "web": "torsion.services.web:service",
}


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return value


class ServiceError(Exception):
    """A problem with a service's options or environment, told to the user in one line."""


class Service(Protocol):
    """What ``torsion run`` needs from a service (see the module notes)."""

    summary: str
    defaultListen: str

    def addOptions(self, parser: argparse.ArgumentParser) -> None: ...

    def makeFactory(self, reactor: Any, options: argparse.Namespace) -> Any: ...


@dataclass
class ServiceInfo:
    """A service known by name, loaded on first use."""

    name: str
    target: str  # "module:attribute"
    origin: str  # "torsion" or the distribution that provides it
    entryPoint: Any = None
    _loaded: Any = None

    def load(self) -> Service:
        """Import the service; ServiceError if it cannot be loaded or is not a service."""
        if self._loaded is not None:
            return self._loaded  # type: ignore[no-any-return]
        try:
            if self.entryPoint is not None:
                obj = self.entryPoint.load()
            else:
                moduleName, _, attribute = self.target.partition(":")
                obj = getattr(importlib.import_module(moduleName), attribute)
            if isinstance(obj, type):
                obj = obj()
        except Exception as e:
            raise ServiceError(
                f"service {self.name!r} ({self.target}, from {self.origin}) failed to load: "
                f"{type(e).__name__}: {e}"
            ) from None
        missing = [a for a in ("summary", "addOptions", "makeFactory") if not hasattr(obj, a)]
        if missing:
            raise ServiceError(
                f"service {self.name!r} ({self.target}) is not a torsion service: "
                f"it has no {', '.join(missing)}"
            )
        self._loaded = obj
        return obj  # type: ignore[no-any-return]


def known() -> dict[str, ServiceInfo]:
    """Every service by name: torsion's own, then those installed packages provide.

    A package cannot replace a built-in service; its entry is ignored.
    """
    services = {name: ServiceInfo(name, target, "torsion") for name, target in _BUILTIN.items()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in services:
            continue
        dist = getattr(ep, "dist", None)
        origin = getattr(dist, "name", None) or "an installed package"
        services[ep.name] = ServiceInfo(ep.name, ep.value, origin, ep)
    return services


def find(name: str) -> ServiceInfo:
    """The service called ``name``; ServiceError naming the known ones if there is none."""
    services = known()
    info = services.get(name)
    if info is None:
        raise ServiceError(
            f"unknown service {name!r}: choose one of {', '.join(sorted(services))} "
            "(see 'torsion list')"
        )
    return info
