"""An echo server on a UNIX socket.

python examples/unix_echo.py PATH [MODE]
    Listen on PATH with permissions MODE (octal, default 600: only this
    user may connect); a PATH starting with @ is a Linux abstract name (no
    file).  The socket file is removed on SIGINT/SIGTERM.

Try it with: socat - UNIX-CONNECT:PATH
"""

import sys

from torsion import reactor
from torsion.protocol import Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


def main(path: str, mode: str = "600") -> None:
    address = "\0" + path[1:] if path.startswith("@") else path
    reactor.listenUNIX(address, Factory.forProtocol(Echo), mode=int(mode, 8))
    print(f"unix echo server on {path} (mode {mode})", flush=True)
    reactor.run()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
