"""Endpoints, under the names of Twisted's ``internet.endpoints``.

A server endpoint's ``listen(factory)`` returns a Deferred of the listening
port; a client endpoint's ``connect(factory)`` returns a Deferred of the
connected protocol.  ``serverFromString``/``clientFromString`` build them from
descriptions such as ``"tcp:8080:interface=127.0.0.1"``.  The code lives in
``torsion._endpoints``: ``grammar`` (descriptions), ``stream`` (TCP, UNIX,
TLS, host names), ``process`` (child processes and stdio), ``adopted``
(sockets made elsewhere, systemd), ``kinds`` (the table of description types).
"""

from torsion._endpoints.adopted import AdoptedStreamServerEndpoint
from torsion._endpoints.kinds import (  # noqa: F401  (the _-names: Twisted's, for its tests)
    _StandardIOParser,
    _SystemdParser,
    _TCP6ServerParser,
    clientFromString,
    quoteStringArgument,
    serverFromString,
)
from torsion._endpoints.process import (  # noqa: F401  (_WrapIProtocol: Twisted's name)
    ProcessEndpoint,
    StandardErrorBehavior,
    StandardIOEndpoint,
    _WrapIProtocol,
)
from torsion._endpoints.stream import (
    HostnameEndpoint,
    SSL4ClientEndpoint,
    SSL4ServerEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    _WrapperEndpoint,  # noqa: F401  (Twisted's private name, used by its tests)
    connectProtocol,
    wrapClientTLS,
    wrapServerTLS,
)

# Twisted's private name of a resolver over a getaddrinfo-like callable, which
# Twisted's own endpoint tests use (they run against torsion too).
from torsion._net.resolver import SimpleHostnameResolver as _SimpleHostnameResolver  # noqa: F401
from torsion._util import publish

__all__ = [
    "AdoptedStreamServerEndpoint",
    "HostnameEndpoint",
    "ProcessEndpoint",
    "SSL4ClientEndpoint",
    "SSL4ServerEndpoint",
    "StandardErrorBehavior",
    "StandardIOEndpoint",
    "TCP4ClientEndpoint",
    "TCP4ServerEndpoint",
    "TCP6ClientEndpoint",
    "TCP6ServerEndpoint",
    "UNIXClientEndpoint",
    "UNIXServerEndpoint",
    "clientFromString",
    "connectProtocol",
    "quoteStringArgument",
    "serverFromString",
    "wrapClientTLS",
    "wrapServerTLS",
]

publish(globals(), __all__)
