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
        limits.add_argument(
            "--idle-timeout",
            type=_positive(float),
            default=60.0,
            metavar="SECONDS",
            help="close connections that make no progress for this long; "
            "408 if a request was half-sent (default: 60)",
        )
        limits.add_argument(
            "--max-header-size",
            type=_positive(int),
            default=16 * 1024,
            metavar="BYTES",
            help="largest request head (request line and header fields), else 431; "
            "also how many bytes of pipelined requests are read ahead (default: 16384)",
        )
        limits.add_argument(
            "--max-header-count",
            type=_positive(int),
            default=100,
            metavar="N",
            help="most header fields in a request, else 431 (default: 100)",
        )
        limits.add_argument(
            "--max-request-line",
            type=_positive(int),
            default=8 * 1024,
            metavar="BYTES",
            help="longest request line (method, target, version), else 414 (default: 8192)",
        )
        limits.add_argument(
            "--max-body-size",
            type=_positive(int),
            default=1024 * 1024,
            metavar="BYTES",
            help="largest request body read (and discarded), else 413 (default: 1048576)",
        )
        limits.add_argument(
            "--max-pipelined",
            type=_positive(int),
            default=16,
            metavar="N",
            help="while a response waits on a slow client, stop reading once N more "
            "requests wait behind it (default: 16)",
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
        return WebFactory(
            reactor,
            site,
            timeout=options.idle_timeout,
            maxHeaderBytes=options.max_header_size,
            maxHeaderCount=options.max_header_count,
            maxRequestLine=options.max_request_line,
            maxBodyBytes=options.max_body_size,
            maxPipelined=options.max_pipelined,
            accessLog=options.access_log,
        )


service = WebService()
