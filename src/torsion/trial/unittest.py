"""The names of ``twisted.trial.unittest``, for ``from torsion.trial import unittest``."""

from __future__ import annotations

from torsion.trial import *  # noqa: F403
from torsion.trial import __all__ as __all__
