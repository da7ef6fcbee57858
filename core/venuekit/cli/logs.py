"""How the CLI writes log records: the message, then the record's structured fields.

Library code logs with structured fields (``extra={"order_id": ..., "code": ...}``) and
never configures logging; the CLI shows those fields on the console as ``key=value``
after the message, so that a warning says which order and why.
"""

from __future__ import annotations

import logging

__all__ = ["FieldsFormatter", "configure"]

FORMAT = "%(levelname)s %(name)s: %(message)s"

# The attributes every LogRecord has; anything else on a record came as a field.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _shown(value: object) -> str:
    text = str(value)
    return repr(text) if not text or any(c.isspace() for c in text) else text


class FieldsFormatter(logging.Formatter):
    """``LEVEL logger: message key=value ...``, the fields in the order they were given."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{key}={_shown(value)}" for key, value in vars(record).items()
                  if key not in _STANDARD and not key.startswith("_")]
        return f"{text} {' '.join(fields)}" if fields else text


def configure(level: int) -> None:
    """Send records at ``level`` and above to stderr in the console's format."""
    handler = logging.StreamHandler()
    handler.setFormatter(FieldsFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
