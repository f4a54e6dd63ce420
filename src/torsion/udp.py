"""UDP, under the names of Twisted's ``internet.udp``.

``reactor.listenUDP`` returns a ``Port``, ``reactor.listenMulticast`` a
``MulticastPort``.  The code lives in ``torsion._net.udp``.
"""

from torsion._net.udp import MulticastPort, Port, listenMulticast, listenUDP
from torsion._util import publish

__all__ = ["MulticastPort", "Port", "listenMulticast", "listenUDP"]

publish(globals(), __all__)
