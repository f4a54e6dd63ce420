"""A UDP echo server: every datagram is sent back to where it came from.

python examples/udp_echo.py [PORT]

Stops on SIGINT or SIGTERM.
"""

import sys
from typing import Any

from torsion import reactor
from torsion.protocol import DatagramProtocol


class Echo(DatagramProtocol):
    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.transport.write(data, addr)


def main(port: int = 9999) -> None:
    listening = reactor.listenUDP(port, Echo(), interface="127.0.0.1")
    host = listening.getHost()
    print(f"udp echo on {host.host}:{host.port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9999)
