"""TLS policy: context factories, trust roots and the options of a TLS connection.

``CertificateOptions`` (servers and clients), ``optionsForClientTLS(hostname,
...)`` (clients), a certificate's ``options()`` (servers), or simply an
``ssl.SSLContext`` tell a TLS connection (``torsion._tls.protocol``) which
certificate to present and what to trust.  Where torsion differs from
Twisted: TLS clients verify by default.  A client ``CertificateOptions``
checks the chain against ``trustRoot`` (the system store when none is given)
and the host name against the host it connects to, unless ``verify=False`` is
passed explicitly.  TLS 1.2 is the minimum version.  A handshake that does not
complete within ``handshakeTimeout`` seconds (30 by default) fails the
connection with ``HandshakeTimeoutError``.  Keys and certificates are objects
of ``Certificate``, ``PrivateCertificate`` and ``KeyPair``, PEM text (bytes),
or paths (str or PathLike) to PEM files.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from torsion._tls.certs import (
    FILETYPE_PEM,
    Certificate,
    KeyPair,
    PrivateCertificate,
    loadCertChain,
)

if TYPE_CHECKING:
    from torsion._tls.protocol import TLSMemoryBIOProtocol

__all__ = [
    "AcceptableCiphers",
    "CertificateOptions",
    "ClientContextFactory",
    "ClientTLSOptions",
    "ContextFactory",
    "DefaultOpenSSLContextFactory",
    "DiffieHellmanParameters",
    "OpenSSLCertificateAuthorities",
    "OpenSSLDefaultPaths",
    "TLSVersion",
    "optionsForClientTLS",
    "platformTrust",
    "trustRootFromCertificates",
]

#: TLS protocol versions (``TLSVersion.TLSv1_2``, ``TLSVersion.TLSv1_3``, ...).
TLSVersion = ssl.TLSVersion

_DEFAULT_MINIMUM = ssl.TLSVersion.TLSv1_2
_DEFAULT_HANDSHAKE_TIMEOUT = 30.0

# ------------------------------------------------------------ trust roots


class OpenSSLDefaultPaths:
    """Trust the system's certificate authorities (OpenSSL's default paths)."""

    def _addCACertsToContext(self, context: ssl.SSLContext) -> None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)

    def __repr__(self) -> str:
        return "<platformTrust>"


class OpenSSLCertificateAuthorities:
    """Trust exactly these certificate authorities."""

    def __init__(self, caCerts: Sequence[Certificate]) -> None:
        self._caCerts = list(caCerts)
        for cert in self._caCerts:
            if not isinstance(cert, Certificate):
                raise TypeError(
                    f"trust roots must be torsion.ssl.Certificate objects, not "
                    f"{type(cert).__name__}"
                )
        self._pem = "".join(Certificate.dumpPEM(c).decode("ascii") for c in self._caCerts)

    def _addCACertsToContext(self, context: ssl.SSLContext) -> None:
        if self._pem:
            context.load_verify_locations(cadata=self._pem)

    def __repr__(self) -> str:
        return f"<trust {len(self._caCerts)} certificate authorities>"


class _TrustLocations:
    """Trust the authorities in a PEM file or an OpenSSL hashed directory."""

    def __init__(self, path: str) -> None:
        self._path = path

    def _addCACertsToContext(self, context: ssl.SSLContext) -> None:
        if os.path.isdir(self._path):
            context.load_verify_locations(capath=self._path)
        else:
            context.load_verify_locations(cafile=self._path)


def platformTrust() -> OpenSSLDefaultPaths:
    """Trust what the platform trusts: the system's certificate store."""
    return OpenSSLDefaultPaths()


def trustRootFromCertificates(
    certificates: Iterable[Certificate],
) -> OpenSSLCertificateAuthorities:
    """A trust root made of these ``Certificate`` objects (and nothing else)."""
    return OpenSSLCertificateAuthorities(list(certificates))


def _trustRoot(trustRoot: Any) -> Any:
    """Whatever ``trustRoot=`` may be, as an object with ``_addCACertsToContext``."""
    if hasattr(trustRoot, "_addCACertsToContext"):
        return trustRoot
    if isinstance(trustRoot, Certificate):
        return OpenSSLCertificateAuthorities([trustRoot])
    if isinstance(trustRoot, (str, os.PathLike)):
        return _TrustLocations(os.fspath(trustRoot))
    if isinstance(trustRoot, bytes):
        return OpenSSLCertificateAuthorities(_allCertificates(trustRoot))
    if isinstance(trustRoot, (list, tuple)):
        return OpenSSLCertificateAuthorities(trustRoot)
    raise TypeError(
        "trustRoot must be platformTrust(), trustRootFromCertificates([...]), a Certificate, "
        f"PEM bytes, or a path to CA certificates; got {type(trustRoot).__name__}"
    )


def _allCertificates(pem: bytes) -> list[Certificate]:
    from torsion._tls.certs import pemBlocks

    certs = [Certificate(der) for label, der in pemBlocks(pem) if label == b"CERTIFICATE"]
    if not certs:
        raise ValueError("no PEM certificate found in the trust root data")
    return certs


# ------------------------------------------------------ keys and certificates


def _readPEM(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        return value.encode("ascii")
    if isinstance(value, (str, os.PathLike)):
        try:
            with open(os.fspath(value), "rb") as f:
                return f.read()
        except OSError as e:
            raise ValueError(f"cannot read the {what} file {value!r}: {e.strerror or e}") from None
    raise TypeError(f"{what} must be an object, PEM bytes or a path, not {type(value).__name__}")


def _certificatePEM(certificate: Any) -> bytes:
    if isinstance(certificate, Certificate):
        return Certificate.dumpPEM(certificate)  # without a PrivateCertificate's key
    return Certificate.loadPEM(_readPEM(certificate, "certificate")).dumpPEM()


def _keyPEM(privateKey: Any) -> bytes:
    if isinstance(privateKey, KeyPair):
        return privateKey.dump(FILETYPE_PEM)
    return KeyPair(_readPEM(privateKey, "private key")).dump(FILETYPE_PEM)


class AcceptableCiphers:
    """The cipher suites to offer, as an OpenSSL cipher string (TLS 1.2 and below)."""

    def __init__(self, cipherString: str) -> None:
        self.cipherString = cipherString

    @classmethod
    def fromOpenSSLCipherString(cls, cipherString: str) -> AcceptableCiphers:
        return cls(cipherString)


class DiffieHellmanParameters:
    """Diffie-Hellman parameters from a PEM file (for DHE cipher suites)."""

    def __init__(self, path: str) -> None:
        self._path = path

    @classmethod
    def fromFile(cls, filePath: Any) -> DiffieHellmanParameters:
        """``filePath``: a path, or an object with a ``path`` attribute (a FilePath)."""
        return cls(os.fspath(getattr(filePath, "path", filePath)))


# ------------------------------------------------------------------ options


class CertificateOptions:
    """How to do TLS: a context factory for servers and for clients.

    The parameters are Twisted's, with stdlib-friendly types:

    * ``privateKey`` and ``certificate`` (both or neither): ``KeyPair`` /
      ``Certificate`` objects, PEM bytes or paths.  ``extraCertChain``: more
      certificates sent with ours (intermediates).
    * ``trustRoot``: who to trust to sign the peer's certificate
      (``platformTrust()``, ``trustRootFromCertificates([...])``, a
      ``Certificate``, PEM bytes, or a path to a CA file or directory).  On a
      server it makes clients present a certificate (``requireCertificate``:
      or merely allows one).  ``caCerts`` with ``verify=True`` is the older
      spelling; ``requireCertificate=False`` makes a client certificate optional.
    * ``verify``: on a client, only an explicit ``verify=False`` turns
      verification off (torsion verifies by default; Twisted does not).
    * ``acceptableProtocols``: ALPN protocol names (bytes), most preferred first.
    * ``raiseMinimumTo``, ``insecurelyLowerMinimumTo``, ``lowerMaximumSecurityTo``:
      ``TLSVersion`` bounds (the minimum is TLS 1.2 unless lowered insecurely).
    * ``enableSessionTickets``: off by default, as in Twisted.
    * ``handshakeTimeout`` (torsion only): seconds, or None for no limit.

    Accepted for compatibility and ignored (the stdlib decides):
    ``verifyDepth``, ``verifyOnce``, ``enableSingleUseKeys``, ``enableSessions``.
    """

    def __init__(
        self,
        privateKey: Any = None,
        certificate: Any = None,
        method: Any = None,
        verify: bool | None = None,
        caCerts: Sequence[Certificate] | None = None,
        verifyDepth: int = 9,
        requireCertificate: bool | None = None,
        verifyOnce: bool = True,
        enableSingleUseKeys: bool = True,
        enableSessions: bool = False,
        fixBrokenPeers: bool = False,
        enableSessionTickets: bool = False,
        extraCertChain: Sequence[Any] | None = None,
        acceptableCiphers: Any = None,
        dhParameters: DiffieHellmanParameters | None = None,
        trustRoot: Any = None,
        acceptableProtocols: Sequence[bytes] | None = None,
        raiseMinimumTo: ssl.TLSVersion | None = None,
        insecurelyLowerMinimumTo: ssl.TLSVersion | None = None,
        lowerMaximumSecurityTo: ssl.TLSVersion | None = None,
        *,
        handshakeTimeout: float | None = _DEFAULT_HANDSHAKE_TIMEOUT,
    ) -> None:
        if (privateKey is None) != (certificate is None):
            raise ValueError("specify neither or both of privateKey and certificate")
        if trustRoot is not None and (caCerts is not None or verify is not None):
            raise TypeError("trustRoot replaces caCerts and verify: pass one or the other")
        if verify and not caCerts:
            raise ValueError("verify=True needs caCerts (or, better, trustRoot=...)")
        if raiseMinimumTo is not None and insecurelyLowerMinimumTo is not None:
            raise TypeError("pass raiseMinimumTo or insecurelyLowerMinimumTo, not both")
        if method is not None and not isinstance(method, ssl.TLSVersion):
            raise TypeError(
                "method must be a TLSVersion (to use exactly that version) or None; "
                "OpenSSL method constants do not exist in torsion"
            )
        self._keyPEM = _keyPEM(privateKey) if privateKey is not None else None
        self._certPEM = _certificatePEM(certificate) if certificate is not None else None
        self._extraPEM = b"".join(_certificatePEM(c) for c in extraCertChain or ())
        self.verify = verify
        self.requireCertificate = True if requireCertificate is None else requireCertificate
        if trustRoot is None and caCerts is not None and verify:
            trustRoot = OpenSSLCertificateAuthorities(caCerts)
        self.trustRoot = _trustRoot(trustRoot) if trustRoot is not None else None
        minimum = _DEFAULT_MINIMUM
        if raiseMinimumTo is not None:
            minimum = max(minimum, raiseMinimumTo)
        if insecurelyLowerMinimumTo is not None:
            minimum = insecurelyLowerMinimumTo
        maximum = lowerMaximumSecurityTo
        if method is not None:
            minimum = maximum = method
        if maximum is not None and maximum < minimum:
            raise ValueError(f"the maximum TLS version {maximum.name} is below the minimum")
        self._minimum = minimum
        self._maximum = maximum
        self.fixBrokenPeers = fixBrokenPeers
        self.enableSessionTickets = enableSessionTickets
        if isinstance(acceptableCiphers, AcceptableCiphers):
            acceptableCiphers = acceptableCiphers.cipherString
        if acceptableCiphers is not None and not isinstance(acceptableCiphers, str):
            raise TypeError("acceptableCiphers must be an OpenSSL cipher string")
        self._ciphers: str | None = acceptableCiphers
        self.dhParameters = dhParameters
        self._alpn = _alpnNames(acceptableProtocols)
        self.handshakeTimeout = handshakeTimeout
        self._contexts: dict[bool, ssl.SSLContext] = {}

    # The contexts, built once each and shared by every connection.

    def _context(self, isClient: bool) -> ssl.SSLContext:
        context = self._contexts.get(isClient)
        if context is None:
            context = self._contexts[isClient] = self._makeContext(isClient)
        return context

    def _makeContext(self, isClient: bool) -> ssl.SSLContext:
        if isClient:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if self.verify is False:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            else:
                (self.trustRoot or platformTrust())._addCACertsToContext(context)
        else:
            if self._certPEM is None:
                raise ValueError("a TLS server needs a certificate and a private key")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            if self.trustRoot is not None:
                context.verify_mode = (
                    ssl.CERT_REQUIRED if self.requireCertificate else ssl.CERT_OPTIONAL
                )
                self.trustRoot._addCACertsToContext(context)
            if not self.enableSessionTickets:
                context.num_tickets = 0
            if self.dhParameters is not None:
                context.load_dh_params(self.dhParameters._path)
        context.minimum_version = self._minimum
        if self._maximum is not None:
            context.maximum_version = self._maximum
        if not self.enableSessionTickets:
            context.options |= ssl.OP_NO_TICKET
        if self.fixBrokenPeers:
            context.options |= ssl.OP_ALL
        if self._certPEM is not None and self._keyPEM is not None:
            loadCertChain(context, self._certPEM, self._keyPEM, self._extraPEM)
        if self._ciphers is not None:
            context.set_ciphers(self._ciphers)
        if self._alpn:
            context.set_alpn_protocols(self._alpn)
        return context

    def _checkUsable(self, isClient: bool) -> None:
        self._context(isClient)

    def getContext(self) -> ssl.SSLContext:
        """The ``ssl.SSLContext``: the server one if a certificate is set, else the client one."""
        return self._context(self._certPEM is None)

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> Any:
        return tlsProtocol.wrapContext(self._context(False))

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> Any:
        return tlsProtocol.wrapContext(self._context(True), tlsProtocol.hostname)


def _alpnNames(protocols: Sequence[bytes] | None) -> list[str]:
    names = []
    for p in protocols or ():
        if not isinstance(p, bytes) or not 0 < len(p) < 256:
            raise TypeError(f"ALPN protocol names are bytes of 1 to 255 octets, got {p!r}")
        names.append(p.decode("ascii"))
    return names


class ClientTLSOptions:
    """A client connection creator for one host name (``optionsForClientTLS``)."""

    def __init__(self, hostname: str, options: CertificateOptions) -> None:
        self._hostname = hostname
        self._options = options
        self.handshakeTimeout = options.handshakeTimeout

    def __repr__(self) -> str:
        return f"<ClientTLSOptions for {self._hostname!r}>"

    def getContext(self) -> ssl.SSLContext:
        return self._options._context(True)

    def _checkUsable(self, isClient: bool) -> None:
        if not isClient:
            raise TypeError("optionsForClientTLS(...) is for clients; servers use a certificate")
        self._options._context(True)

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> Any:
        tlsProtocol.hostname = self._hostname
        return tlsProtocol.wrapContext(self._options._context(True), self._hostname)


def optionsForClientTLS(
    hostname: str,
    trustRoot: Any = None,
    clientCertificate: PrivateCertificate | None = None,
    acceptableProtocols: Sequence[bytes] | None = None,
    *,
    extraCertificateOptions: dict[str, Any] | None = None,
    sendServerName: bool | None = None,
) -> ClientTLSOptions:
    """Options for a TLS client that verifies ``hostname`` (a DNS name or an IP address).

    ``trustRoot`` defaults to the system store; ``clientCertificate`` (a
    ``PrivateCertificate``) is presented if the server asks; ALPN offers
    ``acceptableProtocols``.
    """
    if isinstance(hostname, bytes):
        raise TypeError(
            f"optionsForClientTLS requires text for host names, not bytes: {hostname!r}"
        )
    if not isinstance(hostname, str) or not hostname:
        raise TypeError(f"hostname must be a non-empty str, got {hostname!r}")
    if sendServerName is False:
        raise ValueError("the standard library always sends SNI for DNS names")
    extra = dict(extraCertificateOptions or {})
    if clientCertificate is not None:
        if not isinstance(clientCertificate, PrivateCertificate):
            raise TypeError("clientCertificate must be a PrivateCertificate (certificate and key)")
        extra["privateKey"] = clientCertificate.privateKey
        extra["certificate"] = clientCertificate
    options = CertificateOptions(
        trustRoot=trustRoot if trustRoot is not None else platformTrust(),
        acceptableProtocols=acceptableProtocols,
        **extra,
    )
    return ClientTLSOptions(hostname, options)


class ContextFactory:
    """The old-style context factory: ``getContext()`` returns an ``ssl.SSLContext``."""

    isClient = 0

    def getContext(self) -> ssl.SSLContext:
        raise NotImplementedError


class DefaultOpenSSLContextFactory(CertificateOptions):
    """Server options from a private key file and a certificate file."""

    def __init__(
        self, privateKeyFileName: str, certificateFileName: str, sslmethod: Any = None
    ) -> None:
        super().__init__(privateKey=privateKeyFileName, certificate=certificateFileName)
        self.privateKeyFileName = privateKeyFileName
        self.certificateFileName = certificateFileName


class ClientContextFactory(CertificateOptions):
    """Client options, kept for ported code: unlike Twisted's, it verifies the
    server against the system store and the host name connected to."""

    isClient = 1

    def __init__(self) -> None:
        super().__init__()

    def getContext(self) -> ssl.SSLContext:
        return self._context(True)
