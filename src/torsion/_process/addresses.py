"""The addresses of process and standard-I/O transports (they have nothing to say)."""

from __future__ import annotations

from torsion.address import _NoAddress
from torsion.address import _ProcessAddress as ProcessAddress
from torsion.interfaces import IAddress, implementer

__all__ = ["PipeAddress", "ProcessAddress"]


# Process and pipe addresses are addresses (they have no members to show it).
implementer(IAddress)(_NoAddress)


class PipeAddress(_NoAddress):
    """The address of either end of StandardIO."""
