"""Failure: an exception captured so that it can travel down a callback chain.

Theory of operation
-------------------
A Failure is made on every errback, so making one must be cheap: it keeps the
exception, its type and its traceback object and nothing else.  Text is only
rendered when somebody asks for it (``getTraceback`` and friends), by walking
the traceback.

Tracebacks keep every user frame because nothing is ever copied: throwing a
Failure into a generator or coroutine re-raises the *same* exception with its
recorded traceback, and Python prepends the frames it passes through.  A
failure that travels through several inlineCallbacks or coroutines therefore
ends up with the frames of each of them.

``cleanFailure()`` breaks reference cycles (traceback -> frame -> locals ->
Deferred -> Failure) by rendering the frames to plain tuples and dropping the
traceback object; the rendered text stays available and
``getTracebackObject()`` returns a stand-in that the ``traceback`` module can
format.
"""

from __future__ import annotations

import builtins
import itertools
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from types import TracebackType
from typing import IO, Any, NoReturn, TypeVar

__all__ = ["DefaultException", "Failure", "NoCurrentExceptionError", "startDebugMode"]

_Y = TypeVar("_Y")

_counter = itertools.count(1)

# (function name, file name, line number, locals, globals) as Twisted exposes them.
# Without captured variables both are empty tuples, as in Twisted.
_Vars = Sequence[tuple[str, str]]
_Frame = tuple[str, str, int, _Vars, _Vars]


class NoCurrentExceptionError(Exception):
    """Failure() was called with no arguments outside of an ``except`` block."""


class DefaultException(Exception):
    """Stands in for a Failure made from something that is not an exception."""


def _qual(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _safe_str(obj: object) -> str:
    try:
        return str(obj)
    except Exception as e:
        return f"<unprintable {type(obj).__name__} object: str() raised {type(e).__name__}>"


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception as e:
        return f"<unrepresentable {type(obj).__name__} object: repr() raised {type(e).__name__}>"


def _source_line(filename: str, lineno: int) -> str:
    import linecache

    return linecache.getline(filename, lineno).strip()


def _frames_of(tb: TracebackType | None, captureVars: bool) -> list[_Frame]:
    frames: list[_Frame] = []
    while tb is not None:
        f = tb.tb_frame
        code = f.f_code
        localz: _Vars = ()
        globalz: _Vars = ()
        if captureVars:
            localz = [(k, _safe_repr(v)) for k, v in f.f_locals.items()]
            globalz = [
                (k, _safe_repr(v)) for k, v in f.f_globals.items() if not k.startswith("__")
            ]
        frames.append((code.co_name, code.co_filename, tb.tb_lineno, localz, globalz))
        tb = tb.tb_next
    return frames


class Failure:
    """An exception and its traceback, kept for later handling.

    ``Failure()`` captures the exception being handled; ``Failure(exc)`` wraps
    ``exc`` (using its ``__traceback__`` when it has been raised).
    """

    # Only type, value and tb are always set; the others are read with getattr().
    __slots__ = ("_captureVars", "_count", "_frames", "tb", "type", "value")

    type: builtins.type[BaseException]
    value: BaseException
    tb: TracebackType | None

    def __init__(
        self,
        exc_value: object = None,
        exc_type: builtins.type[BaseException] | None = None,
        exc_tb: TracebackType | None = None,
        captureVars: bool = False,
    ) -> None:
        if exc_value is None:
            current = sys.exception()
            if current is None:
                raise NoCurrentExceptionError(
                    "Failure() with no arguments must be called while an exception is handled"
                )
            self.value = current
            self.type = type(current)
            self.tb = current.__traceback__
        elif isinstance(exc_value, Failure):
            self.value = exc_value.value
            self.type = exc_value.type
            self.tb = exc_value.tb
            self._frames = getattr(exc_value, "_frames", None)
        else:
            if not isinstance(exc_value, BaseException):
                # Twisted accepts any object (historically, string exceptions).
                exc_value = DefaultException(exc_value)
            self.value = exc_value
            self.type = exc_type if exc_type is not None else type(exc_value)
            if exc_tb is not None and not isinstance(exc_tb, TracebackType):
                raise TypeError(f"exc_tb must be a traceback object or None, not {exc_tb!r}")
            self.tb = exc_tb if exc_tb is not None else exc_value.__traceback__
        if captureVars:
            self._captureVars = True
            self._frames = _frames_of(self.tb, True)

    # -- inspection ---------------------------------------------------------

    @property
    def captureVars(self) -> bool:
        """Whether locals and globals were captured with the frames."""
        return getattr(self, "_captureVars", False)

    @property
    def frames(self) -> list[_Frame]:
        """The traceback as ``(function, file, line, locals, globals)`` tuples."""
        frames: list[_Frame] | None = getattr(self, "_frames", None)
        if frames is None:
            return _frames_of(self.tb, False)
        return frames

    @property
    def stack(self) -> list[_Frame]:
        """Frames above the point of capture; torsion does not record them."""
        return []

    @property
    def count(self) -> int:
        """A number identifying this Failure in verbose tracebacks."""
        count: int = getattr(self, "_count", 0)
        if not count:
            self._count = count = next(_counter)
        return count

    @property
    def parents(self) -> list[str]:
        """Qualified names of the exception type and its bases."""
        return [_qual(c) for c in self.type.__mro__]

    def check(
        self, *errorTypes: builtins.type[BaseException] | str
    ) -> builtins.type[BaseException] | str | None:
        """Return the first of ``errorTypes`` that this failure is an instance of, else None.

        Types may also be given as qualified names ("builtins.ValueError").
        """
        mytype = self.type
        for error in errorTypes:
            if isinstance(error, str):
                if error in self.parents:
                    return error
            elif issubclass(mytype, error):
                return error
        return None

    def trap(
        self, *errorTypes: builtins.type[BaseException] | str
    ) -> builtins.type[BaseException] | str:
        """Return the matching type as ``check`` does; if none matches, re-raise."""
        error = self.check(*errorTypes)
        if error is None:
            self.raiseException()
        return error

    def raiseException(self) -> NoReturn:
        """Raise the original exception with its original traceback."""
        raise self.value.with_traceback(self.tb)

    def throwExceptionIntoGenerator(self, g: Generator[_Y, Any, Any]) -> _Y:
        """Throw the original exception into generator ``g`` at its current yield."""
        return g.throw(self.value.with_traceback(self.tb))

    def getErrorMessage(self) -> str:
        """The exception's message."""
        value: object = self.value
        if isinstance(value, DefaultException) and len(value.args) == 1:
            value = value.args[0]
        return _safe_str(value)

    def getTracebackObject(self) -> Any:
        """The traceback; after ``cleanFailure()``, a stand-in the traceback module can format."""
        frames = getattr(self, "_frames", None)
        if self.tb is not None or frames is None:
            return self.tb
        return _fake_traceback(frames)

    def cleanFailure(self) -> None:
        """Drop the traceback object (and the frames it keeps alive), keeping its text."""
        if self.tb is not None:
            self._frames = self.frames
            self.tb = None
            self.value.__traceback__ = None

    # -- rendering ----------------------------------------------------------

    def getTraceback(self, elideFrameworkCode: int = 0, detail: str = "default") -> str:
        """The traceback as text; ``detail`` is "default", "brief" or "verbose"."""
        lines: list[str] = []
        self._render(lines, detail)
        return "".join(lines)

    def getBriefTraceback(self) -> str:
        """One line per frame: ``file:line:function``."""
        return self.getTraceback(detail="brief")

    def printTraceback(
        self,
        file: IO[str] | None = None,
        elideFrameworkCode: bool = False,
        detail: str = "default",
    ) -> None:
        """Write the traceback to ``file`` (default: stderr)."""
        (sys.stderr if file is None else file).write(self.getTraceback(detail=detail))

    def printBriefTraceback(
        self, file: IO[str] | None = None, elideFrameworkCode: int = 0
    ) -> None:
        """Write the brief traceback to ``file`` (default: stderr)."""
        self.printTraceback(file, bool(elideFrameworkCode), "brief")

    def printDetailedTraceback(
        self, file: IO[str] | None = None, elideFrameworkCode: int = 0
    ) -> None:
        """Write the verbose traceback (with locals when captured) to ``file``."""
        self.printTraceback(file, bool(elideFrameworkCode), "verbose")

    def _render(self, out: list[str], detail: str) -> None:
        frames = self.frames
        if detail == "brief":
            try:
                kind = str(self.type)
            except Exception:  # a metaclass whose __str__ raises
                kind = f"<class '{_qual(self.type)}'>"
            what = f"{kind}: {_safe_str(self.value)}"
            if frames:
                out.append(f"Traceback: {what}\n")
            else:
                out.append(f"Traceback (failure with no frames): {what}\n")
            out.extend(f"{fname}:{line}:{func}\n" for func, fname, line, _, _ in frames)
            return
        if detail == "verbose":
            out.append(f"*--- Failure #{self.count} ---\n")
            for func, fname, line, localz, globalz in frames:
                out.append(f"{fname}:{line}: {func}(...)\n")
                if self.captureVars:
                    out.extend(f"  {name} : {val}\n" for name, val in localz)
                    out.extend(f"  (global) {name} : {val}\n" for name, val in globalz)
            if not self.captureVars:
                out.append(" [Capture of Locals and Globals disabled (use captureVars=True)]\n")
            out.append(f"{_qual(self.type)}: {_safe_str(self.value)}\n")
            out.append(f"*--- End of Failure #{self.count} ---\n")
            return
        out.append("Traceback (most recent call last):\n")
        for func, fname, line, _, _ in frames:
            out.append(f'  File "{fname}", line {line}, in {func}\n')
            out.append(f"    {_source_line(fname, line)}\n")
        if not frames:
            out.append("Failure: ")
        out.append(f"{_qual(self.type)}: {_safe_str(self.value)}\n")

    def __repr__(self) -> str:
        return f"<{_qual(type(self))} {_qual(self.type)}: {_safe_str(self.value)}>"

    def __str__(self) -> str:
        return f"[Failure instance: {self.getBriefTraceback()}]"

    def __getstate__(self) -> dict[str, Any]:
        frames = self.frames
        return {
            "type": self.type,
            "value": self.value,
            "_frames": frames,
            "captureVars": self.captureVars,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.type = state["type"]
        self.value = state["value"]
        self._frames = state["_frames"]
        self._captureVars = state["captureVars"]
        self.tb = None


# -- post-mortem debugging ------------------------------------------------------

#: With ``startDebugMode()``, whether ``Failure()`` opens the debugger (as in Twisted).
DO_POST_MORTEM = True

# Called by startDebugMode(): torsion.defer registers one, so that the Failures
# it makes for exceptions raised by callbacks stop in the debugger too.
_debugModeHooks: list[Callable[[], None]] = []


def _inDebugMode() -> bool:
    """Whether ``Failure.__init__`` is still the one startDebugMode() installed."""
    return bool(getattr(Failure.__init__, "_postMortem", False))


def startDebugMode() -> None:
    """Open ``pdb`` post-mortem on the exception being handled whenever ``Failure()`` captures one.

    As in Twisted, this replaces ``Failure.__init__`` (putting the original
    back ends debug mode), and exceptions raised by Deferred callbacks stop
    too.
    """
    if _inDebugMode():
        return
    plainInit = Failure.__init__

    def debugInit(
        self: Failure,
        exc_value: object = None,
        exc_type: builtins.type[BaseException] | None = None,
        exc_tb: TracebackType | None = None,
        captureVars: bool = False,
    ) -> None:
        if exc_value is None and exc_type is None and exc_tb is None:
            current = sys.exception()
            if current is not None and DO_POST_MORTEM:
                print(
                    f"Jumping into debugger for post-mortem of exception '{_safe_str(current)}':"
                )
                import pdb

                pdb.post_mortem(current.__traceback__)
        plainInit(self, exc_value, exc_type, exc_tb, captureVars)

    debugInit._postMortem = True  # type: ignore[attr-defined]
    Failure.__init__ = debugInit  # type: ignore[method-assign]
    for hook in _debugModeHooks:
        hook()


def _from_exception(exc: BaseException) -> Failure:
    """Make a Failure for a caught exception without argument parsing (the hot path)."""
    f = _new(Failure)
    f.value = exc
    f.type = type(exc)
    f.tb = exc.__traceback__
    return f


_new = object.__new__


# -- stand-ins for a traceback after cleanFailure() -----------------------------


class _FakeCode:
    __slots__ = ("co_argcount", "co_filename", "co_lineno", "co_name", "co_qualname")

    def __init__(self, name: str, filename: str, lineno: int) -> None:
        self.co_name = self.co_qualname = name
        self.co_filename = filename
        self.co_lineno = lineno
        self.co_argcount = 0

    def co_positions(self) -> Iterator[tuple[int, int, None, None]]:
        while True:
            yield (self.co_lineno, self.co_lineno, None, None)


class _FakeFrame:
    __slots__ = ("f_back", "f_code", "f_globals", "f_lineno", "f_locals")

    def __init__(self, code: _FakeCode, lineno: int, localz: dict[str, str]) -> None:
        self.f_code = code
        self.f_lineno = lineno
        self.f_globals: dict[str, Any] = {}
        self.f_locals = localz
        self.f_back = None


class _FakeTraceback:
    __slots__ = ("tb_frame", "tb_lasti", "tb_lineno", "tb_next")

    def __init__(self, frame: _FakeFrame, lineno: int, nxt: _FakeTraceback | None) -> None:
        self.tb_frame = frame
        self.tb_lineno = lineno
        self.tb_lasti = 0
        self.tb_next = nxt


def _fake_traceback(frames: list[_Frame]) -> _FakeTraceback | None:
    tb: _FakeTraceback | None = None
    for func, fname, line, localz, _ in reversed(frames):
        frame = _FakeFrame(_FakeCode(func, fname, line), line, dict(localz))
        tb = _FakeTraceback(frame, line, tb)
    return tb
