"""Twisted's own echo or chargen (``twisted.protocols.wire``), for ``twist`` has neither.

    python twisted_wire.py echo|chargen ENDPOINT...

Listens on each endpoint description, logs as ``twist`` does (text, to
stdout) and stops on SIGTERM or SIGINT, when Twisted's reactor exits 0.
"""

from __future__ import annotations

import sys

from twisted.internet import endpoints, reactor
from twisted.internet.protocol import Factory
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.protocols import wire

service, *listens = sys.argv[1:]
globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
factory = Factory.forProtocol({"echo": wire.Echo, "chargen": wire.Chargen}[service])
for description in listens:
    endpoints.serverFromString(reactor, description).listen(factory)
reactor.run()  # type: ignore[attr-defined]
