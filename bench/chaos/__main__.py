"""``python bench/chaos``: see cli.py."""

import sys
from pathlib import Path

BENCH = str(Path(__file__).resolve().parent.parent)
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

from chaos.cli import main  # noqa: E402

sys.exit(main())
