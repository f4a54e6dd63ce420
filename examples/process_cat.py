"""Pipe this program's stdin through a `cat` child process and print what comes back.

python examples/process_cat.py < some-file

Shows reactor.spawnProcess and a ProcessProtocol: write to the child's stdin,
close it, collect its stdout, and learn how it ended.
"""

import shutil
import sys

from torsion import error, reactor
from torsion.failure import Failure
from torsion.protocol import ProcessProtocol


class CatProtocol(ProcessProtocol):
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.received: list[bytes] = []
        self.exitCode = 1

    def connectionMade(self) -> None:
        self.transport.write(self.payload)
        self.transport.closeStdin()  # cat exits at EOF

    def outReceived(self, data: bytes) -> None:
        self.received.append(data)

    def errReceived(self, data: bytes) -> None:
        sys.stderr.buffer.write(data)

    def processEnded(self, reason: Failure) -> None:
        if reason.check(error.ProcessDone):
            self.exitCode = 0
        else:
            print(f"cat failed: {reason.getErrorMessage()}", file=sys.stderr)
        sys.stdout.buffer.write(b"".join(self.received))
        sys.stdout.flush()
        reactor.stop()


def main() -> int:
    payload = sys.stdin.buffer.read()
    cat = shutil.which("cat") or "/bin/cat"
    protocol = CatProtocol(payload)
    reactor.spawnProcess(protocol, cat, [cat], env={})
    reactor.run()
    return protocol.exitCode


if __name__ == "__main__":
    sys.exit(main())
