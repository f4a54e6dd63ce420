"""A service for the ``torsion`` command, from a third-party package.

Declared in the package's pyproject.toml:

    [project.entry-points."torsion.services"]
    hello = "hello_service:HelloService"

then ``torsion list`` shows it and ``torsion run hello --greeting Hi`` runs it.
"""

import argparse
from typing import Any

from torsion.protocol import Factory, Protocol


class Hello(Protocol):
    def connectionMade(self) -> None:
        self.transport.write(
            f"{self.factory.greeting}, {self.transport.getPeer().host}!\r\n".encode()
        )
        self.transport.loseConnection()


class HelloService:
    summary = "greet each client, then close"
    defaultListen = "tcp:8123"

    def addOptions(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--greeting", default="Hello", help="what to say (default: Hello)")

    def makeFactory(self, reactor: Any, options: argparse.Namespace) -> Factory:
        factory = Factory.forProtocol(Hello)
        factory.greeting = options.greeting
        return factory
