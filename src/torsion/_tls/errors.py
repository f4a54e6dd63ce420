"""How ``ssl`` exceptions map to the errors that end a TLS connection.

Those errors are defined in ``torsion.error`` (importing it stays cheap: no
``ssl`` module).  Each says which failure it was (host name, trust, handshake timeout, an
alert from the peer), carries the ``ssl`` module's own message and, where
there is one, OpenSSL's verification code; all are ``error.SSLError``
(a ConnectError), and verification failures are ``error.VerifyError`` too.
"""

from __future__ import annotations

import re
import ssl

from torsion import error
from torsion.error import (
    HostnameMismatchError,
    TLSError,
    UntrustedCertificateError,
    VerificationError,
)

__all__ = ["errorFromSSL"]


# X509_V_ERR_* codes: host name or IP mismatch, and the ways a chain fails to
# reach a trusted root (no issuer, self-signed, self-signed in chain, ...).
_MISMATCH_CODES = {62, 64}
_UNTRUSTED_CODES = {2, 18, 19, 20, 21}


def errorFromSSL(e: ssl.SSLError, hostname: str | None) -> BaseException:
    """A torsion error that says what went wrong, for an ``ssl`` exception."""
    if isinstance(e, ssl.SSLCertVerificationError):
        code = e.verify_code
        cls = VerificationError
        if code in _MISMATCH_CODES:
            cls = HostnameMismatchError
        elif code in _UNTRUSTED_CODES:
            cls = UntrustedCertificateError
        return cls(e.verify_message, code, hostname, e)
    if isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return error.ConnectionLost("the peer closed the connection during the TLS handshake")
    text = str(e.args[1] if len(e.args) > 1 else e).split(" (_ssl.c:", 1)[0]
    text = re.sub(r"^\[[^]]*\] ", "", text)  # "[SSL: REASON] text" -> "text"
    if "alert" in text:
        return TLSError(f"the peer ended the TLS session with an alert: {text}", e)
    return TLSError(f"TLS failed: {text}", e)
