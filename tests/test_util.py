"""The helpers that every room shares (torsion._util): one behaviour everywhere.

Before they had one home, three copies of the address checks disagreed: the
reactor's ``resolve`` took ``"010.0.0.1"`` for an address through
``inet_aton`` (which reads it as octal, 8.0.0.1) while TCP refused it, and
``b"\\xff"`` as a host let UnicodeDecodeError out of TCP where UDP raised
InvalidAddressError.  These tests pin the one behaviour, through the public
calls that use it.
"""

from __future__ import annotations

from typing import Any

import pytest

from torsion import _util, error
from torsion.protocol import ClientFactory, DatagramProtocol, Factory, Protocol


@pytest.mark.parametrize(
    ("text", "v4", "v6"),
    [
        ("127.0.0.1", True, False),
        ("010.0.0.1", False, False),  # leading zero: not a literal (inet_aton reads octal)
        ("1.2.3", False, False),
        ("256.0.0.1", False, False),
        (" 1.2.3.4", False, False),
        ("::1", False, True),
        ("fe80::1%lo", False, True),
        ("fe80::1%", False, True),  # as Twisted's isIPv6Address
        ("example.com", False, False),
        ("", False, False),
    ],
)
def test_address_literals(text: str, v4: bool, v6: bool) -> None:
    assert _util.isIPv4Address(text) is v4
    assert _util.isIPv6Address(text) is v6


def test_address_checks_agree_with_twisted() -> None:
    abstract = pytest.importorskip("twisted.internet.abstract")
    for text in ["127.0.0.1", "010.0.0.1", "1.2.3", "::1", "fe80::1%lo", "x", "1::2::3"]:
        assert _util.isIPv4Address(text) == abstract.isIPAddress(text), text
        assert _util.isIPv6Address(text) == abstract.isIPv6Address(text), text


def test_non_ascii_bytes_host_is_an_invalid_address_everywhere(reactor: Any, run: Any) -> None:
    with pytest.raises(error.InvalidAddressError, match="not ASCII"):
        reactor.connectTCP(b"\xff", 80, ClientFactory())
    with pytest.raises(error.InvalidAddressError, match="not ASCII"):
        reactor.listenTCP(0, Factory.forProtocol(Protocol), interface=b"\xff")
    port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    try:
        with pytest.raises(error.InvalidAddressError, match="not ASCII"):
            port.write(b"x", (b"\xff", 9))
    finally:
        run(port.stopListening())


def test_nul_in_host_is_refused_everywhere(reactor: Any) -> None:
    with pytest.raises(error.InvalidAddressError, match="NUL"):
        reactor.connectTCP("127.0.0.1\x00", 80, ClientFactory())
    with pytest.raises(error.InvalidAddressError, match="NUL"):
        reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1\x00")


def test_resolve_takes_only_strict_literals_as_addresses(reactor: Any, run: Any) -> None:
    # A literal comes back at once; "010.0.0.1" is a name for the resolver,
    # which reads it as Twisted's resolve does (gethostbyname: 8.0.0.1).
    d = reactor.resolve("10.0.0.1")
    assert d.called
    assert run(d) == "10.0.0.1"
    assert run(reactor.resolve("010.0.0.1")) == "8.0.0.1"


def test_strerror_never_raises() -> None:
    assert _util.strerror(2) == "No such file or directory"
    assert _util.strerror(10**9).startswith("Unknown error") or "error" in _util.strerror(10**9)


def test_log_prefix_of() -> None:
    class Named:
        def logPrefix(self) -> str:
            return "named"

    assert _util.logPrefixOf(Named()) == "named"
    assert _util.logPrefixOf(object()) == "object"


def test_to_bytes() -> None:
    assert _util.toBytes(bytearray(b"ab")) == b"ab"
    assert _util.toBytes(memoryview(b"cd")) == b"cd"
    with pytest.raises(TypeError, match="data must be bytes, not str"):
        _util.toBytes("text")
