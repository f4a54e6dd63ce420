"""The global reactor.

``from torsion import reactor`` installs the default reactor (see
``torsion.reactors``) the first time and gives it to you; this module then
stands replaced by the reactor object itself, as in Twisted.
"""

from torsion import reactors as _reactors

if _reactors.installed() is None:
    _reactors.install()
