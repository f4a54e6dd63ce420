"""torsion's pytest plugin, used as a user uses it: small projects run by pytest.

Each project runs in a pytest subprocess (pytester), where the plugin is
loaded from its ``pytest11`` entry point, as in any project that installs
torsion.
"""

from __future__ import annotations

import os

import pytest

from torsion import reactors

pytestmark = pytest.mark.allow_leaks  # the projects run in subprocesses


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


FIXTURES = """
import pytest
from torsion import task, testing, reactors

def test_reactor_is_new_and_not_running(reactor):
    assert not reactor.running and reactor is not reactors.installed()
    print("BACKEND", reactor.backendName)

def test_run_fixture_returns_the_result(reactor, run):
    assert run(task.deferLater(reactor, 0.001, lambda: 5)) == 5

def test_clock_is_a_task_clock(clock):
    assert isinstance(clock, task.Clock)
    ran = []
    clock.callLater(2, ran.append, 1)
    clock.advance(2)
    assert ran == [1]

def test_memory_reactor(memory_reactor):
    assert isinstance(memory_reactor, testing.MemoryReactorClock)
    memory_reactor.listenTCP(80, object())
    assert memory_reactor.tcpServers[0][0] == 80
"""


def test_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FIXTURES)
    result = run(pytester, "-s")
    result.assert_outcomes(passed=4)
    default = os.environ.get("TORSION_REACTOR") or reactors.available()[0]
    result.stdout.fnmatch_lines([f"*BACKEND {default}*"])


def test_backends_all_runs_each_reactor_test_on_every_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FIXTURES)
    result = run(pytester, "--torsion-backends=all", "-v")
    backends = reactors.available()
    result.assert_outcomes(passed=2 * len(backends) + 2)
    for name in backends:
        result.stdout.fnmatch_lines([f"*test_run_fixture_returns_the_result[[]{name}[]] PASSED*"])


def test_asyncio_plus_uvloop_runs_the_asyncio_backend_on_uvloop(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_loop_kind(reactor, run):
            from torsion import task
            if reactor.backendName == "asyncio":
                print("LOOP", type(reactor.loop).__module__.partition(".")[0])
            assert run(task.deferLater(reactor, 0.001, lambda: 5)) == 5
        """
    )
    result = run(pytester, "-s", "-v", "--torsion-backends=all,asyncio+uvloop,asyncio")
    result.assert_outcomes(passed=len(reactors.available()) + 1)  # "asyncio" only once
    result.stdout.fnmatch_lines(
        ["*[[]asyncio[]] LOOP asyncio*", "*[[]asyncio+uvloop[]] LOOP uvloop*"]
    )
    result = run(pytester, "--torsion-backends=asyncio+nosuch")
    result.stdout.fnmatch_lines(["*not available here: asyncio+nosuch*"])


def test_reactor_option_and_ini_choose_the_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FIXTURES)
    run(pytester, "-s", "--torsion-reactor=select").stdout.fnmatch_lines(["*BACKEND select*"])
    pytester.makeini("[pytest]\ntorsion_reactor = poll\n")
    run(pytester, "-s").stdout.fnmatch_lines(["*BACKEND poll*"])
    result = run(pytester, "--torsion-reactor=nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_deferred_coroutine_and_inlineCallbacks_tests_run_on_the_reactor(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from torsion import defer, task
        from torsion.pytest_plugin import blockon, ensureDeferred, inlineCallbacks

        def later(reactor, value):
            return task.deferLater(reactor, 0.001, lambda: value)

        def test_returns_a_deferred(reactor):
            return later(reactor, 1)

        async def test_coroutine_on_the_fixture(reactor):
            assert await later(reactor, 2) == 2

        async def test_coroutine_on_the_global_reactor():
            from torsion import reactor
            assert await later(reactor, 3) == 3
            assert reactor.running

        @defer.inlineCallbacks
        def test_inline_callbacks(reactor):
            value = yield later(reactor, 4)
            assert value == 4

        @inlineCallbacks
        def test_pytest_twisted_spelling():
            from torsion import reactor
            assert (yield later(reactor, 5)) == 5

        @ensureDeferred
        async def test_pytest_twisted_async():
            from torsion import reactor
            await later(reactor, 6)

        def test_blockon():
            from torsion import reactor
            assert blockon(later(reactor, 7)) == 7

        async def test_failure_is_reported(reactor):
            await later(reactor, 8)
            assert 1 == 2, "coroutine assertion"

        def test_failed_deferred_is_reported(reactor):
            return defer.fail(ValueError("deferred failure"))
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=7, failed=2)
    result.stdout.fnmatch_lines(["*coroutine assertion*", "*ValueError: deferred failure*"])


def test_pytest_twisted_marks_are_honoured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from torsion import defer, task

        async def marked():
            from torsion import reactor
            await task.deferLater(reactor, 0.001, lambda: None)

        marked._pytest_twisted_mark = "async_test"
        test_marked = marked
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_a_hanging_test_fails_saying_where_it_waits(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from torsion import defer

        @pytest.mark.torsion_timeout(0.1)
        async def test_hangs():
            await defer.Deferred()  # waits here

        async def test_hangs_on_fixture(reactor):
            await defer.Deferred()
        """
    )
    pytester.makeini("[pytest]\ntorsion_timeout = 0.2\n")
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ReactorTimeout: test did not finish within 0.1s: waiting at *test_a_hanging*.py:6"
            " in test_hangs: await defer.Deferred()  # waits here*",
            "*ReactorTimeout: Deferred did not fire within 0.2s*",
        ]
    )


def test_coroutines_of_other_async_plugins_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_for_asyncio():
            pass
        """
    )
    pytester.makeini("[pytest]\nmarkers = asyncio\n")
    result = run(pytester)
    # Not run by torsion: pytest itself reports the unhandled coroutine test.
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


def test_coroutines_a_conftest_runs_itself_are_left_to_it(pytester: pytest.Pytester) -> None:
    # A project's own hook running every coroutine test with asyncio.run, no
    # marker: torsion, installed beside it, must not take the test first.
    pytester.makeconftest(
        """
        import asyncio, inspect

        def pytest_pyfunc_call(pyfuncitem):
            if inspect.iscoroutinefunction(pyfuncitem.obj):
                args = {n: pyfuncitem.funcargs[n] for n in pyfuncitem._fixtureinfo.argnames}
                asyncio.run(pyfuncitem.obj(**args))
                return True
        """
    )
    pytester.makepyfile(
        """
        import asyncio
        from torsion import reactors

        async def test_in_an_asyncio_task():
            assert asyncio.current_task() is not None
            assert reactors.installed() is None
            await asyncio.sleep(0)
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_aiohttp_plugin_tests_run_on_its_own_loop(pytester: pytest.Pytester) -> None:
    pytest.importorskip("aiohttp")
    pytester.makeconftest('pytest_plugins = ["aiohttp.pytest_plugin"]\n')
    pytester.makepyfile(
        """
        import asyncio
        from aiohttp import web

        async def hello(request):
            return web.Response(text="hi")

        async def test_client(aiohttp_client):
            app = web.Application()
            app.router.add_get("/", hello)
            client = await aiohttp_client(app)
            response = await client.get("/")
            assert (response.status, await response.text()) == (200, "hi")
            assert asyncio.current_task() is not None
        """
    )
    ignore = "ignore:aiohttp.pytest_plugin will be removed:DeprecationWarning"
    run(pytester, "-W", ignore).assert_outcomes(passed=1)


LEAKY = """
import socket, threading, pytest
from torsion import task

def test_descriptor():
    global kept
    kept = socket.socket()

def test_thread():
    wait = threading.Event().wait
    threading.Thread(target=wait, args=(30,), daemon=True, name="sleeper").start()

def test_timer():
    from torsion import reactor
    reactor.callLater(100, lambda: None)

def test_fixture_reactor_timer(reactor):
    reactor.callLater(100, lambda: None)

@pytest.mark.allow_leaks
def test_allowed():
    global kept2
    kept2 = socket.socket()

def test_clean():
    pass
"""


def test_leak_check_is_off_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from torsion import reactor\n")
    pytester.makepyfile(LEAKY)
    result = run(pytester)
    # Only the reactor fixture's own check (always on) fails a test (at teardown).
    result.assert_outcomes(passed=6, errors=1)


def test_leak_check_names_each_leak(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from torsion import reactor\n")
    pytester.makepyfile(LEAKY)
    result = run(pytester, "--torsion-leak-check")
    result.assert_outcomes(passed=6, errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "E * Failed: test leaked file descriptors: * -> socket:*",
            "E * Failed: test leaked threads: sleeper",
            "E * Failed: test leaked pending timers in the global reactor: <Delayed*test_timer*",
            "E * Failed: test left reactor state behind: delayed calls*",
            "ERROR *::test_descriptor - *",
            "ERROR *::test_thread - *",
            "ERROR *::test_timer - *",
            "ERROR *::test_fixture_reactor_timer - *",
        ]
    )


def test_leak_check_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from torsion import reactor\n")
    pytester.makepyfile(
        """
        def test_timer():
            from torsion import reactor
            reactor.callLater(100, lambda: None)

        def test_clean():
            pass
        """
    )
    pytester.makeini("[pytest]\ntorsion_leak_check = true\n")
    run(pytester).assert_outcomes(passed=2, errors=1)


def test_trial_test_cases_run_under_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from torsion import defer, task, reactor
        from torsion.trial import TestCase

        class Cases(TestCase):
            async def test_waits(self):
                await task.deferLater(reactor, 0.001, lambda: None)

            def test_dirty(self):
                reactor.callLater(100, lambda: None)

            def test_todo(self):
                self.fail("not yet")
            test_todo.todo = "later"
        """
    )
    result = run(pytester, "--torsion-leak-check")
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*DirtyReactorAggregateError: Reactor was unclean.*"])
