"""Deferred, inlineCallbacks and Failure behaving as Twisted's do (issue 11, §1).

Yielded coroutines, clean tracebacks after an inner generator returns, the
non-local ``returnValue`` warning, cancellers dropped on firing, debugging
aids (creator and invoker stacks, captured variables, attributes on
Deferreds, ``failure.startDebugMode``) and unprintable exceptions.
"""

from __future__ import annotations

import gc
import pdb
import sys
import traceback
import warnings
import weakref
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from torsion import defer, failure
from torsion.defer import Deferred, inlineCallbacks, returnValue, succeed
from torsion.failure import Failure
from torsion.task import Clock, deferLater


@pytest.fixture
def debugging() -> Iterator[None]:
    defer.setDebugging(True)
    try:
        yield
    finally:
        defer.setDebugging(False)


# -- inlineCallbacks runs what it is given ------------------------------------------


def test_yielded_coroutine_is_run_and_its_result_sent() -> None:
    pending: Deferred[int] = Deferred()

    async def double(x: int) -> int:
        return 2 * x + await pending

    async def broken() -> None:
        raise ValueError("boom")

    @inlineCallbacks
    def gen() -> Generator[Any, Any, tuple[int, str]]:
        y = yield double(20)
        try:
            yield broken()
        except ValueError as e:
            return y, f"caught {e}"
        return y, "not caught"

    d = gen()
    assert not d.called  # waits for the coroutine, which waits for ``pending``
    pending.callback(2)
    assert d.result == (42, "caught boom")


def test_yielded_generator_is_run_as_inline_callbacks() -> None:
    def inner() -> Generator[Any, Any, str]:
        x = yield succeed("in")
        return x + "ner"

    @inlineCallbacks
    def outer() -> Generator[Any, Any, str]:
        return (yield inner())

    assert outer().result == "inner"


def test_cancelling_cancels_the_yielded_coroutine() -> None:
    cancelled: list[str] = []
    pending: Deferred[int] = Deferred(lambda d: cancelled.append("inner"))

    async def waits() -> int:
        return await pending

    @inlineCallbacks
    def gen() -> Generator[Any, Any, int]:
        return (yield waits())

    d = gen()
    d.cancel()
    assert cancelled == ["inner"]
    assert isinstance(d.result, Failure) and d.result.check(defer.CancelledError)
    d.addErrback(lambda f: None)


def test_no_stop_iteration_context_after_an_inner_generator_returned() -> None:
    clock = Clock()

    @inlineCallbacks
    def inner() -> Generator[Any, Any, int]:
        yield deferLater(clock, 0)
        return 6

    @inlineCallbacks
    def innerOldStyle() -> Generator[Any, Any, None]:
        yield deferLater(clock, 0)
        returnValue(6)

    @inlineCallbacks
    def outer(which: Any) -> Generator[Any, Any, str]:
        try:
            yield which()
            raise KeyError("boom")
        except KeyError:
            return traceback.format_exc()

    for which in (inner, innerOldStyle):
        d = outer(which)
        clock.advance(0)
        text = d.result
        assert "KeyError: 'boom'" in text
        assert "StopIteration" not in text and "_DefGen_Return" not in text
        assert "During handling of the above exception" not in text


def test_no_context_on_errors_of_callbacks_run_by_a_finished_generator() -> None:
    pending: Deferred[None] = Deferred()

    @inlineCallbacks
    def gen() -> Generator[Any, Any, int]:
        yield pending
        return 1

    seen: list[BaseException | None] = []

    def callback(result: int) -> None:
        try:
            raise ValueError("in a callback")
        except ValueError as e:
            seen.append(e.__context__)

    gen().addCallback(callback)
    pending.callback(None)  # the generator returns; its StopIteration is not the context
    assert seen == [None]


# -- returnValue outside its generator ----------------------------------------------


def _mistaken() -> None:
    returnValue(1)


def test_return_value_from_a_helper_warns_as_twisted_does() -> None:
    cause: Deferred[None] = Deferred()

    @inlineCallbacks
    def inline() -> Generator[Any, Any, None]:
        yield cause
        _mistaken()

    d = inline()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cause.callback(None)
    assert d.result == 1
    assert [w.category for w in caught] == [DeprecationWarning]
    assert str(caught[0].message) == (
        "returnValue() in '_mistaken' causing 'inline' to exit: "
        "returnValue should only be invoked by functions decorated with inlineCallbacks"
    )
    # Reported at the line that called returnValue.
    assert caught[0].filename == __file__
    assert caught[0].lineno == _mistaken.__code__.co_firstlineno + 1


def test_return_value_in_the_generator_itself_does_not_warn() -> None:
    @inlineCallbacks
    def inline() -> Generator[Any, Any, None]:
        yield succeed(None)
        returnValue(2)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert inline().result == 2


# -- a fired Deferred lets go of its canceller --------------------------------------


class _Canceller:
    deferred: Deferred[Any]

    def __call__(self, d: Deferred[Any]) -> None:
        pass


@pytest.mark.parametrize("how", ["callback", "errback", "chained"])
def test_fired_deferred_drops_its_canceller(how: str) -> None:
    gc.disable()
    try:
        canceller = _Canceller()
        d: Deferred[Any] = Deferred(canceller)
        canceller.deferred = d  # a cycle, until d fires
        refs = weakref.ref(canceller), weakref.ref(d)
        if how == "callback":
            d.callback(None)
        elif how == "errback":
            d.errback(ValueError("no"))
            d.addErrback(lambda f: None)
        else:
            source: Deferred[None] = Deferred()
            source.chainDeferred(d)
            source.callback(None)
        del canceller, d
        assert [r() for r in refs] == [None, None]  # freed without the cycle collector
    finally:
        gc.enable()


def test_cancel_after_firing_is_still_harmless() -> None:
    calls: list[Deferred[Any]] = []
    d: Deferred[int] = Deferred(calls.append)
    d.callback(1)
    d.cancel()
    assert calls == [] and d.result == 1


# -- debugging aids ------------------------------------------------------------------


def _create() -> Deferred[str]:
    return Deferred()


def _fire(d: Deferred[str]) -> None:
    d.callback("first")


def _fail(d: Deferred[str]) -> None:
    d.errback(RuntimeError("first"))


def _fireAgain(d: Deferred[str]) -> None:
    d.callback("again")


def _lines(text: str, tag: str, function: str) -> int:
    return sum(
        1 for line in text.split("\n") if line.startswith(f" {tag}:") and line.endswith(function)
    )


@pytest.mark.parametrize("first", [_fire, _fail])
def test_already_called_error_shows_creator_and_first_invoker(debugging: None, first: Any) -> None:
    d = _create()
    first(d)
    d.addErrback(lambda f: None)
    with pytest.raises(defer.AlreadyCalledError) as info:
        _fireAgain(d)
    text = info.value.args[0]
    assert text.startswith("\n C: Deferred was created:\n C:")
    assert " I: First Invoker was:\n I:" in text
    assert _lines(text, "C", " _create") == 1
    assert _lines(text, "I", f" {first.__name__}") == 1
    assert _lines(text, "C", f" {first.__name__}") == 0
    assert _lines(text, "I", " _fireAgain") == 0  # the second call is not the invoker


def test_a_deferreds_own_debug_flag_records_its_invoker() -> None:
    d = _create()
    d.debug = True
    assert d.debug and not Deferred.debug
    _fire(d)
    with pytest.raises(defer.AlreadyCalledError) as info:
        _fireAgain(d)
    text = info.value.args[0]
    assert _lines(text, "I", " _fire") == 1
    assert "C:" not in text  # created before its debug flag was set


def test_unhandled_failure_report_includes_debug_info(
    debugging: None, caplog: pytest.LogCaptureFixture
) -> None:
    def lose() -> None:
        d = _create()
        d.addCallback(lambda r: 1 // 0)
        _fire(d)

    lose()
    gc.collect()
    assert "Unhandled error in Deferred:\n(debug:  C: Deferred was created:" in caplog.text
    assert " I: First Invoker was:" in caplog.text and "ZeroDivisionError" in caplog.text


def test_deferreds_take_any_attribute() -> None:
    d: Deferred[int] = Deferred()
    d.label = "mine"  # type: ignore[attr-defined]
    d.debug = False
    assert d.label == "mine"  # type: ignore[attr-defined]
    d.callback(1)
    assert d.result == 1


def test_failure_of_a_callback_captures_variables_only_when_debugging() -> None:
    def explode(result: object) -> None:
        secret = "local value"
        raise ValueError(secret)

    for on in (False, True):
        defer.setDebugging(on)
        try:
            d = succeed(None)
            d.addCallback(explode)
            caught: list[Failure] = []
            d.addErrback(caught.append)
        finally:
            defer.setDebugging(False)
        frame = caught[0].frames[-1]
        assert frame[0] == "explode"
        if on:
            assert ("secret", "'local value'") in frame[3] and frame[4]
            assert caught[0].captureVars
        else:
            assert frame[3] == () and frame[4] == ()  # as in Twisted


def test_failure_of_an_inline_generator_captures_variables_when_debugging(
    debugging: None,
) -> None:
    @inlineCallbacks
    def gen() -> Generator[Any, Any, None]:
        where = "in the generator"
        yield succeed(where)
        raise KeyError(where)

    caught: list[Failure] = []
    gen().addErrback(caught.append)
    assert ("where", "'in the generator'") in caught[0].frames[-1][3]


# -- Failure -------------------------------------------------------------------------


class _BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class _BrokenMeta(type):
    def __str__(cls) -> str:
        raise ValueError("You cannot make a string out of me.")


class _BrokenType(Exception, metaclass=_BrokenMeta):
    pass


@pytest.mark.parametrize("detail", ["brief", "default", "verbose"])
@pytest.mark.parametrize("exc", [_BrokenStr, _BrokenType])
def test_get_traceback_survives_unprintable_exceptions(detail: str, exc: type) -> None:
    text = Failure(exc()).getTraceback(detail=detail)
    assert isinstance(text, str) and exc.__name__ in text


def test_start_debug_mode_calls_post_mortem(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(pdb, "post_mortem", seen.append)
    monkeypatch.setattr(Failure, "__init__", Failure.__init__)  # undone after the test
    failure.startDebugMode()
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        tb = sys.exc_info()[2]
        f = Failure(captureVars=True)
    assert seen == [tb] and f.captureVars and f.check(ZeroDivisionError)
    Failure(ValueError("given, not caught"))
    assert seen == [tb]  # only Failure() of the current exception stops


def test_debug_mode_stops_on_exceptions_raised_by_callbacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(pdb, "post_mortem", seen.append)
    plainInit = Failure.__init__

    def explode(result: object) -> None:
        raise KeyError("in a callback")

    failure.startDebugMode()
    try:
        succeed(None).addCallback(explode).addErrback(lambda f: None)
        assert len(seen) == 1
        assert any(t.tb_frame.f_code is explode.__code__ for t in _chain(seen[0]))
    finally:
        Failure.__init__ = plainInit  # type: ignore[method-assign]  # as Twisted's tests undo it
    succeed(None).addCallback(explode).addErrback(lambda f: None)
    assert len(seen) == 1  # debug mode is over


def _chain(tb: Any) -> Iterator[Any]:
    while tb is not None:
        yield tb
        tb = tb.tb_next
