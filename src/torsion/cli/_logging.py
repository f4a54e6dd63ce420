"""Logging for the ``torsion`` command: text or JSON lines, to stderr or a file."""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["LEVELS", "JSONFormatter", "setup"]

LEVELS = ("debug", "info", "warning", "error", "critical")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str, fileName: str | None, format: str) -> None:
    """Send every log record at ``level`` or above to stderr, or to ``fileName``."""
    handler: logging.Handler
    if fileName:
        handler = logging.FileHandler(fileName, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    if format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
