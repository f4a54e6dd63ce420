"""A port forwarder: endpoints on both sides, the portforward service's factory between.

python examples/portforward.py LISTEN_PORT TARGET_HOST TARGET_PORT

Every connection to 127.0.0.1:LISTEN_PORT is relayed to TARGET_HOST:TARGET_PORT,
with backpressure both ways (see "Flow control" in docs/guide.md).  The same
thing, ready-made: ``torsion run portforward --connect HOST:PORT``.
"""

import sys
from typing import Any

from torsion import reactor
from torsion.endpoints import HostnameEndpoint, serverFromString
from torsion.services.portforward import ProxyFactory


def main(listenPort: str, host: str, port: str) -> None:
    target = HostnameEndpoint(reactor, host, int(port))
    server = serverFromString(reactor, f"tcp:{listenPort}:interface=127.0.0.1")

    def listening(p: Any) -> None:
        print(f"forwarding 127.0.0.1:{p.getHost().port} to {host}:{port}", flush=True)

    server.listen(ProxyFactory(target)).addCallback(listening)
    reactor.run()


if __name__ == "__main__":
    main(*sys.argv[1:])
