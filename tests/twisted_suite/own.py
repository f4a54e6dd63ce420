"""Twisted's own test modules, ported by their imports and run on torsion.

``portOwnTests(dest)`` copies the installed Twisted's test packages
(``twisted/test``, ``twisted/internet/test``, ``twisted/protocols/test``)
into ``dest`` as ``ported_test``, ``ported_internet_test`` and
``ported_protocols_test``, each ``.py`` file rewritten by the porting table
(``twisted_suite.rewrite``; the packages renamed, so that they import each
other's ported copies) and each other file copied as it is.  Their
``__init__`` modules are replaced by two lines that install ``shim.py``
(copied as ``twsuite_shim``): it poisons Twisted's ``twisted.internet`` and
points Twisted's ``ReactorBuilder`` at torsion's reactor; see its docstring.

``runOwnTests(dest)`` runs ``MODULES`` with ``python -m torsion.trial`` and
returns the outcomes, with every test that touched poison (or ``<import>``
for poison touched while a module was imported) in ``Run.poisoned``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted_suite import (
    UVLOOP_SITECUSTOMIZE,
    Outcomes,
    portingTable,
    portTree,
    runTorsionTrial,
    sourceDirectory,
)

HERE = Path(__file__).resolve().parent

PACKAGES = {
    "twisted.test": "ported_test",
    "twisted.internet.test": "ported_internet_test",
    "twisted.protocols.test": "ported_protocols_test",
    "twisted.python.test": "ported_python_test",
}

# The modules issue 11 names, as they are laid out in Twisted 26.10.
MODULES = [
    "twisted.test.test_defer",
    "twisted.test.test_task",
    "twisted.test.test_protocols",
    "twisted.test.test_failure",
    "twisted.internet.test.test_inlinecb",
    "twisted.internet.test.test_defer_await",
    "twisted.internet.test.test_defer_yieldfrom",
    "twisted.test.test_factories",
    "twisted.test.test_error",
    "twisted.test.test_loopback",
    "twisted.test.test_tcp",
    "twisted.test.test_internet",
    "twisted.test.test_threads",
    "twisted.test.test_cooperator",
    "twisted.test.test_iutils",
    "twisted.protocols.test.test_basic",
    "twisted.internet.test.test_testing",
    "twisted.internet.test.test_endpoints",
    "twisted.internet.test.test_error",
    "twisted.internet.test.test_protocol",
    "twisted.internet.test.test_core",
    "twisted.internet.test.test_time",
    "twisted.internet.test.test_threads",
    "twisted.internet.test.test_tcp",
]


def suiteTable() -> dict[str, str]:
    """The porting table this suite rewrites with: all of it, as an independent port would."""
    return portingTable()


_INIT = "import twsuite_shim\n\ntwsuite_shim.install()\n"
_BUILDER = (
    "from . import reactormixins  # noqa: E402\n\n"
    "twsuite_shim.pointBuilderAtTorsion(reactormixins)\n"
)


def ported(name: str) -> str:
    """The ported name of Twisted module or test id ``name``."""
    for old, new in PACKAGES.items():
        if name.startswith(old + "."):
            return new + name[len(old) :]
    return name


def portOwnTests(dest: Path) -> list[str]:
    """Write the ported packages and the shim into ``dest``; the ported ``MODULES``."""
    shutil.copy(HERE / "shim.py", dest / "twsuite_shim.py")
    table = suiteTable()
    for twisted, package in PACKAGES.items():
        source = sourceDirectory(twisted)
        shutil.copytree(
            source,
            dest / package,
            ignore=shutil.ignore_patterns("*.py", "*.pyc", "__pycache__"),
            dirs_exist_ok=True,
        )
        init = _INIT + (_BUILDER if package == "ported_internet_test" else "")
        portTree(
            source,
            dest,
            package,
            PACKAGES,
            init=init,
            table=table,
        )
    return [ported(m) for m in MODULES]


@dataclass
class Run:
    """One run of the ported modules: outcomes, and the tests that touched poison."""

    outcomes: Outcomes
    poisoned: dict[str, set[str]] = field(default_factory=dict)

    def notImported(self) -> set[str]:
        """The ported ``MODULES`` that failed at import (trial reports each under its id)."""
        ids = {ported(m) for m in MODULES}
        return {t for t, o in self.outcomes.outcomes.items() if o == "error" and t in ids}

    def allOutcomes(self, listed: Iterable[str]) -> dict[str, str]:
        """Each test's outcome, the tests of a module that failed at import included
        ("not imported"): trial cannot name them, so they come from ``listed`` (the
        expected failures, which list them); the modules' own ids are left out."""
        dead = self.notImported()
        outcomes = {t: o for t, o in self.outcomes.outcomes.items() if t not in dead}
        for testId in listed:
            if testId.rpartition(".")[0].rpartition(".")[0] in dead:
                outcomes[testId] = "not imported"
        return outcomes

    def passed(self) -> set[str]:
        return {
            t
            for t, o in self.outcomes.outcomes.items()
            if o == "success" and t not in self.poisoned
        }


#: How the child runs for each backend: its environment, and whether asyncio's
#: policy is uvloop's there (a ``sitecustomize`` module in ``dest``, imported at
#: start-up, sets it before trial makes the global reactor).
BACKENDS: dict[str, tuple[dict[str, str], bool]] = {
    "default": ({}, False),
    "asyncio": ({"TORSION_REACTOR": "asyncio", "TWSUITE_BACKEND": "asyncio"}, False),
    "asyncio+uvloop": ({"TORSION_REACTOR": "asyncio", "TWSUITE_BACKEND": "asyncio"}, True),
}


def runOwnTests(
    dest: Path,
    targets: list[str],
    env: Mapping[str, str] | None = None,
    backend: str = "default",
    **kw: Any,
) -> Run:
    """``python -m torsion.trial TARGETS`` in ``dest`` on ``backend`` (one of
    ``BACKENDS``), with the poison log read back."""
    backendEnv, onUvloop = BACKENDS[backend]
    env = {**backendEnv, **(env or {})}
    site = dest / "sitecustomize.py"
    if onUvloop:
        site.write_text(UVLOOP_SITECUSTOMIZE)
    else:
        site.unlink(missing_ok=True)
    log = dest / "poison.log"
    log.unlink(missing_ok=True)
    outcomes = runTorsionTrial(
        targets, dest, env={"TWSUITE_POISON_LOG": str(log), **(env or {})}, **kw
    )
    run = Run(outcomes)
    if log.exists():
        for line in log.read_text().splitlines():
            testId, _, what = line.partition("\t")
            run.poisoned.setdefault(testId, set()).add(what)
    return run


if __name__ == "__main__":  # cd tests && python -m twisted_suite.own DIR [BACKEND]
    import sys

    where = Path(sys.argv[1])
    where.mkdir(parents=True, exist_ok=True)
    backend = sys.argv[2] if len(sys.argv) > 2 else "default"
    result = runOwnTests(where, portOwnTests(where), backend=backend, timeout=600)
    (where / "trial.out").write_text(result.outcomes.output)
    from twisted_suite.expected_failures import EXPECTED

    print(result.outcomes.summary)
    total = len(result.allOutcomes(EXPECTED))
    print(f"{len(result.passed())} of {total} pass (poison not counted)")
    for module in sorted(result.notImported()):
        print(f"failed at import: {module}")
