"""Other projects' own test suites, from the sdist of the installed version.

Wheels carry no tests; sdists do.  ``fetchSdist`` downloads the sdist of the
installed version of a project with ``pip download`` (so the machine's package
index settings apply) and unpacks the parts asked for into ``.cache/`` at the
top of the repository (ignored by git: downloaded code is never committed),
once per version.

``SideBySide`` runs such a suite twice at once, in two child pytests: one as
it is, one with ``torsion.aio.install()`` done first (a ``-p`` plugin), so
that every loop the suite makes through asyncio's policy is torsion's; then
compares the outcomes test by test (``SideBySide.check``).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".cache"


def fetchSdist(project: str, parts: dict[str, str]) -> Path:
    """Unpack ``parts`` ({path in the sdist: where under the result}) of the
    installed ``project``'s sdist; the directory they are in."""
    version = importlib.metadata.version(project)
    target = CACHE / f"{project}-{version}"
    done = target / ".complete"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        got = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *("--no-binary", ":all:", f"{project}=={version}", "-d", tmp),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        sdists = list(Path(tmp).glob("*.tar.gz"))
        if got.returncode or not sdists:
            raise RuntimeError(f"could not download {project} {version}'s sdist:\n{got.stderr}")
        staging = Path(tmp) / "unpacked"
        with tarfile.open(sdists[0]) as tar:
            top = tar.getmembers()[0].name.split("/")[0]
            members = []
            for member in tar.getmembers():
                inner = member.name[len(top) + 1 :]
                for source, dest in parts.items():
                    if member.isfile() and (inner == source or inner.startswith(source + "/")):
                        member.name = dest + inner[len(source) :]
                        members.append(member)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, members=members, filter="data")
            else:  # pragma: no cover - Pythons before the extraction filters
                tar.extractall(staging, members=members)
        for dest in {d.split("/")[0] for d in parts.values()}:
            if (target / dest).is_dir():  # left by a run that stopped half-way
                shutil.rmtree(target / dest)
            os.replace(staging / dest, target / dest)
    done.touch()
    return target


def junitOutcomes(report: Path) -> dict[str, str]:
    """{test id: "passed" | "failed" | "skipped"} from a JUnit XML report."""
    out: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            out[name] = "failed"
        elif "skipped" in kinds:
            out[name] = "skipped"
        else:
            out[name] = "passed"
    return out


#: Loaded with ``-p`` in torsion's child: every new loop is torsion's, and counted.
PLUGIN = """\
import os
import torsion.aio

made = 0
_new = torsion.aio.new_event_loop


def _counted():
    global made
    made += 1
    return _new()


torsion.aio.new_event_loop = _counted
torsion.aio.install()


def pytest_sessionfinish(session):
    with open(os.environ["TORSION_LOOPS_MADE"], "w") as f:
        f.write(str(made))
"""


def nodeid(test: str) -> str:
    """``tests/test_x.py::Class::name`` for the JUnit id ``tests.test_x.Class::name``."""
    classname, name = test.split("::", 1)
    parts = classname.split(".")
    module = next(i for i, part in enumerate(parts) if part.startswith("test_"))
    return "::".join(["/".join(parts[: module + 1]) + ".py", *parts[module + 1 :], name])


@dataclass
class SideBySide:
    """One project's suite (unpacked in ``root``) on the stock loop and on torsion's.

    ``args`` are the pytest options of every child (configuration, markers,
    timeouts); ``work`` holds the plugin and each run's report.  torsion's
    pytest plugin stays loaded in both children, as it is wherever torsion is
    installed: the project's own plugins must still run its tests.
    """

    project: str
    root: Path
    work: Path
    args: list[str] = field(default_factory=list)

    def _child(self, side: str, run: str, selection: list[str]) -> subprocess.Popen[str]:
        (self.work / run).mkdir()
        env = dict(os.environ)
        args = [sys.executable, "-m", "pytest", "--rootdir", str(self.root), *self.args]
        if side == "torsion":
            (self.work / "torsion_everywhere.py").write_text(PLUGIN)
            paths = [str(self.work), env.get("PYTHONPATH")]
            env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
            env["TORSION_LOOPS_MADE"] = str(self.work / run / "loops")
            args += ["-p", "torsion_everywhere"]
        args += [
            *selection,
            *("-q", "-p", "no:cacheprovider", "--basetemp", str(self.work / run / "tmp")),
            *("--junitxml", str(self.work / run / "report.xml"), "-o", "junit_family=xunit2"),
        ]
        return subprocess.Popen(
            args,
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def _finish(self, child: subprocess.Popen[str], run: str) -> dict[str, str]:
        try:
            output, _ = child.communicate(timeout=800)
        except subprocess.TimeoutExpired:
            # A test that hangs past its timeout in a teardown (the per-test
            # timer has already fired): stop the child, report what it said.
            child.kill()
            output, _ = child.communicate()
            raise AssertionError(f"{self.project}'s suite hung ({run}):\n{output[-4000:]}")
        report = self.work / run / "report.xml"
        assert report.exists(), f"{self.project}'s suite ended early ({run}):\n{output[-4000:]}"
        return junitOutcomes(report)

    def check(
        self, selection: list[str], different: dict[str, str], minPassed: int, minLoops: int
    ) -> None:
        """Every test of ``selection`` that passes on the stock loop passes on
        torsion's, but for those in ``different`` ({test id: why})."""
        children = {side: self._child(side, side, selection) for side in ("stock", "torsion")}
        stock, torsion = (self._finish(child, side) for side, child in children.items())
        loops = int((self.work / "torsion" / "loops").read_text())
        assert loops >= minLoops, f"torsion's loops unused ({loops} made)"
        assert stock.keys() == torsion.keys(), f"not run on both: {stock.keys() ^ torsion.keys()}"
        assert different.keys() <= stock.keys(), "`different` names tests that no longer exist"
        passed = sum(v == "passed" for v in torsion.values())
        assert passed >= minPassed, f"the suite did not run: {passed} passed"
        worse = {k for k, v in stock.items() if v == "passed" and torsion[k] != "passed"}
        worse -= different.keys()
        if worse:
            # Once more, alone: a test that fails again is torsion's to fix; one
            # that passes now was timing (a loaded machine), and is only reported.
            rerun = self._child("torsion", "again", sorted(map(nodeid, worse)))
            again = self._finish(rerun, "again")
            print("passed when run again:", sorted(k for k in worse if again.get(k) == "passed"))
            worse = {k for k in worse if again.get(k) != "passed"}
        # (this module is not a test module: pytest does not rewrite its asserts)
        assert not worse, f"pass on the stock loop, not on torsion's: {sorted(worse)}"
