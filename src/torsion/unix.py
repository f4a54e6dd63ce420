"""UNIX stream sockets, under the names of Twisted's ``internet.unix``.

``reactor.listenUNIX`` returns a ``Port``, ``reactor.connectUNIX`` a
``Connector``; their transports are ``Server`` and ``Client`` (with
descriptor passing).  The code lives in ``torsion._net.unix``.
"""

from torsion._net.unix import Client, Connector, Port, Server, connectUNIX, listenUNIX
from torsion._util import publish
from torsion.error import NoSuchFileError

__all__ = ["Client", "Connector", "NoSuchFileError", "Port", "Server", "connectUNIX", "listenUNIX"]

publish(globals(), __all__)
