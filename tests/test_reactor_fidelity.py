"""The reactor, endpoints and TLS objects behaving as Twisted's do (issue 11, §1).

A replaced ``reactor.seconds`` (or a call's ``seconds``) drives ``callLater``;
system event trigger IDs and their errors; the reactor's thread pool released
at shutdown even when it never ran; host names that are not valid IDNA;
UNIX addresses; and ``ssl.Certificate`` of a Certificate.
"""

from __future__ import annotations

import gc
import time
import weakref
from typing import Any

import pytest

from torsion import ssl as tssl
from torsion.address import UNIXAddress
from torsion.endpoints import HostnameEndpoint
from torsion.failure import Failure
from torsion.protocol import Factory, Protocol
from torsion.testing import MemoryReactorClock

# -- time ----------------------------------------------------------------------------


def test_replaced_seconds_is_used_by_call_later(reactor: Any) -> None:
    original = reactor.seconds
    reactor.seconds = lambda: 100
    try:
        call = reactor.callLater(5, lambda: None)
        assert call.getTime() == 105
        assert call.seconds() == 100
        call.reset(1)
        assert call.getTime() == 101
    finally:
        reactor.seconds = original
    call.cancel()
    later = reactor.callLater(5, lambda: None)
    assert abs(later.getTime() - (time.time() + 5)) < 60
    later.cancel()


def test_replaced_seconds_decides_when_calls_run(reactor: Any) -> None:
    now = [1000.0]
    reactor.seconds = lambda: now[0]
    ran: list[str] = []
    reactor.callLater(3600, ran.append, "an hour later")
    reactor.callLater(0, ran.append, "now")
    for _ in range(3):
        reactor.iterate(0)
    assert ran == ["now"]
    now[0] += 3600
    for _ in range(3):
        reactor.iterate(0)
    assert ran == ["now", "an hour later"]


def test_a_calls_own_seconds_drives_its_reset(reactor: Any) -> None:
    call = reactor.callLater(5, lambda: None)
    assert call.seconds() == pytest.approx(time.time(), abs=60)  # the reactor's clock
    call.seconds = lambda: 2000
    call.reset(7)
    assert call.getTime() == 2007
    call.delay(1)
    assert call.getTime() == 2008
    call.cancel()


# -- system event triggers -------------------------------------------------------------


def test_trigger_ids_and_errors_as_in_twisted(reactor: Any) -> None:
    fired: list[str] = []
    tid = reactor.addSystemEventTrigger("during", "test", fired.append, "a")
    eventType, (phase, f, args, kw) = tid
    assert (eventType, phase, f, args, kw) == ("test", "during", fired.append, ("a",), {})
    reactor.removeSystemEventTrigger(tid)
    with pytest.raises(TypeError):
        reactor.removeSystemEventTrigger(None)
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(tid)  # removed already
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(("test", None))
    with pytest.raises(KeyError):
        reactor.removeSystemEventTrigger((tid[0], ("xxx", *tid[1][1:])))
    with pytest.raises(KeyError):
        reactor.removeSystemEventTrigger(("no such event", tid[1]))
    reactor.fireSystemEvent("test")
    assert fired == []


def test_removing_one_of_two_equal_triggers(reactor: Any) -> None:
    fired: list[str] = []
    first = reactor.addSystemEventTrigger("before", "test", fired.append, "x")
    reactor.addSystemEventTrigger("before", "test", fired.append, "x")
    reactor.removeSystemEventTrigger(first)
    reactor.fireSystemEvent("test")
    assert fired == ["x"]


# -- the thread pool -------------------------------------------------------------------


def test_thread_pool_made_before_running_is_released_by_shutdown(reactor: Any) -> None:
    pool = weakref.ref(reactor.getThreadPool())
    reactor.fireSystemEvent("shutdown")
    gc.collect()
    assert pool() is None
    assert reactor.threadpool is None


def test_thread_pool_made_before_running_is_stopped_when_the_reactor_stops(
    reactor: Any,
) -> None:
    pool = reactor.getThreadPool()
    ran: list[bool] = []

    def ranInThread(started: bool) -> None:
        ran.append(started)
        reactor.stop()

    def inThread() -> None:
        reactor.callFromThread(ranInThread, reactor.threadpool.started)

    reactor.callInThread(inThread)
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert ran == [True]
    assert not pool.started and reactor.threadpool is None
    ref = weakref.ref(pool)
    del pool
    gc.collect()
    assert ref() is None


# -- HostnameEndpoint ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        (b"\xff-garbage-\xff", "\\xff-garbage-\\xff"),
        ("\u2ff0-garbage-\u2ff0", "\\u2ff0-garbage-\\u2ff0"),
    ],
)
def test_hostname_endpoint_defers_bad_names_to_connect(host: Any, shown: str) -> None:
    endpoint = HostnameEndpoint(MemoryReactorClock(), host, 80)  # does not raise
    assert repr(endpoint) == f"<HostnameEndpoint {shown}:80>"
    outcome: list[Any] = []
    endpoint.connect(Factory.forProtocol(Protocol)).addBoth(outcome.append)
    assert isinstance(outcome[0], Failure) and outcome[0].check(ValueError)
    assert shown in str(outcome[0].value)


def test_hostname_endpoint_shows_idna_hosts_as_punycode() -> None:
    endpoint = HostnameEndpoint(MemoryReactorClock(), "b\xfccher.ch", 443)
    assert repr(endpoint) == "<HostnameEndpoint xn--bcher-kva.ch:443>"
    decomposed = HostnameEndpoint(MemoryReactorClock(), "bu\u0308cher.ch", 443)  # NFD
    assert repr(decomposed) == repr(endpoint)
    assert (
        repr(HostnameEndpoint(MemoryReactorClock(), b"::1", 22)) == "<HostnameEndpoint [::1]:22>"
    )


# -- addresses and certificates --------------------------------------------------------


def test_unix_address_names_are_bytes_as_in_twisted() -> None:
    assert UNIXAddress("/tmp/sock").name == b"/tmp/sock"
    assert UNIXAddress("/tmp/sock") == UNIXAddress(b"/tmp/sock")
    assert hash(UNIXAddress("/tmp/sock")) == hash(UNIXAddress(b"/tmp/sock"))
    assert repr(UNIXAddress(b"/tmp/sock")) == "UNIXAddress('/tmp/sock')"
    assert repr(UNIXAddress(None)) == "UNIXAddress(None)"


def test_certificate_of_a_certificate() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", common_name="localhost")
    peer = tssl.Certificate.loadPEM(leaf.cert_chain_pems[0].bytes())  # as getPeerCertificate()
    cert = tssl.Certificate(peer)
    assert cert == peer and cert.dump() == peer.dump()
    assert cert.getSubject().commonName == b"localhost"
    private = tssl.PrivateCertificate.loadPEM(
        leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes()
    )
    assert tssl.Certificate(private).digest("sha256") == peer.digest("sha256")
