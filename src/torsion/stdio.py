"""This process's standard input and output as a transport (Twisted's ``internet.stdio``).

The code lives in ``torsion._process.stdio``.
"""

from torsion._process.addresses import PipeAddress
from torsion._process.stdio import StandardIO
from torsion._util import publish

__all__ = ["PipeAddress", "StandardIO"]

publish(globals(), __all__)
