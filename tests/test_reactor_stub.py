"""The typing stub of the global reactor matches the Reactor class."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_reactor_stub_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_reactor_stub.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "src" / "torsion" / "reactor.pyi").read_text() == gen.render(), (
        "run: python tools/gen_reactor_stub.py"
    )
