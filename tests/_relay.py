"""A child process for the transport contract's "process" kind (stdlib only).

``python _relay.py PATH`` connects to the UNIX socket PATH and relays bytes
both ways: its stdin to the socket, the socket to its stdout.  So the test's
process transport (the parent's pipes) has, at the far end, a peer in the test
process that it can drive: the UNIX server protocol.

* EOF on stdin (the parent closed our stdin): half-close the socket, keep
  relaying the other way.
* EOF on the socket (the peer closed): exit 0, which closes stdin and stdout.
* Any error (a reset, a write to a closed pipe): exit 1 at once.
"""

from __future__ import annotations

import os
import socket
import sys
import threading


def upstream(sock: socket.socket) -> None:
    """Stdin to the socket; EOF becomes a half-close."""
    try:
        while True:
            data = os.read(0, 65536)
            if not data:
                sock.shutdown(socket.SHUT_WR)
                return
            sock.sendall(data)
    except OSError:
        os._exit(1)


def downstream(sock: socket.socket) -> None:
    """The socket to stdout; EOF ends the relay."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                os._exit(0)
            view = memoryview(data)
            while view:
                view = view[os.write(1, view) :]
    except OSError:
        os._exit(1)


def main() -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    threading.Thread(target=upstream, args=(sock,), daemon=True).start()
    downstream(sock)


if __name__ == "__main__":
    main()
