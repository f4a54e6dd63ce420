"""The addresses of process and standard-I/O transports (they have nothing to say)."""

from __future__ import annotations

from torsion.interfaces import IAddress, implementer

__all__ = ["PipeAddress", "ProcessAddress"]


@implementer(IAddress)
class _NoAddress:
    """An address with nothing to say: all instances of a class are equal."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ProcessAddress(_NoAddress):
    """The address of either end of a process transport."""


class PipeAddress(_NoAddress):
    """The address of either end of StandardIO."""
