"""TCP transports, under the names of Twisted's ``internet.tcp``.

``reactor.listenTCP`` returns a ``Port``, ``reactor.connectTCP`` a
``Connector``; their transports are ``Server`` and ``Client``, both
``Connection``s.  The code lives
in ``torsion._net`` (``listen``, ``client``, ``stream``, ``tcp``).
"""

from torsion._net.tcp import Client, Connection, Connector, Port, Server
from torsion._util import publish

__all__ = ["Client", "Connection", "Connector", "Port", "Server"]

publish(globals(), __all__)
