"""Endpoint descriptions, kind by kind: ``"tcp:8080"`` to ``TCP4ServerEndpoint``.

The grammar (``torsion._endpoints.grammar``) splits and checks a description;
the tables here say, for each endpoint type, which arguments it takes and how
to build the endpoint from them.  ``serverFromString``/``clientFromString``
are the public entry points.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from torsion._endpoints.grammar import (
    _bindAddress,
    _build,
    _flag,
    _Kind,
    _mode,
    _nonEmpty,
    _port,
    _positiveInt,
    _seconds,
    _text,
)
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
from torsion._tls.options import CertificateOptions, optionsForClientTLS

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

    Types: ``tcp:PORT`` and ``tcp6:PORT`` (``interface``, ``backlog``),
    ``unix:PATH`` (``mode`` in octal, ``backlog``, ``lockfile``),
    ``ssl:PORT`` (``privateKey``, ``certKey``, ``extraCertChain``, ``interface``,
    ``backlog``).  ``\\`` escapes ``:``, ``=`` and itself.  A malformed
    description raises ValueError naming the bad part.
    """
    return parseServer(reactor, description)


def clientFromString(reactor: Any, description: str) -> Any:
    """A client endpoint from a description such as ``"tcp:host=example.org:port=80"``.

    Types: ``tcp:HOST:PORT`` and ``tcp6:HOST:PORT`` (``timeout``,
    ``bindAddress``), ``unix:PATH`` (``timeout``, ``checkPID``),
    ``tls:HOST:PORT`` (``timeout``, ``bindAddress``, ``trustRoots``,
    ``certificate``, ``privateKey``, ``endpoint``) and ``ssl:HOST:PORT`` (as
    Twisted's, with ``caCertsDir``, ``certKey``, ``privateKey``).  TLS clients
    verify the server's certificate and host name.
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


def _buildTCP(reactor: Any, v: dict[str, Any]) -> Any:
    return TCP4ServerEndpoint(reactor, v["port"], v.get("backlog", 50), v.get("interface", ""))


def _buildTCP6(reactor: Any, v: dict[str, Any]) -> Any:
    return TCP6ServerEndpoint(reactor, v["port"], v.get("backlog", 50), v.get("interface", "::"))


def _buildUNIX(reactor: Any, v: dict[str, Any]) -> Any:
    return UNIXServerEndpoint(
        reactor,
        v["address"],
        v.get("backlog", 50),
        v.get("mode", 0o666),
        int(v.get("lockfile", False)),
    )


def _buildSSL(reactor: Any, v: dict[str, Any]) -> Any:
    keyPath = v.get("privateKey", "server.pem")
    certificate = _privateCertificate(v.get("certKey", keyPath), keyPath)
    options = CertificateOptions(
        privateKey=certificate.privateKey,
        certificate=certificate,
        extraCertChain=_chain(v["extraCertChain"]) if "extraCertChain" in v else None,
    )
    return SSL4ServerEndpoint(
        reactor, v["port"], options, v.get("backlog", 50), v.get("interface", "")
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
    return UNIXClientEndpoint(
        reactor, v["path"], v.get("timeout", 30), int(v.get("checkPID", False))
    )


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
    options = _clientTLSOptions(v["host"], v, "caCertsDir", "certKey")
    return SSL4ClientEndpoint(
        reactor, v["host"], v["port"], options, v.get("timeout", 30), v.get("bindAddress")
    )


_LISTEN_OPTIONS: dict[str, Callable[[str], Any]] = {
    "port": _port,
    "interface": _text,
    "backlog": _positiveInt,
}
_CONNECT_OPTIONS: dict[str, Callable[[str], Any]] = {
    "host": _nonEmpty,
    "port": _port,
    "timeout": _seconds,
    "bindAddress": _bindAddress,
}

_SERVER_KINDS: dict[str, _Kind] = {
    "tcp": _Kind(("port",), _LISTEN_OPTIONS, _buildTCP, ("port",)),
    "tcp6": _Kind(("port",), _LISTEN_OPTIONS, _buildTCP6, ("port",)),
    "unix": _Kind(
        ("address",),
        {"address": _nonEmpty, "mode": _mode, "backlog": _positiveInt, "lockfile": _flag},
        _buildUNIX,
        ("address",),
    ),
    "ssl": _Kind(
        ("port",),
        {
            **_LISTEN_OPTIONS,
            "privateKey": _nonEmpty,
            "certKey": _nonEmpty,
            "extraCertChain": _nonEmpty,
        },
        _buildSSL,
        ("port",),
    ),
}

_CLIENT_KINDS: dict[str, _Kind] = {
    "tcp": _Kind(("host", "port"), _CONNECT_OPTIONS, _buildTCPClient, ("host", "port")),
    "tcp6": _Kind(("host", "port"), _CONNECT_OPTIONS, _buildTCP6Client, ("host", "port")),
    "unix": _Kind(
        ("path",),
        {"path": _nonEmpty, "timeout": _seconds, "checkPID": _flag},
        _buildUNIXClient,
        ("path",),
    ),
    "tls": _Kind(
        ("host", "port"),
        {
            **_CONNECT_OPTIONS,
            "trustRoots": _nonEmpty,
            "certificate": _nonEmpty,
            "privateKey": _nonEmpty,
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
        },
        _buildSSLClient,
        ("host", "port"),
    ),
}
