"""The architecture holds: rooms without cycles, facades that say where names live.

* The import graph between rooms (a subpackage of ``torsion`` is one room,
  each module directly in ``src/torsion`` its own) has no cycle, counting
  top-level, lazy and TYPE_CHECKING imports, except the one edge that reaches
  the global reactor (``torsion._global`` -> ``torsion.reactors``).  The finer
  rule, that layers only point down, is import-linter's contract in
  pyproject.toml (run by .ci/run); this test needs nothing but the source.
* A public facade's names report the public module (``torsion.defer.Deferred``,
  not ``torsion._defer.core.Deferred``), so reprs, pickles and docs show the
  path users import.
* Each public module offers the names of the Twisted module it stands for;
  what it does not offer is listed here with the reason, and the list must be
  exact, so adding a name means striking it from the list.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
GLOBAL_EDGE = ("torsion._global", "torsion.reactors")

FACADES = [
    "torsion.defer",
    "torsion.endpoints",
    "torsion.process",
    "torsion.ssl",
    "torsion.stdio",
    "torsion.tcp",
    "torsion.udp",
    "torsion.unix",
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "torsion").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every torsion module ``module`` imports, wherever the import statement is."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [
                f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules
            ]
            names = submodules if len(submodules) == len(node.names) else [target, *submodules]
        else:
            continue
        for name in names:
            while name and name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name.startswith("torsion."):
                found.add(name)
    return found


def _roomGraph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        for target in _imports(module, path, modules):
            a, b = _room(module), _room(target)
            if a != b and (a, b) != GLOBAL_EDGE:
                graph.setdefault(a, set()).add(b)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one room (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    onStack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        onStack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in onStack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                onStack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_no_import_cycle_between_rooms() -> None:
    assert _cycles(_roomGraph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


# At or above the assembly layer: the asyncio loop (a Reactor subclass), the
# CLI, the test runners, the type-only interface conformance checks.
_TOP_LAYERS = (
    "torsion._conformance",
    "torsion._aio",
    "torsion.aio",
    "torsion.cli",
    "torsion.services",
    "torsion.trial",
    "torsion.pytest_plugin",
)


def test_only_the_global_module_reaches_the_reactor_builders() -> None:
    modules = _modules()
    reaching = {
        module
        for module, path in modules.items()
        if {"torsion.reactors", "torsion.reactor", "torsion._reactor"}
        & _imports(module, path, modules)
    }
    # The reactor modules themselves and _TOP_LAYERS may; nothing else.
    allowed = {"torsion._global", "torsion.reactor", "torsion.reactors"}
    below = {m for m in reaching if not m.startswith(_TOP_LAYERS)}
    assert below <= allowed, below - allowed


@pytest.mark.parametrize("facade", FACADES)
def test_facades_report_their_public_module(facade: str) -> None:
    module = importlib.import_module(facade)
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert not obj.__module__.startswith("torsion._"), (facade, name, obj.__module__)


def test_public_classes_pickle_under_their_public_path() -> None:
    from torsion import defer, error
    from torsion.failure import Failure

    assert repr(defer.Deferred).endswith("'torsion.defer.Deferred'>")
    assert pickle.loads(pickle.dumps(defer.CancelledError())).__class__ is defer.CancelledError
    assert b"torsion.defer" in pickle.dumps(defer.FirstError)
    assert b"torsion._" not in pickle.dumps([defer.DeferredList, error.TLSError, Failure])


# Twisted module -> (torsion module, {name it lacks: why}).  twisted.internet.ssl
# needs pyOpenSSL, which torsion does not use: its names are in docs/porting.md.
MISSING_ON_PURPOSE = {
    "twisted.internet.defer": (
        "torsion.defer",
        {},
    ),
    "twisted.internet.error": ("torsion.error", {}),
    "twisted.internet.protocol": ("torsion.protocol", {}),
    "twisted.internet.task": (
        "torsion.task",
        {},
    ),
    "twisted.internet.threads": ("torsion.threads", {}),
    "twisted.internet.address": ("torsion.address", {}),
    "twisted.internet.endpoints": ("torsion.endpoints", {}),
    "twisted.internet.testing": (
        "torsion.testing",
        {},
    ),
    "twisted.python.failure": (
        "torsion.failure",
        {
            "format_frames": "a private-looking helper of Twisted's traceback rendering",
        },
    ),
    "twisted.protocols.basic": ("torsion.protocols.basic", {}),
    "twisted.internet.tcp": (
        "torsion.tcp",
        {
            "BaseClient": "Twisted's mixin tower; torsion's transports compose instead",
            "makeBinding": "not yet",
        },
    ),
    "twisted.internet.unix": (
        "torsion.unix",
        {
            "ConnectedDatagramPort": "not yet (issue 11)",
            "DatagramPort": "not yet (issue 11)",
        },
    ),
    "twisted.internet.udp": ("torsion.udp", {}),
    "twisted.internet.process": (
        "torsion.process",
        {
            "ProcessReader": "the pipes are torsion._process.pipes; no public reader class",
            "ProcessWriter": "the pipes are torsion._process.pipes; no public writer class",
            "detector": "Twisted's SIGCHLD plumbing; torsion reaps with pidfds",
            "reapAllProcesses": "Twisted's SIGCHLD plumbing; torsion reaps with pidfds",
            "registerReapProcessHandler": "Twisted's SIGCHLD plumbing",
            "unregisterReapProcessHandler": "Twisted's SIGCHLD plumbing",
        },
    ),
    "twisted.internet.stdio": ("torsion.stdio", {}),
    "twisted.internet.utils": (
        "torsion.utils",
        {},
    ),
    "twisted.python.threadpool": ("torsion.threadpool", {}),
    "twisted.python.threadable": (
        "torsion.threadable",
        {"XLock": "Twisted's picklable lock, for its persisted objects; not provided"},
    ),
    "twisted.python.log": ("torsion.log", {}),
    "twisted.logger": (
        "torsion.logger",
        {"_loggerFor": "private in Twisted, though in its __all__"},
    ),
}


def _twistedNames(name: str) -> set[str]:
    module = importlib.import_module(name)
    if hasattr(module, "__all__"):
        return set(module.__all__)
    return {
        n
        for n, obj in vars(module).items()
        if not n.startswith("_") and getattr(obj, "__module__", None) == name
    }


@pytest.mark.twisted_oracle
@pytest.mark.parametrize("twistedModule", sorted(MISSING_ON_PURPOSE))
def test_public_modules_offer_twisteds_names(twistedModule: str) -> None:
    pytest.importorskip("twisted")
    ours, missing = MISSING_ON_PURPOSE[twistedModule]
    module = importlib.import_module(ours)
    lacking = {n for n in _twistedNames(twistedModule) if not hasattr(module, n)}
    assert lacking == set(missing), (
        f"{ours} lacks {sorted(lacking - set(missing))} (add them, or list them with a "
        f"reason); offers {sorted(set(missing) - lacking)} now (strike them from the list)"
    )
