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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted_suite import Outcomes, portingTable, portTree, runTorsionTrial, sourceDirectory

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

# Zope stays zope: Twisted's interface declarations (no behaviour, nothing
# from twisted.internet at run time) are kept, with zope's ``implementer``,
# so that the tests' ``IFoo.providedBy(x)``, ``IFoo(x, None)`` and
# ``verifyObject`` run (torsion's typing.Protocol interfaces have none of
# zope's class API, porting.md "No zope.interface"; a module doing that at
# import would fail whole).  Asked of torsion's objects, zope answers no:
# those tests fail or skip, and are listed under the zope reason.
KEPT_ROWS = ("twisted.internet.interfaces", "zope.interface.implementer")


def suiteTable() -> dict[str, str]:
    """The porting table this suite rewrites with (see ``KEPT_ROWS``)."""
    return {k: v for k, v in portingTable().items() if k not in KEPT_ROWS}


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
            keepMissing="twsuite_shim.fallback",
        )
    return [ported(m) for m in MODULES]


@dataclass
class Run:
    """One run of the ported modules: outcomes, and the tests that touched poison."""

    outcomes: Outcomes
    poisoned: dict[str, set[str]] = field(default_factory=dict)

    def passed(self) -> set[str]:
        return {
            t
            for t, o in self.outcomes.outcomes.items()
            if o == "success" and t not in self.poisoned
        }


def runOwnTests(
    dest: Path, targets: list[str], env: Mapping[str, str] | None = None, **kw: Any
) -> Run:
    """``python -m torsion.trial TARGETS`` in ``dest``, with the poison log read back."""
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


if __name__ == "__main__":  # cd tests && python -m twisted_suite.own DIR
    import sys

    where = Path(sys.argv[1])
    where.mkdir(parents=True, exist_ok=True)
    result = runOwnTests(where, portOwnTests(where), timeout=600)
    (where / "trial.out").write_text(result.outcomes.output)
    print(result.outcomes.summary)
    print(f"{len(result.passed())} of {len(result.outcomes.outcomes)} pass (poison not counted)")
