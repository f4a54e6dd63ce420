"""The one way code below the reactor assembly reaches the global reactor.

Twisted lets ``reactor=None`` (and a few other defaults) mean "the global
reactor".  Modules that offer such a default sit below the module that builds
reactors, so they reach it through this function: the layers' only upward
edge, imported when first called so that importing torsion installs nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["globalReactor"]


def globalReactor() -> Any:
    """The global reactor, installing the default one on first use."""
    # Any: this module sits below the interfaces and the Reactor class, so it
    # cannot name either; callers annotate what they use of it.
    from torsion import reactors  # the one allowed upward import

    return reactors.getGlobal()
