"""``python -m torsion.trial TARGET...``: see ``torsion.trial._runner``."""

import sys

from torsion.trial._runner import main

sys.exit(main())
