"""The errors that end a TLS connection, and how ``ssl`` exceptions map to them.

Each says which failure it was (host name, trust, handshake timeout, an
alert from the peer), carries the ``ssl`` module's own message and, where
there is one, OpenSSL's verification code; all are ``error.SSLError``
(a ConnectError), and verification failures are ``error.VerifyError`` too.
"""

from __future__ import annotations

import re
import ssl

from torsion import error

__all__ = [
    "HandshakeTimeoutError",
    "HostnameMismatchError",
    "TLSError",
    "UntrustedCertificateError",
    "VerificationError",
]


class TLSError(error.SSLError):
    """The TLS handshake or a TLS record failed; ``reason`` is OpenSSL's code for it."""

    def __init__(self, message: str, sslError: BaseException | None = None) -> None:
        super().__init__(None, message)
        self.message = message
        self.sslError = sslError
        self.reason: str | None = getattr(sslError, "reason", None)

    def __str__(self) -> str:
        return self.message


class VerificationError(TLSError, error.VerifyError):
    """The peer's certificate failed verification (``verifyMessage`` says how)."""

    _what = "the peer's certificate failed verification"

    def __init__(
        self,
        verifyMessage: str,
        verifyCode: int | None = None,
        hostname: str | None = None,
        sslError: BaseException | None = None,
    ) -> None:
        self.verifyMessage = verifyMessage
        self.verifyCode = verifyCode
        self.hostname = hostname
        super().__init__(f"{self._describe()}: {verifyMessage}", sslError)

    def _describe(self) -> str:
        return self._what


class HostnameMismatchError(VerificationError):
    """The peer's certificate is not valid for the host name (or address) asked for."""

    def _describe(self) -> str:
        return f"the peer's certificate is not valid for {self.hostname!r}"


class UntrustedCertificateError(VerificationError):
    """The peer's certificate does not chain to a trusted authority."""

    _what = "the peer's certificate is not signed by a trusted authority"


class HandshakeTimeoutError(TLSError, error.TimeoutError):
    """The TLS handshake did not complete in time."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"the TLS handshake did not complete within {timeout:g}s")
        self.timeout = timeout


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
