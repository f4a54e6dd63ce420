"""TLS, under the names of Twisted's ``internet.ssl``, on the standard library's ``ssl``.

* ``reactor.listenSSL`` / ``reactor.connectSSL`` and ``transport.startTLS``
  run TLS through a sans-IO wrapper protocol (``TLSMemoryBIOProtocol``), so
  the application's protocol sees an ordinary transport plus
  ``getPeerCertificate()`` and ``negotiatedProtocol``.
* Context factories: ``CertificateOptions`` (servers and clients),
  ``optionsForClientTLS(hostname, ...)`` (clients), a certificate's
  ``options()`` (servers), or simply an ``ssl.SSLContext``.
* Where torsion differs from Twisted: TLS clients verify by default (unless
  ``verify=False`` is passed explicitly), TLS 1.2 is the minimum version, and
  a handshake that does not complete within ``handshakeTimeout`` seconds (30
  by default) fails the connection with ``HandshakeTimeoutError``.
* Keys and certificates are objects of ``Certificate``, ``PrivateCertificate``
  and ``KeyPair``, PEM text (bytes), or paths (str or PathLike) to PEM files.

The code lives in ``torsion._tls`` (policy, certificates, the protocol) and
``torsion._net.tls`` (ports and connectors).
"""

from torsion._net.tls import Connector, Port, connectSSL, listenSSL
from torsion._tls.certs import (
    FILETYPE_ASN1,
    FILETYPE_PEM,
    Certificate,
    DistinguishedName,
    KeyPair,
    PrivateCertificate,
)
from torsion._tls.options import (
    AcceptableCiphers,
    CertificateOptions,
    ClientContextFactory,
    ClientTLSOptions,
    ContextFactory,
    DefaultOpenSSLContextFactory,
    DiffieHellmanParameters,
    OpenSSLCertificateAuthorities,
    OpenSSLDefaultPaths,
    TLSVersion,
    optionsForClientTLS,
    platformTrust,
    trustRootFromCertificates,
)
from torsion._tls.protocol import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from torsion._util import publish
from torsion.error import (
    HandshakeTimeoutError,
    HostnameMismatchError,
    TLSError,
    UntrustedCertificateError,
    VerificationError,
)

supported = True  # Twisted's flag for "TLS is available"; the stdlib ssl module always is

__all__ = [
    "FILETYPE_ASN1",
    "FILETYPE_PEM",
    "AcceptableCiphers",
    "Certificate",
    "CertificateOptions",
    "ClientContextFactory",
    "ClientTLSOptions",
    "Connector",
    "ContextFactory",
    "DefaultOpenSSLContextFactory",
    "DiffieHellmanParameters",
    "DistinguishedName",
    "HandshakeTimeoutError",
    "HostnameMismatchError",
    "KeyPair",
    "OpenSSLCertificateAuthorities",
    "OpenSSLDefaultPaths",
    "Port",
    "PrivateCertificate",
    "TLSError",
    "TLSMemoryBIOFactory",
    "TLSMemoryBIOProtocol",
    "TLSVersion",
    "UntrustedCertificateError",
    "VerificationError",
    "connectSSL",
    "listenSSL",
    "optionsForClientTLS",
    "platformTrust",
    "supported",
    "trustRootFromCertificates",
]

publish(globals(), __all__)

#: Whether TLS is available: always, with the standard library's ``ssl``
#: (Twisted's is false without pyOpenSSL).
supported = True
