"""Server endpoints on sockets made elsewhere: ``AdoptedStreamServerEndpoint``, systemd.

``AdoptedStreamServerEndpoint(reactor, fileno, addressFamily).listen(factory)``
makes ``fileno`` (a listening stream socket) non-blocking, hands it to
``reactor.adoptStreamPort`` -- which works on a duplicate -- and closes
``fileno``: the endpoint owns the descriptor it is given, and can listen once.

systemd socket activation passes listening sockets as descriptors 3, 4, ...
with ``LISTEN_PID`` (our PID), ``LISTEN_FDS`` (how many) and
``LISTEN_FDNAMES`` (their names, ``:``-separated) in the environment.
``inheritedDescriptors()`` reads them once, as Twisted does, and removes the
variables so that child processes do not believe they were passed too.  The
``systemd:domain=INET:index=0`` (or ``name=...``) server description builds
an ``AdoptedStreamServerEndpoint`` on one of them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import MutableMapping
from typing import Any

from torsion import defer, error

__all__ = ["AdoptedStreamServerEndpoint", "inheritedDescriptors", "systemdEndpoint"]

_SYSTEMD_FIRST_FD = 3


class AdoptedStreamServerEndpoint:
    """Listen on a listening stream socket made outside the reactor (see module notes)."""

    #: How the descriptor is closed and made non-blocking (replaceable in tests).
    _close = staticmethod(os.close)
    _setNonBlocking = staticmethod(lambda fd: os.set_blocking(fd, False))

    def __init__(self, reactor: Any, fileno: int, addressFamily: int) -> None:
        self.reactor = reactor
        self.fileno = fileno
        self.addressFamily = addressFamily
        self._used = False

    def __repr__(self) -> str:
        return f"<AdoptedStreamServerEndpoint fd={self.fileno}>"

    def listen(self, factory: Any) -> defer.Deferred[Any]:
        """Start accepting on the descriptor; fires with the port (only once)."""
        if self._used:
            return defer.fail(error.AlreadyListened("this endpoint's descriptor is used up"))
        self._used = True
        try:
            self._setNonBlocking(self.fileno)
            port = self.reactor.adoptStreamPort(self.fileno, self.addressFamily, factory)
            self._close(self.fileno)
        except Exception:
            return defer.fail()
        return defer.succeed(port)


_inherited: tuple[list[int], list[str]] | None = None


def _readEnvironment(environ: MutableMapping[str, str]) -> tuple[list[int], list[str]]:
    """The descriptors and names systemd passed to this process (and forget them)."""
    if environ.get("LISTEN_PID") != str(os.getpid()):
        return [], []
    try:
        count = int(environ["LISTEN_FDS"])
    except (KeyError, ValueError):
        return [], []
    names = environ.get("LISTEN_FDNAMES", "")
    for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(key, None)
    descriptors = list(range(_SYSTEMD_FIRST_FD, _SYSTEMD_FIRST_FD + count))
    nameList = names.split(":") if names else []
    if len(nameList) != len(descriptors):
        nameList = []  # systemd gives one name per descriptor, or none at all
    return descriptors, nameList


def inheritedDescriptors() -> tuple[list[int], list[str]]:
    """``(descriptors, names)`` passed by systemd (read from the environment once)."""
    global _inherited
    if _inherited is None:
        _inherited = _readEnvironment(os.environ)
    return list(_inherited[0]), list(_inherited[1])


def systemdEndpoint(
    reactor: Any, domain: str, index: int | None = None, name: str | None = None
) -> AdoptedStreamServerEndpoint:
    """The endpoint of a ``systemd:`` description (``domain``: INET, INET6 or UNIX)."""
    if (index is None) == (name is None):
        raise ValueError("give exactly one of index= and name=")
    family = {"INET": socket.AF_INET, "INET6": socket.AF_INET6, "UNIX": socket.AF_UNIX}.get(
        domain.upper()
    )
    if family is None:
        raise ValueError(f"domain must be INET, INET6 or UNIX, not {domain!r}")
    descriptors, names = inheritedDescriptors()
    if index is not None:
        if index >= len(descriptors):
            raise ValueError(
                f"index {index} is out of range: systemd passed {len(descriptors)} descriptor(s)"
            )
        fileno = descriptors[index]
    else:
        if name not in names:
            known = ", ".join(names) or "none"
            raise ValueError(f"systemd passed no descriptor named {name!r} (named: {known})")
        fileno = descriptors[names.index(name)]
    return AdoptedStreamServerEndpoint(reactor, fileno, family)
