"""Child processes, under the names of Twisted's ``internet.process``.

``reactor.spawnProcess`` returns a ``Process`` (or a ``PTYProcess`` with
``usePTY``).  The code lives in ``torsion._process``.
"""

from torsion._process.transport import Process, PTYProcess, spawnProcess
from torsion._util import publish

__all__ = ["PTYProcess", "Process", "spawnProcess"]

publish(globals(), __all__)
