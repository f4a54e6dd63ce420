"""The ``torsion`` command: run ready-made network services.

    torsion list
    torsion run SERVICE [--listen ENDPOINT]... [--workers N|auto] [service options]
    torsion run MODULE:FUNCTION [ARG]...     (FUNCTION(reactor, *ARGS), as task.react)
    torsion [--reactor select|poll|epoll] [--log-level LEVEL] [--log-file FILE]
            [--log-format text|json] run ...

Global options may also follow ``run`` or the service name.  A mistake on the
command line or in an endpoint description is reported on one line of stderr
(exit status 2); a service that cannot start says why on one line (exit
status 1).  ``python -m torsion`` is the same command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import torsion
from torsion import reactors
from torsion.cli import _logging
from torsion.services import ServiceError, ServiceInfo, known, seconds

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors take one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _globalOptions(defaults: bool) -> _Parser:
    """The options every level accepts; only the top level sets defaults."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parent = _Parser(add_help=False)
    group = parent.add_argument_group("global options")
    group.add_argument(
        "--reactor",
        choices=reactors.available(),
        default=default(None),
        help="the readiness backend (default: $TORSION_REACTOR, else the best available)",
    )
    group.add_argument(
        "--log-level",
        choices=_logging.LEVELS,
        type=str.lower,
        default=default("info"),
        help="the least severe messages to log (default: info)",
    )
    group.add_argument(
        "--log-file",
        metavar="FILE",
        default=default(None),
        help="append the log to FILE instead of stderr",
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=default("text"),
        help="text lines, or one JSON object per line (default: text)",
    )
    return parent


def _serviceOptions() -> _Parser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--listen",
        action="append",
        metavar="ENDPOINT",
        help="where to listen, as an endpoint description such as tcp:8080, "
        "tcp:8080:interface=127.0.0.1, tcp6:8080, unix:/run/svc.sock or "
        "ssl:8443:privateKey=key.pem:certKey=cert.pem; may be repeated",
    )
    parent.add_argument(
        "--grace",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long open connections may take to finish (default: 10)",
    )
    parent.add_argument(
        "--workers",
        type=_workerCount,
        default=1,
        metavar="N",
        help="serve from N processes, each with its own reactor, behind a supervisor that "
        "restarts them and replaces them one at a time on SIGHUP; 'auto': one per core "
        "(default: 1, a single process)",
    )
    # How a supervisor starts a worker (torsion.cli._worker): its slot number.
    parent.add_argument("--supervised", type=int, default=None, help=argparse.SUPPRESS)
    return parent


def _workerCount(text: str) -> int:
    """An argparse type: a number of workers above 0, or ``auto`` (one per core)."""
    if text.strip().lower() == "auto":
        return os.cpu_count() or 1
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0 or 'auto'")
    return count


def _buildParser(services: dict[str, ServiceInfo]) -> tuple[_Parser, dict[str, Any]]:
    topGlobals = _globalOptions(defaults=True)
    laterGlobals = _globalOptions(defaults=False)
    parser = _Parser(
        prog="torsion",
        description="Run ready-made network services on torsion's reactor.",
        parents=[topGlobals],
        epilog="'torsion run SERVICE --help' shows a service's options.",
    )
    parser.add_argument("--version", action="version", version=f"torsion {torsion.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "list",
        help="list the services, one per line",
        description="List the services 'torsion run' can run.",
        parents=[laterGlobals],
    )
    runParser = commands.add_parser(
        "run",
        help="run a service",
        description="Run a service until SIGINT or SIGTERM.",
        parents=[laterGlobals],
    )
    servicesParsers = runParser.add_subparsers(dest="service", metavar="SERVICE", required=True)
    loaded: dict[str, Any] = {}
    for name, info in services.items():
        try:
            service = info.load()
        except ServiceError as e:
            loaded[name] = e
            servicesParsers.add_parser(name, help=f"(cannot load: {e})", add_help=False)
            continue
        loaded[name] = service
        sub = servicesParsers.add_parser(
            name,
            help=service.summary,
            description=service.summary[:1].upper() + service.summary[1:] + ".",
            parents=[laterGlobals, _serviceOptions()],
            epilog=f"Without --listen it listens on {service.defaultListen}.",
        )
        service.addOptions(sub)
    return parser, loaded


def _fail(message: str, status: int) -> int:
    print(f"torsion: error: {message}", file=sys.stderr)
    return status


def _runFunction(argv: list[str], at: int) -> int:
    """``torsion [global options] run MODULE:FUNCTION [ARG]...``: ``task.react`` on it.

    ``FUNCTION(reactor, *ARGS)`` may return a Deferred or be ``async def``; the
    exit status is ``task.react``'s.
    """
    import importlib

    from torsion import task

    parser = _globalOptions(defaults=True)
    options, rest = parser.parse_known_args(argv[:at])
    if rest:
        return _fail(f"unrecognized arguments: {' '.join(rest)}", 2)
    moduleName, _, name = argv[at + 1].partition(":")
    try:
        function = getattr(importlib.import_module(moduleName), name)
    except (ImportError, AttributeError) as e:
        return _fail(f"cannot load {argv[at + 1]!r}: {type(e).__name__}: {e}", 1)
    if not callable(function):
        return _fail(f"{argv[at + 1]!r} is not a function", 1)
    _logging.setup(options.log_level, options.log_file, options.log_format)
    reactor = reactors.install(reactors.create(options.reactor))
    try:
        task.react(function, argv[at + 2 :], _reactor=reactor)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0  # pragma: no cover - react always exits


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``torsion`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    from torsion.cli._runner import RunError, UsageError, run

    args = list(sys.argv[1:] if argv is None else argv)
    if "run" in args:
        at = args.index("run")
        if at + 1 < len(args) and ":" in args[at + 1] and not args[at + 1].startswith("-"):
            return _runFunction(args, at)
    services = known()
    parser, loaded = _buildParser(services)
    options = parser.parse_args(args)
    if options.command == "list":
        for name, service in loaded.items():
            summary = service.summary if not isinstance(service, Exception) else str(service)
            print(f"{name:<12} {summary}")
        return 0
    service = loaded[options.service]
    if isinstance(service, Exception):
        return _fail(str(service), 1)
    try:
        _logging.setup(options.log_level, options.log_file, options.log_format)
    except OSError as e:
        return _fail(f"--log-file: cannot open {options.log_file!r}: {e.strerror or e}", 2)
    try:
        if options.supervised is not None:
            from torsion.cli._worker import Worker

            run(options.service, service, options, Worker(options.supervised, service, options))
        elif options.workers > 1:
            from torsion.cli._workers import supervise

            options.commandLine = args
            supervise(options.service, service, options)
        else:
            run(options.service, service, options)
    except UsageError as e:
        return _fail(str(e), 2)
    except (RunError, ServiceError) as e:
        return _fail(str(e), 1)
    return 0
