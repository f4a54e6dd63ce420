"""Other projects' own test suites, from the sdist of the installed version.

Wheels carry no tests; sdists do.  ``fetchSdist`` downloads the sdist of the
installed version of a project with ``pip download`` (so the machine's package
index settings apply) and unpacks the parts asked for into ``.cache/`` at the
top of the repository (ignored by git: downloaded code is never committed),
once per version.
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
