"""torsion: an event-driven networking engine with Twisted's core API.

``from torsion import reactor`` gives the global reactor; see ``torsion.defer``,
``torsion.protocol``, ``torsion.endpoints`` and the guide in ``docs/``.
"""

__version__ = "0.1.0"
