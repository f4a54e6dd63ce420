"""Endpoint descriptions, kind by kind: ``"tcp:8080"`` to ``TCP4ServerEndpoint``.

The grammar (``torsion._endpoints.grammar``) splits and checks a description;
the tables here say, for each endpoint type, which arguments it takes and how
to build the endpoint from them.  ``serverFromString``/``clientFromString``
are the public entry points.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from typing import Any

from torsion._endpoints.adopted import systemdEndpoint
from torsion._endpoints.grammar import (
    _bindAddress,
    _boolean,
    _build,
    _digits,
    _flag,
    _Kind,
    _mode,
    _nonEmpty,
    _port,
    _positiveInt,
    _seconds,
    _text,
)
from torsion._endpoints.process import StandardIOEndpoint
from torsion._endpoints.stream import (
    HostnameEndpoint,
    SSL4ClientEndpoint,
    SSL4ServerEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    wrapClientTLS,
)
from torsion._tls.certs import Certificate, PrivateCertificate
from torsion._tls.options import (
    CertificateOptions,
    DiffieHellmanParameters,
    optionsForClientTLS,
)

__all__ = [
    "clientFromString",
    "parseClient",
    "parseServer",
    "quoteStringArgument",
    "serverFromString",
]


def parseServer(reactor: Any, description: str) -> Any:
    """Build the server endpoint ``description`` describes (see ``serverFromString``)."""
    return _build(_SERVER_KINDS, reactor, description, "server")


def parseClient(reactor: Any, description: str) -> Any:
    """Build the client endpoint ``description`` describes (see ``clientFromString``)."""
    return _build(_CLIENT_KINDS, reactor, description, "client")


def serverFromString(reactor: Any, description: str) -> Any:
    """A server endpoint from a description such as ``"tcp:8080:interface=127.0.0.1"``.

    Types (each parameter may be given in this order by position, or as
    ``name=value``): ``tcp:PORT:INTERFACE:BACKLOG``,
    ``tcp6:PORT:BACKLOG:INTERFACE``, ``unix:ADDRESS:MODE:BACKLOG:LOCKFILE``
    (``mode`` in octal; ``lockfile`` 1 by default, as in Twisted),
    ``ssl:PORT`` (``privateKey``, ``certKey``, ``sslmethod``, ``interface``,
    ``backlog``, ``extraCertChain``, ``dhParameters``); ``tcp``, ``tcp6``
    and ``ssl`` also take ``reusePort=true`` (by name only; torsion's
    addition: SO_REUSEPORT, see ``reactor.listenTCP``),
    ``systemd:domain=INET:index=0`` (or ``name=``; domains INET, INET6, UNIX)
    and ``stdio:``.  ``\\`` escapes ``:``, ``=`` and itself.  A malformed
    description raises ValueError naming the bad part.
    """
    return parseServer(reactor, description)


class _ServerParser:
    """One server type in the shape of Twisted's endpoint plugins
    (``IStreamServerEndpointStringParser``): ``prefix``, and
    ``parseStreamServer(reactor, *args, **kwargs)`` with the description's
    arguments.  torsion discovers no plugins; Twisted's names for the
    systemd, tcp6 and stdio parsers are these subclasses."""

    prefix = ""

    def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any:
        """The endpoint ``serverFromString`` builds from ``prefix:args:key=value``."""
        parts = [self.prefix, *(quoteStringArgument(str(a)) for a in args)]
        parts += [f"{k}={quoteStringArgument(str(v))}" for k, v in kwargs.items()]
        return serverFromString(reactor, ":".join(parts))


class _SystemdParser(_ServerParser):
    prefix = "systemd"


class _TCP6ServerParser(_ServerParser):
    prefix = "tcp6"


class _StandardIOParser(_ServerParser):
    prefix = "stdio"


def clientFromString(reactor: Any, description: str) -> Any:
    """A client endpoint from a description such as ``"tcp:host=example.org:port=80"``.

    Types: ``tcp:HOST:PORT`` and ``tcp6:HOST:PORT`` (``timeout``,
    ``bindAddress``; a single positional argument is the port when ``host=``
    is given), ``unix:PATH`` (``timeout``, ``lockfile`` or its other name
    ``checkPID``), ``tls:HOST:PORT`` (``timeout``, ``bindAddress``,
    ``certificate``, ``privateKey``, ``trustRoots``, ``endpoint``) and
    ``ssl:HOST:PORT`` (as Twisted's, with ``caCertsDir``, ``certKey``,
    ``privateKey``, ``hostname``).  TLS clients verify the server's
    certificate and host name.
    """
    return parseClient(reactor, description)


def quoteStringArgument(argument: str) -> str:
    """Escape ``argument`` for use as a value in an endpoint description."""
    return argument.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


class _LoadError(ValueError):
    """A file named in a description could not be used."""


def _readFile(path: str, what: str) -> bytes:
    try:
        with open(os.path.expanduser(path), "rb") as f:
            return f.read()
    except OSError as e:
        raise _LoadError(f"cannot read {what} file {path!r}: {e.strerror or e}") from None


def _privateCertificate(certPath: str, keyPath: str) -> Any:
    """A PrivateCertificate from a certificate file and a key file (maybe the same file)."""
    pem = _readFile(certPath, "certificate")
    if keyPath != certPath:
        pem = pem.rstrip(b"\n") + b"\n" + _readFile(keyPath, "private key")
    try:
        return PrivateCertificate.loadPEM(pem)
    except Exception as e:
        raise _LoadError(
            f"no certificate and private key in {certPath!r}/{keyPath!r}: {e}"
        ) from None


def _chain(path: str) -> list[Any]:
    """Every PEM certificate in a file (intermediates sent along with ours)."""
    pem = _readFile(path, "extraCertChain")
    end = b"-----END CERTIFICATE-----"
    blocks = [block + end for block in pem.split(end) if b"-----BEGIN CERTIFICATE-----" in block]
    if not blocks:
        raise _LoadError(f"extraCertChain file {path!r} holds no PEM certificate")
    return [Certificate.loadPEM(block) for block in blocks]


def _trustRoot(path: str, what: str) -> str:
    """A CA file or a folder of CA files, checked to exist (torsion.ssl reads it)."""
    if not os.path.exists(os.path.expanduser(path)):
        raise _LoadError(f"{what} {path!r} does not exist")
    return os.path.expanduser(path)


def _clientTLSOptions(host: str, values: dict[str, Any], trustKey: str, certKey: str) -> Any:
    trustRoot = _trustRoot(values[trustKey], trustKey) if trustKey in values else None
    clientCertificate = None
    if certKey in values:
        clientCertificate = _privateCertificate(
            values[certKey], values.get("privateKey", values[certKey])
        )
    elif "privateKey" in values:
        raise _LoadError(f"privateKey needs {certKey}= (the client certificate)")
    return optionsForClientTLS(host, trustRoot=trustRoot, clientCertificate=clientCertificate)


def _tcpServer(endpointClass: Any, anyInterface: str) -> Callable[[Any, dict[str, Any]], Any]:
    """The builder of ``tcp:`` or ``tcp6:`` server endpoints."""

    def build(reactor: Any, v: dict[str, Any]) -> Any:
        return endpointClass(
            reactor,
            v["port"],
            v.get("backlog", 50),
            v.get("interface", anyInterface),
            reusePort=v.get("reusePort", False),
        )

    return build


_buildTCP = _tcpServer(TCP4ServerEndpoint, "")
_buildTCP6 = _tcpServer(TCP6ServerEndpoint, "::")


def _buildUNIX(reactor: Any, v: dict[str, Any]) -> Any:
    return UNIXServerEndpoint(
        reactor,
        v["address"],
        v.get("backlog", 50),
        v.get("mode", 0o666),
        int(v.get("lockfile", True)),  # Twisted's default: take the PID lock
    )


#: ``sslmethod=`` values (names of OpenSSL methods in Twisted): None negotiates.
_SSL_METHODS: dict[str, ssl.TLSVersion | None] = {
    "SSLv23_METHOD": None,
    "TLS_METHOD": None,
    "TLSv1_2_METHOD": ssl.TLSVersion.TLSv1_2,
}


def _sslMethod(text: str) -> ssl.TLSVersion | None:
    if text not in _SSL_METHODS:
        known = ", ".join(_SSL_METHODS)
        raise ValueError(f"{text!r} is not one torsion offers ({known}; TLS 1.2 is the minimum)")
    return _SSL_METHODS[text]


def _buildSSL(reactor: Any, v: dict[str, Any]) -> Any:
    keyPath = v.get("privateKey", "server.pem")
    certificate = _privateCertificate(v.get("certKey", keyPath), keyPath)
    dhParameters = None
    if "dhParameters" in v:
        dhParameters = DiffieHellmanParameters(_trustRoot(v["dhParameters"], "dhParameters"))
    options = CertificateOptions(
        privateKey=certificate.privateKey,
        certificate=certificate,
        method=v.get("sslmethod"),
        extraCertChain=_chain(v["extraCertChain"]) if "extraCertChain" in v else None,
        dhParameters=dhParameters,
    )
    return SSL4ServerEndpoint(
        reactor,
        v["port"],
        options,
        v.get("backlog", 50),
        v.get("interface", ""),
        reusePort=v.get("reusePort", False),
    )


def _buildTCPClient(reactor: Any, v: dict[str, Any]) -> Any:
    return TCP4ClientEndpoint(
        reactor, v["host"], v["port"], v.get("timeout", 30), v.get("bindAddress")
    )


def _buildTCP6Client(reactor: Any, v: dict[str, Any]) -> Any:
    return TCP6ClientEndpoint(
        reactor, v["host"], v["port"], v.get("timeout", 30), v.get("bindAddress")
    )


def _buildUNIXClient(reactor: Any, v: dict[str, Any]) -> Any:
    if "lockfile" in v and "checkPID" in v:
        raise ValueError("lockfile= and checkPID= are one option: give one of them")
    checkPID = v.get("lockfile", v.get("checkPID", False))
    return UNIXClientEndpoint(reactor, v["path"], v.get("timeout", 30), int(checkPID))


def _buildTLSClient(reactor: Any, v: dict[str, Any]) -> Any:
    options = _clientTLSOptions(v["host"], v, "trustRoots", "certificate")
    if "endpoint" in v:
        wrapped = parseClient(reactor, v["endpoint"])
    else:
        wrapped = HostnameEndpoint(
            reactor, v["host"], v["port"], v.get("timeout", 30), v.get("bindAddress")
        )
    return wrapClientTLS(options, wrapped)


def _buildSSLClient(reactor: Any, v: dict[str, Any]) -> Any:
    options = _clientTLSOptions(v.get("hostname", v["host"]), v, "caCertsDir", "certKey")
    return SSL4ClientEndpoint(
        reactor, v["host"], v["port"], options, v.get("timeout", 30), v.get("bindAddress")
    )


def _buildSystemd(reactor: Any, v: dict[str, Any]) -> Any:
    return systemdEndpoint(reactor, v["domain"], v.get("index"), v.get("name"))


def _buildStdio(reactor: Any, v: dict[str, Any]) -> Any:
    return StandardIOEndpoint(reactor)


def _index(text: str) -> int:
    if _digits(text) < 0:
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


_LISTEN_OPTIONS: dict[str, Callable[[str], Any]] = {
    "port": _port,
    "interface": _text,
    "backlog": _positiveInt,
    "reusePort": _boolean,  # torsion only, and only by name
}
_CONNECT_OPTIONS: dict[str, Callable[[str], Any]] = {
    "host": _nonEmpty,
    "port": _port,
    "timeout": _seconds,
    "bindAddress": _bindAddress,
}

_SERVER_KINDS: dict[str, _Kind] = {
    "tcp": _Kind(("port", "interface", "backlog"), _LISTEN_OPTIONS, _buildTCP, ("port",)),
    "tcp6": _Kind(("port", "backlog", "interface"), _LISTEN_OPTIONS, _buildTCP6, ("port",)),
    "unix": _Kind(
        ("address", "mode", "backlog", "lockfile"),
        {"address": _nonEmpty, "mode": _mode, "backlog": _positiveInt, "lockfile": _flag},
        _buildUNIX,
        ("address",),
    ),
    "ssl": _Kind(
        (
            "port",
            "privateKey",
            "certKey",
            "sslmethod",
            "interface",
            "backlog",
            "extraCertChain",
            "dhParameters",
        ),
        {
            **_LISTEN_OPTIONS,
            "privateKey": _nonEmpty,
            "certKey": _nonEmpty,
            "sslmethod": _sslMethod,
            "extraCertChain": _nonEmpty,
            "dhParameters": _nonEmpty,
        },
        _buildSSL,
        ("port",),
    ),
    "systemd": _Kind(
        ("domain", "index", "name"),
        {"domain": _nonEmpty, "index": _index, "name": _nonEmpty},
        _buildSystemd,
        ("domain",),
    ),
    "stdio": _Kind((), {}, _buildStdio),
}

_CLIENT_KINDS: dict[str, _Kind] = {
    "tcp": _Kind(
        ("host", "port"), _CONNECT_OPTIONS, _buildTCPClient, ("host", "port"), fillFree=True
    ),
    "tcp6": _Kind(
        ("host", "port"), _CONNECT_OPTIONS, _buildTCP6Client, ("host", "port"), fillFree=True
    ),
    "unix": _Kind(
        ("path",),
        {"path": _nonEmpty, "timeout": _seconds, "lockfile": _flag, "checkPID": _flag},
        _buildUNIXClient,
        ("path",),
    ),
    "tls": _Kind(
        (
            "host",
            "port",
            "timeout",
            "bindAddress",
            "certificate",
            "privateKey",
            "trustRoots",
            "endpoint",
        ),
        {
            **_CONNECT_OPTIONS,
            "certificate": _nonEmpty,
            "privateKey": _nonEmpty,
            "trustRoots": _nonEmpty,
            "endpoint": _nonEmpty,
        },
        _buildTLSClient,
        ("host", "port"),
    ),
    "ssl": _Kind(
        ("host", "port"),
        {
            **_CONNECT_OPTIONS,
            "caCertsDir": _nonEmpty,
            "certKey": _nonEmpty,
            "privateKey": _nonEmpty,
            "hostname": _nonEmpty,
        },
        _buildSSLClient,
        ("host", "port"),
        fillFree=True,
    ),
}
