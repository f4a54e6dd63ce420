"""torsion.error against Twisted's ``internet.error``: same classes, same texts.

Every exception class of Twisted's module is built in the same ways in both
libraries (no arguments, a string, two strings, an errno and its message,
``osError=``, and each class's own constructor) and ``str()`` must be equal,
as must ``Failure.getErrorMessage()``.  Where Twisted's ``str()`` raises (it
joins the arguments, so it cannot print a number), torsion must still give
readable text.
"""

from __future__ import annotations

import errno
import inspect
import socket
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("twisted")

from twisted.internet import error as terror
from twisted.python import failure as tfailure

from torsion import error as xerror
from torsion import failure as xfailure

pytestmark = pytest.mark.twisted_oracle

TWISTED_CLASSES = sorted(
    name
    for name, obj in vars(terror).items()
    if inspect.isclass(obj)
    and issubclass(obj, BaseException)
    and obj.__module__ == terror.__name__
)

# Each way of building an exception: (label, args, kwargs).
_COMMON: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("no args", (), {}),
    ("a string", ("something went wrong",), {}),
    ("two strings", ("first", "second"), {}),
    ("errno and string", (errno.ECONNREFUSED, "Connection refused"), {}),
    ("osError keyword", (), {"osError": OSError(errno.EPIPE, "Broken pipe")}),
    ("osError and string", (), {"osError": "an os error", "string": "details"}),
    ("string keyword", (), {"string": "just a string"}),
]
_SPECIFIC: dict[str, list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = {
    "CannotListenError": [
        ("interface", ("127.0.0.1", 80, OSError(errno.EACCES, "Permission denied")), {}),
        ("any interface", ("", 8080, OSError(errno.EADDRINUSE, "Address in use")), {}),
        ("no interface", (None, 8080, "busy"), {}),
    ],
    "ProcessDone": [("status", (0,), {})],
    "ProcessTerminated": [
        ("exit code", (1, None, 256), {}),
        ("signal", (None, 9, 9), {}),
        ("both", (3, 15, 0), {}),
        ("keywords", (), {"exitCode": 2, "status": 512}),
        ("nothing", (), {}),
    ],
    "ConnectingCancelledError": [("address", (("127.0.0.1", 80),), {})],
    "InvalidAddressError": [("address and message", ("1.2.3", "not an address"), {})],
}


def _ways(name: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    return _COMMON + _SPECIFIC.get(name, [])


def _build(cls: type[BaseException], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    try:
        return cls(*args, **kw)
    except Exception as e:
        return e


def _text(obj: Any) -> tuple[str, Any]:
    try:
        return ("text", str(obj))
    except Exception as e:
        return ("raises", type(e))


def test_every_twisted_error_exists_with_the_same_bases() -> None:
    assert len(TWISTED_CLASSES) >= 41
    for name in TWISTED_CLASSES:
        tcls, xcls = getattr(terror, name), getattr(xerror, name)
        tbases = [b.__name__ for b in tcls.__bases__]
        xbases = [b.__name__ for b in xcls.__bases__]
        if name == "NoProtocol":
            # Also a ConnectError in torsion (docs/porting.md).
            assert xbases == ["ConnectError"] and tbases == ["Exception"]
            continue
        assert xbases == tbases, name
        if hasattr(tcls, "MESSAGE"):
            # Some of Twisted's are docstrings: their first line is the message.
            ours, theirs = xcls.MESSAGE, tcls.MESSAGE.strip().splitlines()[0]
            assert ours == theirs, name


@pytest.mark.parametrize("name", TWISTED_CLASSES)
def test_str_matches_twisted(name: str) -> None:
    tcls, xcls = getattr(terror, name), getattr(xerror, name)
    compared = 0
    for label, args, kw in _ways(name):
        tobj = _build(tcls, args, kw)
        if not isinstance(tobj, tcls):
            continue  # Twisted's constructor refuses this form
        xobj = _build(xcls, args, kw)
        assert isinstance(xobj, xcls), (name, label, xobj)
        tkind, ttext = _text(tobj)
        xkind, xtext = _text(xobj)
        assert xkind == "text", (name, label, xtext)
        if tkind == "raises":
            assert xtext, (name, label)  # Twisted cannot print it; torsion can
            continue
        assert xtext == ttext, (name, label)
        tmessage = tfailure.Failure(tobj).getErrorMessage()
        assert xfailure.Failure(xobj).getErrorMessage() == tmessage, (name, label)
        compared += 1
    assert compared, name


_CONNECT_ERRORS: list[tuple[str, Callable[[], Any]]] = [
    ("gaierror", lambda: socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
    ("refused", lambda: OSError(errno.ECONNREFUSED, "Connection refused")),
    ("timed out", lambda: OSError(errno.ETIMEDOUT, "Connection timed out")),
    ("net unreachable", lambda: OSError(errno.ENETUNREACH, "Network is unreachable")),
    ("other errno", lambda: OSError(errno.EPERM, "Operation not permitted")),
    ("tuple", lambda: (errno.ECONNREFUSED, "Connection refused")),
    ("one-argument error", lambda: OSError("no errno here")),
    ("plain exception", lambda: ValueError("odd")),
]


@pytest.mark.parametrize(("label", "make"), _CONNECT_ERRORS, ids=[c[0] for c in _CONNECT_ERRORS])
def test_getConnectError_matches_twisted(label: str, make: Callable[[], Any]) -> None:
    t = terror.getConnectError(make())
    x = xerror.getConnectError(make())
    assert type(x).__name__ == type(t).__name__
    assert repr(x.args) == repr(t.args)
    assert str(x) == str(t)
    assert x.osError == t.osError


def test_getConnectError_maps_more_errnos_than_twisted() -> None:
    # torsion's additions (docs/porting.md): both are still ConnectErrors.
    e = xerror.getConnectError(OSError(errno.EHOSTUNREACH, "No route to host"))
    assert isinstance(e, xerror.NoRouteError)
    assert str(e) == f"No route to host: {errno.EHOSTUNREACH}: No route to host."
    e = xerror.getConnectError((errno.EBADF, "Bad file descriptor"))
    assert isinstance(e, xerror.BadFileError)


def test_torsion_only_errors_are_readable() -> None:
    assert str(xerror.NoSuchFileError(b"/tmp/nowhere")) == (
        "no UNIX socket at '/tmp/nowhere': no such file or directory."
    )
    assert str(xerror.TLSError("handshake failed")) == "handshake failed"
    assert "not valid for 'example.com'" in str(
        xerror.HostnameMismatchError("mismatch", hostname="example.com")
    )
    assert "trusted authority" in str(xerror.UntrustedCertificateError("self-signed"))
    assert str(xerror.HandshakeTimeoutError(5)) == "the TLS handshake did not complete within 5s"
    e = xerror.InvalidAddressError("port must be in 0..65535, got 70000")
    assert str(e) == "port must be in 0..65535, got 70000"
    assert e.message == str(e) and e.address is None
    e = xerror.InvalidAddressError("1.2.3", "not an address")
    assert (e.address, e.message) == ("1.2.3", "not an address")
