"""torsion's own test suite runs on torsion's pytest plugin (torsion.pytest_plugin).

pyproject's ini options turn on what this suite needs from it:
``torsion_backends = all`` (every test taking the ``reactor`` fixture runs
on every backend ``torsion.reactors.available()`` lists) and
``torsion_leak_check = true`` (no test may leave a descriptor, thread, child
process or global-reactor timer behind; ``@pytest.mark.allow_leaks`` opts a
test out).  The plugin's ``run`` fixture runs the test's reactor until a
Deferred fires.

``run_until`` stays importable from here for helpers that drive a reactor
they were given.
"""

from __future__ import annotations

from torsion.pytest_plugin import ReactorTimeout as RunTimeout
from torsion.pytest_plugin import runUntil as run_until

# The plugin's own tests run pytest on small projects (tests/test_pytest_plugin.py).
pytest_plugins = ["pytester"]

__all__ = ["RunTimeout", "run_until"]
