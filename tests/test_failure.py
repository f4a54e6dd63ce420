"""Failure: capture, inspection, rendering, cleaning, and travel through generators."""

from __future__ import annotations

import io
import pickle
import traceback
from collections.abc import Generator

import pytest

from torsion.failure import DefaultException, Failure, NoCurrentExceptionError


def _raise_value_error() -> None:
    raise ValueError("boom")


def _caught() -> Failure:
    try:
        _raise_value_error()
    except ValueError:
        return Failure()
    raise AssertionError("not reached")


def test_no_arguments_captures_the_current_exception() -> None:
    f = _caught()
    assert f.type is ValueError
    assert isinstance(f.value, ValueError)
    assert f.tb is not None
    assert f.getErrorMessage() == "boom"


def test_no_arguments_outside_except_raises() -> None:
    with pytest.raises(NoCurrentExceptionError):
        Failure()


def test_exception_instance_without_traceback() -> None:
    f = Failure(KeyError("x"))
    assert f.type is KeyError
    assert f.tb is None
    assert f.frames == []
    assert (
        f.getTraceback() == "Traceback (most recent call last):\nFailure: builtins.KeyError: 'x'\n"
    )
    assert f.getBriefTraceback() == (
        "Traceback (failure with no frames): <class 'KeyError'>: 'x'\n"
    )


def test_raised_exception_instance_keeps_its_traceback() -> None:
    try:
        _raise_value_error()
    except ValueError as e:
        exc = e
    f = Failure(exc)
    assert f.tb is exc.__traceback__
    assert [fr[0] for fr in f.frames][-1] == "_raise_value_error"


def test_explicit_type_and_traceback() -> None:
    try:
        _raise_value_error()
    except ValueError as e:
        f = Failure(e, ValueError, e.__traceback__)
    assert f.type is ValueError and f.tb is not None
    with pytest.raises(TypeError):
        Failure(ValueError(), ValueError, "not a traceback")  # type: ignore[arg-type]


def test_non_exception_value_is_wrapped() -> None:
    f = Failure("a string")
    assert f.check(DefaultException)
    assert f.getErrorMessage() == "a string"


def test_failure_of_failure_copies() -> None:
    f = _caught()
    g = Failure(f)
    assert (g.type, g.value, g.tb) == (f.type, f.value, f.tb)


def test_check_and_trap() -> None:
    f = _caught()
    assert f.check(KeyError, ValueError) is ValueError
    assert f.check(Exception) is Exception
    assert f.check("builtins.ValueError") == "builtins.ValueError"
    assert f.check(KeyError) is None
    assert f.trap(KeyError, ValueError) is ValueError
    with pytest.raises(ValueError, match="boom") as info:
        f.trap(KeyError)
    assert info.value is f.value


def test_raise_exception_keeps_original_traceback() -> None:
    f = _caught()
    with pytest.raises(ValueError) as info:
        f.raiseException()
    names = [entry.name for entry in info.traceback]
    assert "_raise_value_error" in names


def test_default_traceback_text() -> None:
    f = _caught()
    text = f.getTraceback()
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "in _caught" in text and "in _raise_value_error" in text
    assert '    raise ValueError("boom")' in lines
    assert lines[-1] == "builtins.ValueError: boom"


def test_brief_and_verbose_traceback() -> None:
    f = _caught()
    brief = f.getBriefTraceback().splitlines()
    assert brief[0] == "Traceback: <class 'ValueError'>: boom"
    assert brief[-1].endswith(":_raise_value_error")
    verbose = f.getTraceback(detail="verbose")
    assert verbose.startswith(f"*--- Failure #{f.count} ---\n")
    assert "Capture of Locals and Globals disabled" in verbose
    assert verbose.endswith(f"*--- End of Failure #{f.count} ---\n")


def test_capture_vars_records_locals() -> None:
    def inner() -> Failure:
        secret = "sesame"  # noqa: F841 - shows up in the captured locals
        try:
            _raise_value_error()
        except ValueError:
            return Failure(captureVars=True)
        raise AssertionError("not reached")

    f = inner()
    assert f.captureVars
    localz = dict(f.frames[0][3])
    assert localz["secret"] == "'sesame'"
    assert "secret : 'sesame'" in f.getTraceback(detail="verbose")


def test_print_functions_write_to_file() -> None:
    f = _caught()
    out = io.StringIO()
    f.printTraceback(out)
    assert out.getvalue() == f.getTraceback()
    out = io.StringIO()
    f.printBriefTraceback(out)
    assert out.getvalue() == f.getBriefTraceback()
    out = io.StringIO()
    f.printDetailedTraceback(out)
    assert out.getvalue() == f.getTraceback(detail="verbose")


def test_repr_and_str() -> None:
    f = _caught()
    assert repr(f) == "<torsion.failure.Failure builtins.ValueError: boom>"
    assert str(f) == f"[Failure instance: {f.getBriefTraceback()}]"


def test_clean_failure_drops_traceback_keeps_text() -> None:
    f = _caught()
    before = f.getTraceback()
    f.cleanFailure()
    assert f.tb is None
    assert f.value.__traceback__ is None
    assert f.getTraceback() == before
    tb = f.getTracebackObject()
    formatted = "".join(traceback.format_tb(tb))
    assert "_raise_value_error" in formatted


def test_get_traceback_object_is_the_traceback() -> None:
    f = _caught()
    assert f.getTracebackObject() is f.tb


def test_throw_into_generator_adds_generator_frames() -> None:
    seen: list[BaseException] = []

    def user_generator() -> Generator[None, None, None]:
        try:
            yield
        except ValueError as e:
            seen.append(e)
            raise

    g = user_generator()
    next(g)
    f = _caught()
    with pytest.raises(ValueError) as info:
        f.throwExceptionIntoGenerator(g)
    assert seen == [f.value]
    names = [entry.name for entry in info.traceback]
    assert "user_generator" in names and "_raise_value_error" in names


def test_pickle_round_trip_keeps_text() -> None:
    f = _caught()
    g = pickle.loads(pickle.dumps(f))
    assert g.type is ValueError
    assert g.getTraceback() == f.getTraceback()
    assert g.tb is None
