"""The addresses of process and standard-I/O transports (they have nothing to say)."""

from __future__ import annotations

from torsion.address import _NoAddress
from torsion.address import _ProcessAddress as ProcessAddress

__all__ = ["PipeAddress", "ProcessAddress"]


class PipeAddress(_NoAddress):
    """The address of either end of StandardIO."""
