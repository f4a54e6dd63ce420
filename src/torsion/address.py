"""Address objects returned by ``getHost()`` and ``getPeer()``.

They are frozen dataclasses, so they compare and hash by value, as in Twisted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

__all__ = ["HostnameAddress", "IPv4Address", "IPv6Address", "UNIXAddress"]


@dataclass(frozen=True, slots=True)
class IPv4Address:
    """An IPv4 socket address: ``type`` is ``"TCP"`` or ``"UDP"``."""

    type: Literal["TCP", "UDP"]
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class IPv6Address:
    """An IPv6 socket address; ``flowInfo`` and ``scopeID`` as in ``sockaddr_in6``."""

    type: Literal["TCP", "UDP"]
    host: str
    port: int
    flowInfo: int = 0
    scopeID: int | str = 0


@dataclass(frozen=True, slots=True)
class HostnameAddress:
    """A host name and port, before resolution."""

    hostname: bytes
    port: int


@dataclass(frozen=True, slots=True)
class UNIXAddress:
    """A UNIX socket address; ``name`` is the path (bytes), or None when unbound.

    As in Twisted, a ``str`` name is stored encoded (``os.fsencode``), and the
    repr shows it decoded.
    """

    name: bytes | None

    def __post_init__(self) -> None:
        if isinstance(self.name, str):
            object.__setattr__(self, "name", os.fsencode(self.name))

    def __repr__(self) -> str:
        name = None if self.name is None else os.fsdecode(self.name)
        return f"UNIXAddress({name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UNIXAddress):
            return NotImplemented
        if self.name == other.name:
            return True
        if self.name and other.name:
            try:
                return os.path.samefile(self.name, other.name)
            except OSError:
                return False
        return False

    def __hash__(self) -> int:
        return hash(("UNIX", self.name))


class _NoAddress:
    """An address with nothing to say: all instances of a class are equal."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _ProcessAddress(_NoAddress):
    """The address of either end of a process transport (Twisted's private name)."""
