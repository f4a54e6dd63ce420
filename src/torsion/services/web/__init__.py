"""The ``web`` service: a static file server over HTTP/1.1.

It serves a folder with keep-alive, HEAD, byte ranges (206/416), conditional
requests (304 on If-Modified-Since or If-None-Match), Content-Type from the
file name, HTML directory listings, and refuses paths that leave the folder.
Names that start with a dot are hidden unless ``--allow-dotfiles`` is given.
Each limit on what a client may send has an option (see ``addOptions``).
HTTP parsing is h11's, installed with ``pip install 'torsion[web]'``.
``_site`` decides what to send, ``_channel`` speaks HTTP on a connection.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from torsion.services import ServiceError

__all__ = ["WebService", "service"]


def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
        return value

    return convert


#: The limits on each client: option, WebFactory argument, type, default, metavar, help.
_LIMITS = [
    (
        "--idle-timeout",
        "timeout",
        float,
        60.0,
        "SECONDS",
        "close connections that make no progress for this long; 408 if a request was half-sent",
    ),
    (
        "--max-header-size",
        "maxHeaderBytes",
        int,
        16 * 1024,
        "BYTES",
        "largest request head (request line and header fields), else 431; "
        "also how many bytes of pipelined requests are read ahead",
    ),
    ("--max-header-count", "maxHeaderCount", int, 100, "N", "most header fields, else 431"),
    (
        "--max-request-line",
        "maxRequestLine",
        int,
        8 * 1024,
        "BYTES",
        "longest request line (method, target, version), else 414",
    ),
    (
        "--max-body-size",
        "maxBodyBytes",
        int,
        1024 * 1024,
        "BYTES",
        "largest request body read (and discarded), else 413",
    ),
    (
        "--max-pipelined",
        "maxPipelined",
        int,
        16,
        "N",
        "while a response waits on a slow client, stop reading once N more "
        "requests wait behind it",
    ),
]


class WebService:
    name = "web"
    summary = "serve the files of a folder over HTTP/1.1 (needs torsion[web])"
    defaultListen = "tcp:8080"

    def addOptions(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--path", default=".", metavar="DIR", help="the folder to serve (default: .)"
        )
        parser.add_argument(
            "--no-listing",
            dest="listing",
            action="store_false",
            help="answer 403 for folders without an index.html instead of listing them",
        )
        parser.add_argument(
            "--allow-dotfiles",
            action="store_true",
            help="serve and list files and folders whose names start with a dot "
            "(.git/, .env ...); by default they are answered 404, as if absent",
        )
        limits = parser.add_argument_group("limits on each client")
        for flag, _, kind, default, metavar, what in _LIMITS:
            shown = f"{default:g}" if kind is float else default
            limits.add_argument(
                flag,
                type=_positive(kind),
                default=default,
                metavar=metavar,
                help=f"{what} (default: {shown})",
            )
        parser.add_argument(
            "--access-log",
            action="store_true",
            help="log every request (logger torsion.web.access, level info)",
        )

    def makeFactory(self, reactor: Any, options: argparse.Namespace) -> Any:
        try:
            import h11  # noqa: F401
        except ImportError:
            raise ServiceError(
                "the web service needs h11, which is not installed: pip install 'torsion[web]'"
            ) from None
        from torsion.services.web._channel import WebFactory
        from torsion.services.web._site import StaticSite

        root = options.path
        if not os.path.isdir(root):
            raise ServiceError(f"--path {root!r} is not a folder")
        if not os.access(root, os.R_OK | os.X_OK):
            raise ServiceError(f"--path {root!r} cannot be read")
        site = StaticSite(root, listings=options.listing, dotfiles=options.allow_dotfiles)
        limits = {name: getattr(options, flag[2:].replace("-", "_")) for flag, name, *_ in _LIMITS}
        return WebFactory(reactor, site, accessLog=options.access_log, **limits)


service = WebService()
