"""Echo server in Twisted's idiom, on torsion or on Twisted's epoll reactor.

Only the imports differ between the two systems: the rest is the textbook
``Protocol.dataReceived -> transport.write`` echo and ``reactor.listenTCP``
(or ``listenSSL`` with ``PrivateCertificate.loadPEM(...).options()``).  On
Twisted, ``connectionMade`` also sets TCP_NODELAY, which torsion and asyncio
set by default.
"""

from __future__ import annotations

import _serve

args = _serve.parse(__doc__ or "", system=["torsion", "twisted", "torsion-uvloop"])

if args.system == "torsion-uvloop":
    # torsion on uvloop's loop (the asyncio backend), Twisted's idiom unchanged.
    import uvloop

    from torsion import reactors

    reactors.install("asyncio", loop=uvloop.new_event_loop())
    args.system = "torsion"

if args.system == "torsion":
    from torsion import reactor
    from torsion.protocol import Factory, Protocol
else:
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor
    from twisted.internet.protocol import Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class NoDelayEcho(Echo):
    # torsion and asyncio turn Nagle's algorithm off by default, Twisted does
    # not: without this, Twisted's TLS echo of 64 KiB waits ~40 ms per message
    # on delayed ACKs, and the benchmark would measure that.
    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)


factory = Factory.forProtocol(Echo if args.system == "torsion" else NoDelayEcho)
if args.tls:
    if args.system == "torsion":
        from torsion import ssl
    else:
        from twisted.internet import ssl
    with open(args.tls) as f:
        options = ssl.PrivateCertificate.loadPEM(f.read()).options()
    port = reactor.listenSSL(args.port, factory, options, args.backlog, "127.0.0.1")
else:
    port = reactor.listenTCP(args.port, factory, args.backlog, "127.0.0.1")
reactor.callWhenRunning(_serve.ready, port.getHost().port)
_serve.profiled(args.profile, reactor.run)
