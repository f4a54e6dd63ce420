"""Port Twisted-style test modules to torsion by their imports, and run them.

This is the reusable part of the differential suite: take test modules
written for Twisted, rewrite their imports the way the porting table in
docs/porting.md says, write them into a package of their own, and run that
package with ``python -m torsion.trial`` and with pytest (and, for
comparison, the original modules with Twisted's ``trial``), reading back
the outcome of every test.

Typical use::

    from twisted_suite import portTree, runTorsionTrial, runPytest, runTwistedTrial

    package = portTree(source_dir, tmp_path, "ported", renames={"twisted.trial.test": "ported"})
    ours = runTorsionTrial([package], cwd=tmp_path)        # Outcomes
    theirs = runTwistedTrial(["twisted.trial.test"], cwd=tmp_path)
    ours.outcomes["ported.test_x.Case.test_y"]               # "success", "failure", ...

``rewrite(source)`` does one module's text: every ``import`` and
``from ... import`` of a module (or of a name) the table maps is rewritten
to the torsion one, a ``from`` import of several names is split when only
some are mapped, and ``renames`` (module prefix -> new prefix) moves the
modules themselves, in imports and in string literals alike (test ids).
Imports of anything the table does not map (``twisted.python.*``,
``zope``...) are left alone, so a module that needs them still imports
Twisted for those.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: A ``sitecustomize`` module that makes asyncio's new loops uvloop's: in a
#: folder on a child Python's PYTHONPATH, it puts the asyncio backend on uvloop.
UVLOOP_SITECUSTOMIZE = """\
import asyncio

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
"""
PORTING_TABLE = ROOT / "docs" / "porting.md"

__all__ = [
    "UVLOOP_SITECUSTOMIZE",
    "Outcomes",
    "portTree",
    "portingTable",
    "rewrite",
    "runPytest",
    "runTorsionTrial",
    "runTrial",
    "runTwistedTrial",
    "sourceDirectory",
]

_ROW = re.compile(r"^\|(?P<left>[^|]*)\|(?P<right>[^|]*)\|")
_NAME = re.compile(r"`([A-Za-z_][\w.]*)`")


def portingTable(path: Path = PORTING_TABLE, only: Iterable[str] | None = None) -> dict[str, str]:
    """Twisted module (or name) -> torsion module (or name), from the table's rows.

    ``only``: keep the rows whose Twisted name is one of these, or starts
    with one of them followed by a dot (``["twisted.internet"]``).
    """
    table: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        targets = _NAME.findall(match["right"])
        if not targets or not targets[0].startswith("torsion."):
            continue
        for source in _NAME.findall(match["left"]):
            if "." in source or source == "pytest_twisted":
                table[source] = targets[0]
    if only is not None:
        prefixes = tuple(only)
        table = {
            k: v
            for k, v in table.items()
            if k in prefixes or k.startswith(tuple(p + "." for p in prefixes))
        }
    return table


def _renamed(name: str, renames: Mapping[str, str]) -> str:
    for old, new in renames.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return name


def _split(full: str) -> tuple[str, str]:
    head, _, tail = full.rpartition(".")
    return head, tail


def _alias(name: str, asname: str | None) -> str:
    return name if asname in (None, name) else f"{name} as {asname}"


def _fromImport(
    node: ast.ImportFrom, table: Mapping[str, str], renames: Mapping[str, str]
) -> str | None:
    if node.level or node.module is None:
        return None
    module = node.module
    if module in table or _renamed(module, renames) != module:
        target = table.get(module) or _renamed(module, renames)
        return f"from {target} import {', '.join(_alias(a.name, a.asname) for a in node.names)}"
    statements: list[str] = []
    kept: list[str] = []
    for a in node.names:
        full = f"{module}.{a.name}"
        target = table.get(full) or _renamed(full, renames)
        if target == full:
            kept.append(_alias(a.name, a.asname))
            continue
        head, tail = _split(target)
        statements.append(f"from {head} import {_alias(tail, a.asname or a.name)}")
    if not statements:
        return None
    if kept:
        statements.insert(0, f"from {module} import {', '.join(kept)}")
    return "; ".join(statements)


def _import(node: ast.Import, table: Mapping[str, str], renames: Mapping[str, str]) -> str | None:
    statements = []
    changed = False
    for a in node.names:
        target = table.get(a.name) or _renamed(a.name, renames)
        if target == a.name or (a.asname is None and "." in a.name):
            statements.append(f"import {_alias(a.name, a.asname)}")  # dotted: names stay
            continue
        changed = True
        statements.append(f"import {target} as {a.asname or a.name}")
    return "; ".join(statements) if changed else None


def rewrite(
    source: str,
    renames: Mapping[str, str] | None = None,
    table: Mapping[str, str] | None = None,
) -> str:
    """``source`` with its imports ported (see the module comment).

    Strictly by the table, as an independent port would be: a name that the
    torsion module lacks is an ImportError when the ported module runs.
    """
    renames = dict(renames or {})
    table = portingTable() if table is None else table
    tree = ast.parse(source)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            text = _fromImport(node, table, renames)
        elif isinstance(node, ast.Import):
            text = _import(node, table, renames)
        else:
            continue
        if text is not None:
            edits.append(
                (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text)
            )
    lines = source.splitlines(keepends=True)
    for start, col, end, endCol, text in sorted(edits, reverse=True):
        assert end is not None and endCol is not None
        before = lines[start - 1][:col]
        after = lines[end - 1][endCol:]
        lines[start - 1 : end] = [before + text + after]
    ported = "".join(lines)
    for old, new in renames.items():
        ported = re.sub(rf"\b{re.escape(old)}\b", new, ported)
    return ported


def sourceDirectory(package: str) -> Path:
    """Where the installed ``package`` lives, found without importing it."""
    head, _, tail = package.rpartition(".")
    spec = importlib.util.find_spec(head) if head else None
    locations = spec.submodule_search_locations if spec else None
    if locations:
        return Path(next(iter(locations))) / tail
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, package
    return Path(spec.origin).parent


def portTree(
    source: Path,
    dest: Path,
    package: str,
    renames: Mapping[str, str] | None = None,
    only: Iterable[str] | None = None,
    init: str | None = None,
    table: Mapping[str, str] | None = None,
) -> str:
    """Write the ``.py`` files of directory ``source`` (the names in ``only``, if
    given), rewritten (with ``table``, default the whole porting table), into
    the package ``dest/package``; return its name.

    ``init``, if given, is the package's ``__init__.py`` instead of the
    rewritten original (Twisted's test packages import hypothesis there).
    """
    target = dest / package
    target.mkdir(parents=True, exist_ok=True)
    wanted = set(only) if only is not None else None
    for path in sorted(source.glob("*.py")):
        if path.name == "__init__.py" and init is not None:
            continue
        if wanted is not None and path.stem not in wanted and path.name != "__init__.py":
            continue
        (target / path.name).write_text(rewrite(path.read_text(), renames, table))
    if init is not None or not (target / "__init__.py").exists():
        (target / "__init__.py").write_text(init or "")
    return package


# -- running and reading results ---------------------------------------------------

_STATUS = {
    "[OK]": "success",
    "[FAIL]": "failure",
    "[ERROR]": "error",
    "[SKIPPED]": "skip",
    "[TODO]": "xfail",
    "[SUCCESS!?!]": "xpass",
}
_RANK = ["success", "skip", "xfail", "xpass", "failure", "error"]
_LINE = re.compile(r"^(?P<indent> *)(?P<name>\S.*?) \.\.\. +(?P<status>\[[A-Z!?]+\])$")
# A test's line cut short by what the test printed: its status comes on a line of its own.
_CUT = re.compile(r"^(?P<indent> *)(?P<name>[A-Za-z_]\w*) \.\.\. (?!\[)")
_SUMMARY = re.compile(r"^(PASSED|FAILED)(?: \((.*)\))?$", re.M)


@dataclass
class Outcomes:
    """What one run reported: each test's outcome, the summary, the exit code."""

    returncode: int
    output: str
    outcomes: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def counts(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    def worse(self, testId: str, outcome: str) -> None:
        old = self.outcomes.get(testId)
        if old is None or _RANK.index(outcome) > _RANK.index(old):
            self.outcomes[testId] = outcome


def parseTrialOutput(returncode: int, output: str) -> Outcomes:
    """Read trial's tree report (torsion's or Twisted's) into Outcomes."""
    result = Outcomes(returncode, output)
    branch: list[str] = []
    last = ""
    for line in output.splitlines():
        if line.startswith(("=" * 20, "-" * 20)):
            break  # the details and the summary follow
        match = _LINE.match(line)
        stripped = line.strip()
        if match:
            depth = len(match["indent"]) // 2
            last = ".".join([*branch[:depth], match["name"]])
            result.worse(last, _STATUS[match["status"]])
        elif cut := _CUT.match(line):
            last = ".".join([*branch[: len(cut["indent"]) // 2], cut["name"]])
        elif stripped in _STATUS and last:
            result.worse(last, _STATUS[stripped])  # a second outcome, on a line of its own
        elif re.fullmatch(r"[\w.]+", stripped):  # a module or class: what the test printed is not
            depth = (len(line) - len(line.lstrip(" "))) // 2
            branch[depth:] = [stripped]
    found = _SUMMARY.findall(output)
    if found:
        status, counts = found[-1]
        result.summary = f"{status} ({counts})" if counts else status
    return result


def _environment(cwd: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TORSION"))}
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(ROOT / "src")])
    env.update(extra or {})
    return env


def _run(
    command: list[str], cwd: Path, env: Mapping[str, str] | None, timeout: float
) -> tuple[int, str]:
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=_environment(cwd, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout + proc.stderr


def runTrial(
    program: str,
    targets: list[str],
    cwd: Path,
    *options: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Outcomes:
    """``python -m PROGRAM OPTIONS TARGETS`` in ``cwd``, for ``torsion.trial`` or
    (the oracle) ``twisted.trial``; the tree report read back."""
    command = [sys.executable, "-m", program, *options, *targets]
    return parseTrialOutput(*_run(command, cwd, env, timeout))


def runTorsionTrial(targets: list[str], cwd: Path, *options: str, **kw: Any) -> Outcomes:
    """``python -m torsion.trial OPTIONS TARGETS`` in ``cwd``."""
    return runTrial("torsion.trial", targets, cwd, *options, **kw)


def runTwistedTrial(targets: list[str], cwd: Path, *options: str, **kw: Any) -> Outcomes:
    """Twisted's ``trial OPTIONS TARGETS`` in ``cwd``."""
    return runTrial("twisted.trial", targets, cwd, *options, **kw)


def runPytest(
    targets: list[str],
    cwd: Path,
    *options: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Outcomes:
    """``python -m pytest OPTIONS TARGETS`` in ``cwd``; outcomes from its JUnit XML report."""
    report = cwd / "pytest-report.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    command += [f"--junitxml={report}", "-o", "junit_family=xunit1", *options, *targets]
    returncode, output = _run(command, cwd, env, timeout)
    result = Outcomes(returncode, output)
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            testId = f"{case.get('classname')}.{case.get('name')}"
            result.worse(testId, _junitOutcome(case))
    lines = [line for line in output.splitlines() if line.strip()]
    result.summary = lines[-1] if lines else ""
    return result


def _junitOutcome(case: ET.Element) -> str:
    if case.find("error") is not None:
        return "error"
    if case.find("failure") is not None:
        return "failure"
    skipped = case.find("skipped")
    if skipped is not None:
        return "xfail" if skipped.get("type") == "pytest.xfail" else "skip"
    return "success"
