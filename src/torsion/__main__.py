"""``python -m torsion``: the ``torsion`` command (see ``torsion.cli``)."""

from torsion.cli import main

raise SystemExit(main())
