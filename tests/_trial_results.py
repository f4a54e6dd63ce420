"""Running torsion.trial test cases inside a test, and reading what they reported."""

from __future__ import annotations

import unittest
from typing import Any


class Results(unittest.TestResult):
    """A unittest result that also keeps successes and trial's todo arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.successes: list[Any] = []
        self.todos: list[Any] = []

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self.successes.append(test)

    def addExpectedFailure(self, test: Any, err: Any, todo: Any = None) -> None:
        super().addExpectedFailure(test, err)
        self.todos.append(todo)

    def addUnexpectedSuccess(self, test: Any, todo: Any = None) -> None:
        super().addUnexpectedSuccess(test)
        self.todos.append(todo)

    def kinds(self) -> dict[str, int]:
        """How many of each outcome (only the non-zero ones)."""
        counts = {
            "successes": len(self.successes),
            "failures": len(self.failures),
            "errors": len(self.errors),
            "skips": len(self.skipped),
            "expectedFailures": len(self.expectedFailures),
            "unexpectedSuccesses": len(self.unexpectedSuccesses),
        }
        return {k: v for k, v in counts.items() if v}

    def texts(self) -> str:
        """Every failure's and error's traceback text, joined."""
        return "\n".join(text for _, text in self.failures + self.errors)


def runTest(case: type[unittest.TestCase], name: str = "test_it") -> Results:
    """Run ``case(name)`` and return its results."""
    results = Results()
    case(name).run(results)
    return results
