"""Certificates and keys for ``torsion.ssl``, on the standard library only.

The stdlib ``ssl`` module verifies and uses certificates but cannot inspect
them, so a ``Certificate`` keeps its DER bytes and this module reads the few
fields Twisted's API exposes (subject, issuer, serial number) with a small DER
walker.  A ``KeyPair`` keeps its PEM text: the key is only ever handed to
OpenSSL (``SSLContext.load_cert_chain``), which takes files, so
``loadCertChain`` passes the PEM through an anonymous in-memory file
(``memfd_create``; a private temporary file elsewhere) and never writes a key
to disk.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import ssl
import tempfile
from collections.abc import Iterator
from typing import Any

from torsion import error

__all__ = [
    "FILETYPE_ASN1",
    "FILETYPE_PEM",
    "Certificate",
    "DistinguishedName",
    "KeyPair",
    "PrivateCertificate",
    "loadCertChain",
]

#: The ``format`` argument of ``load``/``dump``: PEM text (values as in pyOpenSSL).
FILETYPE_PEM = 1
#: The ``format`` argument of ``load``/``dump``: DER (ASN.1) bytes; Twisted's default.
FILETYPE_ASN1 = 2

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)-----END \1-----", re.DOTALL)
_KEY_LABELS = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY")

# ---------------------------------------------------------------- PEM and DER


def _asBytes(data: Any, what: str) -> bytes:
    if isinstance(data, str):
        return data.encode("ascii")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes or str, not {type(data).__name__}")


def _isPEM(format: int) -> bool:
    if format not in (FILETYPE_PEM, FILETYPE_ASN1):
        raise ValueError(f"format must be FILETYPE_PEM or FILETYPE_ASN1, not {format!r}")
    return format == FILETYPE_PEM


def pemBlocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every ``(label, DER)`` in PEM text, in order."""
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        try:
            der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        except binascii.Error:
            raise error.CertificateError(f"malformed base64 in a PEM {match.group(1).decode()}")
        blocks.append((match.group(1), der))
    return blocks


def toPEM(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    tag = label.encode()
    return (
        b"-----BEGIN " + tag + b"-----\n" + b"\n".join(lines) + b"\n-----END " + tag + b"-----\n"
    )


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The DER element at ``pos``: ``(tag, contentStart, contentEnd)``."""
    if pos + 2 > end:
        raise ValueError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if not 0 < n <= 4 or pos + n > end:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _tlv(data, start, end)
        items.append(item)
        start = item[2]
    return items


def _oid(raw: bytes) -> str:
    if not raw:
        return ""
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


_BMP_STRING = 0x1E
_NAME_OIDS = {
    "2.5.4.3": "commonName",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "1.2.840.113549.1.9.1": "emailAddress",
}


def _parseName(der: bytes, start: int, end: int) -> DistinguishedName:
    name = DistinguishedName()
    for _, setStart, setEnd in _children(der, start, end):
        for _, seqStart, seqEnd in _children(der, setStart, setEnd):
            (_, os_, oe), (vtag, vs, ve) = _children(der, seqStart, seqEnd)[:2]
            key = _NAME_OIDS.get(_oid(der[os_:oe]))
            if key is None:
                continue
            value = der[vs:ve]
            if vtag == _BMP_STRING:
                value = value.decode("utf-16-be").encode()
            dict.__setitem__(name, key, value)
    return name


class _Parsed:
    """The fields of a certificate's TBSCertificate that torsion reads."""

    __slots__ = ("issuer", "serial", "subject")

    def __init__(self, der: bytes) -> None:
        try:
            _, cs, ce = _tlv(der, 0, len(der))
            _, ts, te = _children(der, cs, ce)[0]
            fields = _children(der, ts, te)
            if fields[0][0] == 0xA0:  # [0] EXPLICIT version
                fields = fields[1:]
            serial, _sigalg, issuer, _validity, subject = fields[:5]
            self.serial = int.from_bytes(der[serial[1] : serial[2]], "big", signed=True)
            self.issuer = _parseName(der, issuer[1], issuer[2])
            self.subject = _parseName(der, subject[1], subject[2])
        except (ValueError, IndexError, UnicodeDecodeError) as e:
            raise error.CertificateError(f"not a DER X.509 certificate: {e}") from None


# ------------------------------------------------------------ public classes


class DistinguishedName(dict[str, bytes]):
    """An X.509 name: ``commonName``, ``organizationName``, ... (bytes values).

    As in Twisted, the short names (``CN``, ``O``, ``OU``, ``L``, ``ST``, ``C``)
    work as attributes too, and a missing field reads as None.
    """

    _SHORT = {
        "CN": "commonName",
        "O": "organizationName",
        "OU": "organizationalUnitName",
        "L": "localityName",
        "ST": "stateOrProvinceName",
        "C": "countryName",
    }

    def __init__(self, **kw: Any) -> None:
        super().__init__()
        for k, v in kw.items():
            setattr(self, k, v)

    def __getattr__(self, attr: str) -> bytes | None:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self.get(self._SHORT.get(attr, attr))

    def __setattr__(self, attr: str, value: Any) -> None:
        key = self._SHORT.get(attr, attr)
        if key not in _NAME_OIDS.values():
            raise AttributeError(f"{attr!r} is not a distinguished-name field")
        self[key] = value.encode() if isinstance(value, str) else bytes(value)

    def _short(self) -> str:
        names = {v: k for k, v in self._SHORT.items()}
        return ",".join(f"{names.get(k, k)}={v.decode(errors='replace')}" for k, v in self.items())

    def __repr__(self) -> str:
        return f"<DN {self._short()}>"

    def inspect(self) -> str:
        """The fields, one per line."""
        return "\n".join(f"{k:>24}: {v.decode(errors='replace')}" for k, v in sorted(self.items()))


class Certificate:
    """An X.509 certificate (kept as DER), with Twisted's ``Certificate`` API."""

    __slots__ = ("_der", "_parsed")

    def __init__(self, der: bytes) -> None:
        self._der = bytes(der)
        self._parsed = _Parsed(self._der)

    @property
    def original(self) -> Certificate:
        """This object (Twisted code passes ``cert.original`` to ``CertificateOptions``)."""
        return self

    @classmethod
    def load(cls, requestData: bytes, format: int = FILETYPE_ASN1) -> Certificate:
        """Load a certificate from DER (the default) or PEM bytes."""
        data = _asBytes(requestData, "certificate data")
        return cls.loadPEM(data) if _isPEM(format) else cls(data)

    @classmethod
    def loadPEM(cls, data: bytes | str) -> Certificate:
        """Load the first certificate in PEM text."""
        raw = _asBytes(data, "PEM data")
        for label, der in pemBlocks(raw):
            if label == b"CERTIFICATE":
                return cls(der)
        raise error.CertificateError("no PEM certificate (BEGIN CERTIFICATE) found in the data")

    @classmethod
    def peerFromTransport(cls, transport: Any) -> Certificate:
        """The certificate the peer of a TLS ``transport`` presented."""
        cert = transport.getPeerCertificate()
        if cert is None:
            raise error.CertificateError("the TLS peer presented no certificate")
        return Certificate(cert.dump())

    def dump(self, format: int = FILETYPE_ASN1) -> bytes:
        """The certificate as DER (the default) or PEM."""
        return self.dumpPEM() if _isPEM(format) else self._der

    def dumpPEM(self) -> bytes:
        """The certificate as PEM text (bytes)."""
        return toPEM("CERTIFICATE", self._der)

    def getSubject(self) -> DistinguishedName:
        return DistinguishedName(**self._parsed.subject)

    def getIssuer(self) -> DistinguishedName:
        return DistinguishedName(**self._parsed.issuer)

    def serialNumber(self) -> int:
        return self._parsed.serial

    def digest(self, method: str = "md5") -> bytes:
        """The certificate's fingerprint, as pyOpenSSL prints it (``b"AB:CD:..."``)."""
        hexed = hashlib.new(method, self._der).hexdigest().upper()
        return ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2)).encode()

    def inspect(self) -> str:
        return "\n".join(
            [
                "Certificate For Subject:",
                self.getSubject().inspect(),
                "",
                "Issuer:",
                self.getIssuer().inspect(),
                "",
                f"Serial Number: {self.serialNumber()}",
                f"Digest: {self.digest('sha256').decode()}",
            ]
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Certificate):
            return self._der == other._der
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        subject, issuer = self._parsed.subject, self._parsed.issuer
        return f"<{type(self).__name__} Subject={subject._short()} Issuer={issuer._short()}>"


class KeyPair:
    """A private key, kept as PEM text for OpenSSL."""

    __slots__ = ("_pem",)

    def __init__(self, pem: bytes) -> None:
        blocks = [b for b in pemBlocks(_asBytes(pem, "key data")) if b[0] in _KEY_LABELS]
        if not blocks:
            raise error.CertificateError("no PEM private key (BEGIN ... PRIVATE KEY) found")
        label, der = blocks[0]
        self._pem = toPEM(label.decode(), der)

    @property
    def original(self) -> KeyPair:
        """This object (Twisted code passes ``key.original`` to ``CertificateOptions``)."""
        return self

    @classmethod
    def load(cls, data: bytes, format: int = FILETYPE_ASN1) -> KeyPair:
        """Load a private key from PEM, or from DER (PKCS#8, or PKCS#1 RSA)."""
        raw = _asBytes(data, "key data")
        return cls(raw) if _isPEM(format) else cls(toPEM(_derKeyLabel(raw), raw))

    @classmethod
    def generate(cls, kind: int = 0, size: int = 2048) -> KeyPair:
        raise NotImplementedError(
            "torsion uses only the standard library, which cannot generate keys: "
            "make them with the openssl command or a library such as trustme"
        )

    def dump(self, format: int = FILETYPE_ASN1) -> bytes:
        return self._pem if _isPEM(format) else pemBlocks(self._pem)[0][1]

    def inspect(self) -> str:
        return f"{pemBlocks(self._pem)[0][0].decode()} ({len(self.dump())} bytes of DER)"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KeyPair):
            return self._pem == other._pem
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._pem)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {pemBlocks(self._pem)[0][0].decode()}>"


def _derKeyLabel(der: bytes) -> str:
    """PRIVATE KEY (PKCS#8), RSA PRIVATE KEY (PKCS#1) or EC PRIVATE KEY (SEC1)."""
    try:
        _, s, e = _tlv(der, 0, len(der))
        items = _children(der, s, e)
    except ValueError:
        raise error.CertificateError("not a DER private key") from None
    if len(items) >= 3 and items[1][0] == 0x30:
        return "PRIVATE KEY"  # version, AlgorithmIdentifier, key
    if len(items) >= 2 and items[1][0] == 0x04:
        return "EC PRIVATE KEY"  # version, OCTET STRING key
    return "RSA PRIVATE KEY"


class PrivateCertificate(Certificate):
    """A certificate with its private key: what a server (or client) presents."""

    __slots__ = ("privateKey",)

    def __init__(self, der: bytes, privateKey: KeyPair | None = None) -> None:
        super().__init__(der)
        self.privateKey: KeyPair | None = None
        if privateKey is not None:
            self._setPrivateKey(privateKey)

    def _setPrivateKey(self, privateKey: KeyPair) -> PrivateCertificate:
        if not isinstance(privateKey, KeyPair):
            raise TypeError(f"privateKey must be a KeyPair, not {type(privateKey).__name__}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            loadCertChain(context, self.dumpPEM(), privateKey.dump(FILETYPE_PEM))
        except ssl.SSLError as e:
            raise error.VerifyError(
                f"the certificate and the private key do not match ({e.reason or e})"
            ) from None
        self.privateKey = privateKey
        return self

    @classmethod
    def load(  # type: ignore[override]
        cls, data: bytes, privateKey: KeyPair, format: int = FILETYPE_ASN1
    ) -> PrivateCertificate:
        cert = Certificate.load(data, format)
        return cls(cert.dump(), privateKey)

    @classmethod
    def loadPEM(cls, data: bytes | str) -> PrivateCertificate:
        """Load the first certificate and the private key from PEM text."""
        raw = _asBytes(data, "PEM data")
        return cls(Certificate.loadPEM(raw).dump(), KeyPair(raw))

    @classmethod
    def fromCertificateAndKeyPair(
        cls, certificateInstance: Certificate, privateKey: KeyPair
    ) -> PrivateCertificate:
        return cls(certificateInstance.dump(), privateKey)

    def dumpPEM(self) -> bytes:
        """The certificate then the key, as PEM text: what ``loadPEM`` reads back."""
        cert = super().dumpPEM()
        if self.privateKey is None:
            return cert
        return cert + self.privateKey.dump(FILETYPE_PEM)

    def options(self, *authorities: Certificate) -> Any:
        """Server options presenting this certificate; with ``authorities``,
        clients must present a certificate signed by one of them."""
        from torsion._tls.options import CertificateOptions, trustRootFromCertificates

        trustRoot = trustRootFromCertificates(list(authorities)) if authorities else None
        return CertificateOptions(
            privateKey=self.privateKey, certificate=self, trustRoot=trustRoot
        )


# ---------------------------------------------------- loading into a context


@contextlib.contextmanager
def _pemFile(data: bytes) -> Iterator[str]:
    """A path from which OpenSSL can read ``data``, for the duration of the block."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        fd = memfd_create("torsion-tls", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="torsion-tls-") as tmp:  # pragma: no cover
        path = os.path.join(tmp, "chain.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        yield path


def loadCertChain(
    context: ssl.SSLContext, certificatePEM: bytes, keyPEM: bytes, extraPEM: bytes = b""
) -> None:
    """``context.load_cert_chain`` from PEM bytes: the certificate, its chain, its key."""
    with _pemFile(certificatePEM + extraPEM + keyPEM) as path:
        context.load_cert_chain(path)
