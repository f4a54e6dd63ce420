"""torsion's pytest plugin: reactors as fixtures, Deferred and coroutine tests, leak checks.

pytest loads it through the ``pytest11`` entry point ``torsion`` whenever
torsion is installed: it is always active, because it changes nothing a test
does not ask for (a fixture is only made when a test names it, the leak
check is off unless turned on, and only tests that return a Deferred or are
coroutines are run differently), and it imports no reactor when loaded.  The
module is public, not ``_private``, because tests import from it what
``pytest_twisted`` users import from that module: ``inlineCallbacks``,
``ensureDeferred`` and ``blockon``.

Fixtures
    ``reactor``: a new reactor (``torsion.reactors.create``) for one test,
    closed after it; a test that leaves timers or descriptors in it fails
    (unless marked ``allow_leaks``).  Its backend is ``--torsion-reactor`` /
    ``torsion_reactor`` (default: the best available); ``--torsion-backends=all``
    (or ``select,poll``...) runs each test that takes it once per backend.
    ``asyncio+uvloop`` in that list is the asyncio backend on a new uvloop
    loop (``all,asyncio+uvloop``: every backend, and that one too).
    ``run``: ``run(d, timeout=10)`` runs that reactor until ``d`` fires and
    returns its result (raises its failure), then stops the reactor.
    ``clock``: a ``task.Clock``.  ``memory_reactor``: a
    ``testing.MemoryReactorClock``.

Deferred and coroutine tests
    A test function that returns a Deferred, is ``async def``, or is
    decorated with ``inlineCallbacks`` (torsion's, this module's, or
    ``pytest_twisted``'s markers) runs on the reactor until it is done: on
    its ``reactor`` fixture if it takes one (which is then stopped), else on
    the global reactor (which keeps running test after test, as trial's
    does).  It fails if not done after ``torsion_timeout`` seconds (120), or
    the ``@pytest.mark.torsion_timeout(seconds)`` of the test, saying where
    it was waiting.  Coroutines marked for asyncio, anyio or trio are left
    to those plugins; ``torsion_coroutines = false`` leaves all of them.  An
    unmarked coroutine test is torsion's only if no conftest or plugin loaded
    after this one runs it itself (see ``pytest_pyfunc_call_unclaimed``).

Leak check
    ``--torsion-leak-check`` (or ``torsion_leak_check = true``): each test
    fails if it leaves a file descriptor, thread or child process it did not
    have before, or a pending timer in the global reactor.  Tests marked
    ``allow_leaks`` are not checked.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Generator, Iterator
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pytest

from torsion import defer, reactors, task, testing
from torsion.defer import Deferred
from torsion.trial._janitor import Janitor
from torsion.trial._leaks import Snapshot
from torsion.trial._wait import ReactorTimeout, runUntil, spin, whereWaiting
from torsion.trial.util import DEFAULT_TIMEOUT_DURATION

if TYPE_CHECKING:
    from torsion._reactor import Reactor

__all__ = ["ReactorTimeout", "Run", "blockon", "ensureDeferred", "inlineCallbacks", "runUntil"]

_T = TypeVar("_T")


class Run(Protocol):
    """The ``run`` fixture's type: ``run(d, timeout=10)`` spins the test's reactor until
    ``d`` fires and returns its result (or raises its exception)."""

    def __call__(self, d: Deferred[_T], timeout: float = ...) -> _T: ...


# pytest-twisted marks its decorated tests with this attribute; so do we.
_MARK = "_pytest_twisted_mark"
_FOREIGN_ASYNC_MARKERS = ("asyncio", "anyio", "trio")


# -- decorators and helpers for test code ------------------------------------------


def inlineCallbacks(f: Callable[..., Generator[Any, Any, _T]]) -> Callable[..., Deferred[_T]]:
    """``defer.inlineCallbacks``, marked as a reactor test (pytest-twisted's name)."""
    decorated = defer.inlineCallbacks(f)
    setattr(decorated, _MARK, "inline_callbacks_test")
    return decorated


def ensureDeferred(f: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an ``async def`` test to run on the reactor (pytest-twisted's name; optional here)."""
    setattr(f, _MARK, "async_test")
    return f


def blockon(d: Deferred[_T], timeout: float | None = None) -> _T:
    """Run the global reactor until ``d`` fires; its result, or raise its failure.

    For synchronous test code (pytest-twisted's ``blockon``).  ``timeout``
    (seconds) makes it fail with ``ReactorTimeout`` instead of waiting on.
    """
    results: list[Any] = []
    d.addBoth(results.append)
    if not results:
        _spinGlobal(d, timeout)
    if not results:
        raise ReactorTimeout(f"Deferred did not fire within {timeout}s: {whereWaiting(d)}")
    result = results[0]
    if isinstance(result, defer.Failure):
        result.raiseException()
    return result  # type: ignore[no-any-return]


def _spinGlobal(d: Deferred[Any], timeout: float | None, coro: Any = None) -> str | None:
    """Spin the global reactor until ``d`` fires or ``timeout``; where it waited, if it ran out."""
    reactor = reactors.getGlobal()
    expired: list[str] = []

    def expire() -> None:
        expired.append(whereWaiting(d, coro))
        reactor.crash()

    guard = reactor.callLater(timeout, expire) if timeout is not None else None
    try:
        spin(reactor, d)
    finally:
        if guard is not None and guard.active():
            guard.cancel()
    return expired[0] if expired else None


# -- options ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("torsion", "torsion reactors")
    group.addoption(
        "--torsion-reactor",
        metavar="NAME",
        help="backend of the reactor fixture and of the global reactor "
        f"({', '.join(reactors.available())})",
    )
    group.addoption(
        "--torsion-backends",
        metavar="all|NAME,...",
        help="run each test that takes the reactor fixture on each of these backends",
    )
    group.addoption(
        "--torsion-leak-check",
        action="store_true",
        default=None,
        help="fail tests that leave descriptors, threads, child processes or timers behind",
    )
    parser.addini("torsion_reactor", "default for --torsion-reactor", default="")
    parser.addini("torsion_backends", "default for --torsion-backends", default="")
    parser.addini(
        "torsion_leak_check", "default for --torsion-leak-check", type="bool", default=False
    )
    parser.addini(
        "torsion_timeout",
        "seconds a Deferred or coroutine test may take",
        default=str(DEFAULT_TIMEOUT_DURATION),
    )
    parser.addini(
        "torsion_coroutines",
        "run async def tests on the torsion reactor",
        type="bool",
        default=True,
    )


def _option(config: pytest.Config, name: str) -> Any:
    """The command line's ``--name`` if given, else the ini file's ``name``."""
    value = config.getoption(name)
    return config.getini(name) if value is None else value


#: Reactor names beyond the backends: the asyncio backend on a new loop of another kind.
_LOOP_VARIANTS = {"asyncio+uvloop": "uvloop"}


def _backends(config: pytest.Config) -> list[str]:
    text = (_option(config, "torsion_backends") or "").strip()
    names: list[str] = []
    for name in filter(None, (n.strip() for n in text.split(","))):
        expanded = reactors.available() if name == "all" else [name]
        names += [one for one in expanded if one not in names]
    unknown = [n for n in names if n not in reactors.available() and n not in _LOOP_VARIANTS]
    if unknown:
        raise pytest.UsageError(f"--torsion-backends: not available here: {', '.join(unknown)}")
    for name in names:
        if name in _LOOP_VARIANTS and name not in _variantsSeen:
            _variantLoop(name).close()  # fails early if missing; see _variantLoop
            _variantsSeen.add(name)
    return names


_variantsSeen: set[str] = set()


def _variantLoop(name: str) -> Any:
    """A new event loop for the reactor variant ``name`` (``asyncio+uvloop``)."""
    module = _LOOP_VARIANTS[name]
    try:
        loopModule = importlib.import_module(module)
    except ImportError:
        raise pytest.UsageError(f"--torsion-backends: {name} needs {module} installed") from None
    # uvloop opens a pipe for the whole process with its first loop: made here,
    # at collection, the leak check never counts it against a test.
    return loopModule.new_event_loop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_leaks: torsion's leak checks do not fail this test")
    config.addinivalue_line(
        "markers", "torsion_timeout(seconds): how long this Deferred or coroutine test may take"
    )
    name = _option(config, "torsion_reactor")
    if name:
        if name not in reactors.available():
            raise pytest.UsageError(f"--torsion-reactor: {name!r} is not available here")
        if reactors.installed() is None:
            reactors.install(name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "reactor" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        if "reactor" in str(mark.args[0] if mark.args else ""):
            return  # the test chose its own reactors
    names = _backends(metafunc.config)
    if names:
        metafunc.parametrize("reactor", names, indirect=True, ids=names)


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def reactor(request: pytest.FixtureRequest) -> Iterator[Reactor]:
    """A new reactor for this test, checked for leftovers and closed after it."""
    name = getattr(request, "param", None) or _option(request.config, "torsion_reactor") or None
    loop = _variantLoop(name) if name in _LOOP_VARIANTS else None
    r = reactors.create("asyncio", loop=loop) if loop is not None else reactors.create(name)
    janitor = Janitor(r, flush=False)
    try:
        yield r
        calls = janitor.pendingCalls()
        selectables = janitor.selectables()
        if (calls or selectables) and not request.node.get_closest_marker("allow_leaks"):
            leftovers = [f"delayed calls {calls}"] if calls else []
            leftovers += [f"selectables {selectables}"] if selectables else []
            pytest.fail("test left reactor state behind: " + "; ".join(leftovers))
    finally:
        janitor.selectables()
        janitor.pendingCalls()
        r.close()
        if loop is not None:
            loop.close()


@pytest.fixture
def run(reactor: Reactor) -> Run:
    """``run(d, timeout=10)``: run this test's reactor until ``d`` fires; its result."""
    return functools.partial(runUntil, reactor)


@pytest.fixture
def clock() -> task.Clock:
    """A ``task.Clock``: time passes only when the test calls ``advance``."""
    return task.Clock()


@pytest.fixture
def memory_reactor() -> testing.MemoryReactorClock:
    """A ``testing.MemoryReactorClock``: records listen/connect calls, and is a Clock."""
    return testing.MemoryReactorClock()


@pytest.fixture(autouse=True)
def _torsion_leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    if not _option(request.config, "torsion_leak_check") or request.node.get_closest_marker(
        "allow_leaks"
    ):
        yield
        return
    if _usesGlobalReactor(request.node):
        reactors.getGlobal()  # before the snapshot: it lives as long as the process
    hadGlobal = reactors.installed() is not None
    before = Snapshot.take()
    yield
    problems = before.leaksSince()
    installed = reactors.installed()
    if installed is not None:
        calls = Janitor(installed, flush=False).pendingCalls()
        if calls:
            problems.append("pending timers in the global reactor: " + ", ".join(calls))
        if not hadGlobal and problems:
            problems.append(
                "(the global reactor was first used in this test: its own descriptors count "
                "too; use the reactor fixture, or import torsion.reactor in a conftest)"
            )
    if problems:
        pytest.fail("test leaked " + "; ".join(problems))


# -- Deferred and coroutine tests ---------------------------------------------------------


def _isForeignCoroutine(item: pytest.Function, f: Any) -> bool:
    if not inspect.iscoroutinefunction(f) or getattr(f, _MARK, None) == "async_test":
        return False
    if not item.config.getini("torsion_coroutines"):
        return True
    return any(item.get_closest_marker(m) for m in _FOREIGN_ASYNC_MARKERS)


def _usesGlobalReactor(item: Any) -> bool:
    """Will this test run on the global reactor (as far as can be told before it runs)?"""
    f = getattr(item, "obj", None)
    if not isinstance(item, pytest.Function) or "reactor" in item.fixturenames:
        return False
    marked = getattr(f, _MARK, None) is not None
    return marked or (inspect.iscoroutinefunction(f) and not _isForeignCoroutine(item, f))


def _timeout(item: pytest.Function) -> float:
    mark = item.get_closest_marker("torsion_timeout")
    if mark is not None and mark.args:
        return float(mark.args[0])
    return float(item.config.getini("torsion_timeout"))


def _runOnReactor(item: pytest.Function, f: Callable[..., Any]) -> Callable[..., Any]:
    """``f``, made to wait for the Deferred or coroutine it returns (see the module comment)."""

    def test(**kwargs: Any) -> Any:
        returned = f(**kwargs)
        if not isinstance(returned, (Deferred, CoroutineType, GeneratorType)):
            return returned
        coro = returned if isinstance(returned, CoroutineType) else None
        d = defer.ensureDeferred(returned)
        timeout = _timeout(item)
        fixture: Any = item.funcargs.get("reactor")  # a test may name anything "reactor"
        if hasattr(fixture, "backendName") and not d.called:  # the reactor fixture
            runUntil(fixture, d, timeout)
            return None
        results: list[Any] = []
        d.addBoth(results.append)
        if not results:
            try:
                where = _spinGlobal(d, timeout, coro)
            finally:
                Janitor(reactors.getGlobal()).stopThreadPool()
            if where is not None:
                raise ReactorTimeout(f"test did not finish within {timeout}s: {where}")
        if results and isinstance(results[0], defer.Failure):
            results[0].raiseException()
        return None

    return test


# Who runs a test: a test marked for torsion (its decorators), or a plain
# function that may return a Deferred, is torsion's before anyone else's
# (``pytest_pyfunc_call``).  An unmarked ``async def`` test goes to whichever
# conftest or plugin claims it first (aiohttp's plugin, a project's own
# ``pytest_pyfunc_call`` running coroutines with ``asyncio.run``...), and to
# torsion only if none of those does (``pytest_pyfunc_call_unclaimed``: an
# ordinary hook, so pluggy calls it after those registered later than this
# plugin, every conftest and the plugins conftests load among them, and before
# pytest's own "async def functions are not natively supported").  torsion gets
# installed where tests were written for other async plugins: taking their
# coroutines first would run them outside any asyncio task.


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    original = pyfuncitem.obj
    if inspect.iscoroutinefunction(original) and getattr(original, _MARK, None) is None:
        return (yield)
    pyfuncitem.obj = _runOnReactor(pyfuncitem, original)
    try:
        return (yield)
    finally:
        pyfuncitem.obj = original


@pytest.hookimpl(specname="pytest_pyfunc_call")
def pytest_pyfunc_call_unclaimed(pyfuncitem: pytest.Function) -> bool | None:
    f = pyfuncitem.obj
    if not inspect.iscoroutinefunction(f) or _isForeignCoroutine(pyfuncitem, f):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    _runOnReactor(pyfuncitem, f)(**args)
    return True
